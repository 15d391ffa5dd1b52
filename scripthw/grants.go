package scripthw

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/piolab/pio/config"
)

// Section is the configuration section that grants devices to scripts.
const Section = "scripts.hardware"

// I2CAddr is a device on an I²C bus.
type I2CAddr struct {
	Bus  int
	Addr uint16
}

// String is "0x10" on bus 1, else "3:0x10": how [scripts.hardware] i2c
// lists it.
func (a I2CAddr) String() string {
	if a.Bus == 1 {
		return fmt.Sprintf("0x%02X", a.Addr)
	}
	return fmt.Sprintf("%d:0x%02X", a.Bus, a.Addr)
}

// Grants are the devices scripts may open. The zero value grants nothing.
type Grants struct {
	PWM    map[int]bool
	GPIO   map[int]bool
	I2C    map[I2CAddr]bool
	Serial map[string]bool
}

// Limits of the grant lists: PWM channels 1 to 16 (the HAT's 5 and an
// expansion), BCM GPIO lines 0 to 27 (the Pi's header), I²C buses 0 to 31
// and 7-bit addresses 0x03 to 0x77 (the others are reserved).
const (
	MaxPWMChannel = 16
	MaxGPIOPin    = 27
	MaxI2CBus     = 31
	MinI2CAddr    = 0x03
	MaxI2CAddr    = 0x77
)

// ReadGrants reads [scripts.hardware]. A bad entry is an error naming the
// file, line, key and entry.
func ReadGrants(cfg *config.Config) (Grants, error) {
	sec := cfg.Section(Section)
	var g Grants
	var err error
	if g.PWM, err = ParsePWM(sec.String("pwm")); err != nil {
		sec.Fail("pwm", "%v", err)
	}
	if g.GPIO, err = ParseGPIO(sec.String("gpio")); err != nil {
		sec.Fail("gpio", "%v", err)
	}
	if g.I2C, err = ParseI2C(sec.String("i2c")); err != nil {
		sec.Fail("i2c", "%v", err)
	}
	if g.Serial, err = ParseSerial(sec.String("serial")); err != nil {
		sec.Fail("serial", "%v", err)
	}
	if err := sec.Err(); err != nil {
		return Grants{}, err
	}
	return g, nil
}

func parseInts(s, what string, lo, hi int) (map[int]bool, error) {
	out := map[int]bool{}
	for _, e := range config.List(s) {
		n, err := strconv.Atoi(e)
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%s %q: want a whole number from %d to %d", what, e, lo, hi)
		}
		out[n] = true
	}
	return out, nil
}

// ParsePWM parses a list of PWM channels: "6, 7".
func ParsePWM(s string) (map[int]bool, error) { return parseInts(s, "PWM channel", 1, MaxPWMChannel) }

// ParseGPIO parses a list of BCM GPIO line numbers: "26".
func ParseGPIO(s string) (map[int]bool, error) { return parseInts(s, "GPIO pin", 0, MaxGPIOPin) }

// ParseI2C parses a list of I²C addresses, each "0x10" (bus 1) or
// "<bus>:0x10"; addresses are hexadecimal with 0x, or decimal.
func ParseI2C(s string) (map[I2CAddr]bool, error) {
	out := map[I2CAddr]bool{}
	for _, e := range config.List(s) {
		a := I2CAddr{Bus: 1}
		addr := e
		if b, rest, ok := strings.Cut(e, ":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(b))
			if err != nil || n < 0 || n > MaxI2CBus {
				return nil, fmt.Errorf("I²C entry %q: bus %q: want a whole number from 0 to %d", e, b, MaxI2CBus)
			}
			a.Bus, addr = n, strings.TrimSpace(rest)
		}
		n, err := ParseI2CAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("I²C entry %q: %v", e, err)
		}
		a.Addr = n
		out[a] = true
	}
	return out, nil
}

// ParseI2CAddr parses one 7-bit address, "0x10" or "16".
func ParseI2CAddr(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil || n < MinI2CAddr || n > MaxI2CAddr {
		return 0, fmt.Errorf("address %q: want 0x%02X to 0x%02X", s, MinI2CAddr, MaxI2CAddr)
	}
	return uint16(n), nil
}

// ParseSerial parses a list of serial ports, each an absolute path under
// /dev: "/dev/ttyACM0, /dev/serial/by-id/usb-Arduino-if00".
func ParseSerial(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, e := range config.List(s) {
		if !strings.HasPrefix(e, "/dev/") || strings.Contains(e, "..") {
			return nil, fmt.Errorf("serial port %q: want a path under /dev/ without ..", e)
		}
		out[e] = true
	}
	return out, nil
}

// String lists the grants as [scripts.hardware] would ("pwm=6,7 serial=/dev/ttyACM0"),
// "nothing" for none.
func (g Grants) String() string {
	var parts []string
	for _, key := range []string{"pwm", "gpio", "i2c", "serial"} {
		if items := g.Entries(key); len(items) > 0 {
			parts = append(parts, key+"="+strings.Join(items, ","))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}

// Entries lists, sorted, what the key (pwm, gpio, i2c or serial) of
// [scripts.hardware] grants, as that key writes it: "6", "3:0x10",
// "/dev/ttyACM0".
func (g Grants) Entries(key string) []string {
	var out []string
	switch key {
	case "pwm":
		return sortedInts(g.PWM)
	case "gpio":
		return sortedInts(g.GPIO)
	case "i2c":
		for a := range g.I2C {
			out = append(out, a.String())
		}
	case "serial":
		for p := range g.Serial {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func sortedInts(m map[int]bool) []string {
	var ns []int
	for n := range m {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}
