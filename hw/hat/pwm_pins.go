package hat

import (
	"fmt"
	"sort"
)

// The PWM channels of the HAT, 1 to 5, and the GPIO pin (BCM number) each one
// drives. HAT 1.0, 1.1 and 1.2 share one map; the 0.1 prototype had channel 1
// on GPIO6.
var (
	hatPWMPins   = map[int]int{1: 17, 2: 13, 3: 16, 4: 12, 5: 18}
	alphaPWMPins = map[int]int{1: 6, 2: 13, 3: 16, 4: 12, 5: 18}
)

// PWMPins returns the channel → GPIO map of a HAT version (major.minor, as
// the HAT's EEPROM gives it). A version pio does not know is an error that
// names it.
func PWMPins(major, minor int) (map[int]int, error) {
	var src map[int]int
	switch {
	case major == 0 && minor == 1:
		src = alphaPWMPins
	case major == 0 && minor > 1, major == 1 && minor <= 2:
		src = hatPWMPins
	default:
		return nil, fmt.Errorf("hat: no PWM pin map for HAT version %d.%d (known: 0.1 to 1.2)", major, minor)
	}
	pins := make(map[int]int, len(src))
	for ch, pin := range src {
		pins[ch] = pin
	}
	return pins, nil
}

// PWMPin is the GPIO pin of one PWM channel of a HAT version.
func PWMPin(major, minor, channel int) (int, error) {
	pins, err := PWMPins(major, minor)
	if err != nil {
		return 0, err
	}
	pin, ok := pins[channel]
	if !ok {
		return 0, fmt.Errorf("hat: PWM channel %d does not exist on HAT %d.%d (channels %s)", channel, major, minor, pwmChannelList(pins))
	}
	return pin, nil
}

// sysfsIndex is the kernel PWM channel behind a GPIO pin with the OS image's
// overlay (dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4): GPIO12 is
// pwm0, GPIO13 is pwm1. Every other pin is driven by software.
func sysfsIndex(pin int) (int, bool) {
	switch pin {
	case 12:
		return 0, true
	case 13:
		return 1, true
	}
	return 0, false
}

// HardwarePWM reports whether a GPIO pin has a kernel PWM channel (GPIO12 and
// GPIO13).
func HardwarePWM(pin int) bool {
	_, ok := sysfsIndex(pin)
	return ok
}

// Frequencies of the HAT's devices, as upstream drives them. The stirrer's
// is [stirring.config] pwm_hz and a pump's is its calibration's hz; these
// are their defaults.
const (
	StirringHz    = 200.0 // [stirring.config] pwm_hz
	PumpHz        = 250.0 // a pump calibration's hz by default
	HeaterHz      = 16.0  // fixed: spreads the heater's current over each second
	FactoryTestHz = 100.0 // the HAT test, at 50 %
)

// The frequencies each driver accepts: lgpio's range for the software PWM
// (upstream warns from 1 kHz on; pio refuses above 10 kHz, where a goroutine
// cannot keep the edges), and a period of at least 1 µs for the kernel's.
const (
	MinSoftwareHz = 0.1
	MaxSoftwareHz = 10000.0
	MaxHardwareHz = 1e6
)

func pwmChannelList(pins map[int]int) string {
	chans := make([]int, 0, len(pins))
	for ch := range pins {
		chans = append(chans, ch)
	}
	sort.Ints(chans)
	s := ""
	for i, ch := range chans {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(ch)
	}
	return s
}
