package hat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw"
)

// ErrNoHAT says that no Pioreactor HAT was found; the error that wraps it
// gives the reason. It is a normal mode: the unit runs on the simulator.
var ErrNoHAT = errors.New("no Pioreactor HAT found")

// BoardConfig is what NewBoard wires together.
type BoardConfig struct {
	// Layout is the HAT version's and model's hardware (LoadLayout).
	Layout Layout
	// Bus is the opened I²C bus of the HAT's chips (periph's bus "1").
	// The board closes it if it has a Close method.
	Bus i2c.Bus
	// OpenPin returns a GPIO pin by BCM number (on a Pi:
	// gpioreg.ByName("GPIO<n>")).
	OpenPin func(gpioNum int) (gpio.PinIO, error)
	// SysfsRoot is the kernel's PWM class directory ("" is
	// /sys/class/pwm) and SysfsChip its pwmchip number.
	SysfsRoot string
	SysfsChip int
	// RunDir holds the pin locks, shared by the unit's processes.
	RunDir string
	// Clock paces every wait of the drivers; nil is the wall clock.
	Clock clock.Clock
	// Log receives the drivers' warnings; nil discards them.
	Log *slog.Logger
}

// Board is the Pioreactor HAT as an hw.Board and hw.Sensors. The PWM
// controller is set up at once (it drives idle pins low); each chip is
// opened, and probed, when first asked for, so a unit without its heating
// PCB still pumps, and the error of a missing chip names it.
type Board struct {
	cfg  BoardConfig
	bus  *I2CBus
	pwm  *PWMController
	name string

	mu          sync.Mutex
	closed      bool
	photodiodes map[int]hw.ADC
	thermometer *TMP1075
	leds        hw.LEDs
	rpm         *HallCounter
}

var (
	_ hw.Board   = (*Board)(nil)
	_ hw.Sensors = (*Board)(nil)
)

// NewBoard builds the board of cfg. It halts what a dead process may have
// left running on the PWM channels (PWMController.Stale lists them).
func NewBoard(cfg BoardConfig) (*Board, error) {
	if cfg.Bus == nil {
		return nil, errors.New("hat: board without an I²C bus")
	}
	if cfg.OpenPin == nil {
		return nil, errors.New("hat: board without a way to open GPIO pins")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	l := cfg.Layout
	if len(l.PWM.Pins) == 0 {
		return nil, fmt.Errorf("hat: HAT %d.%d: the layout has no PWM pins (use LoadLayout)", l.Major, l.Minor)
	}
	openOut := func(n int) (gpio.PinOut, error) { return cfg.OpenPin(n) }
	pwm, err := NewPWMController(PWMConfig{
		Pins:    l.PWM.Pins,
		OpenPin: openOut,
		Sysfs:   &Sysfs{Root: cfg.SysfsRoot, Chip: cfg.SysfsChip, Clock: cfg.Clock},
		RunDir:  cfg.RunDir,
		Clock:   cfg.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("HAT %d.%d: %w", l.Major, l.Minor, err)
	}
	for _, s := range pwm.Stale() {
		cfg.Log.Warn("halted a hardware PWM channel left running by a process that ended", "channel", s.String())
	}
	return &Board{
		cfg:         cfg,
		bus:         NewI2CBus(cfg.Bus, cfg.Clock, cfg.Log),
		pwm:         pwm,
		name:        fmt.Sprintf("Pioreactor HAT %d.%d", l.Major, l.Minor),
		photodiodes: map[int]hw.ADC{},
	}, nil
}

// Name implements hw.Board ("Pioreactor HAT 1.2").
func (b *Board) Name() string { return b.name }

// Simulated implements hw.Board.
func (b *Board) Simulated() bool { return false }

// PWM implements hw.Board: the HAT's PWM channels.
func (b *Board) PWM() hw.PWMController { return b.pwm }

// Layout is the hardware the board was built from.
func (b *Board) Layout() Layout { return b.cfg.Layout }

// Bus is the board's I²C bus (for its error counts).
func (b *Board) Bus() *I2CBus { return b.bus }

// open runs f under the board's lock, refusing after Close.
func (b *Board) open(what string, f func() error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("%s: %s: %w", b.name, what, hw.ErrClosed)
	}
	return f()
}

// Photodiode implements hw.Sensors: the adc entry "pd<channel>" with its
// driver, opened on first use.
func (b *Board) Photodiode(channel int) (hw.ADC, error) {
	var adc hw.ADC
	err := b.open(fmt.Sprintf("photodiode %d", channel), func() error {
		if a, ok := b.photodiodes[channel]; ok {
			adc = a
			return nil
		}
		if channel < 1 || channel > 4 {
			return fmt.Errorf("%s: photodiode channel %d is not one of 1 to 4", b.name, channel)
		}
		e, ok := b.cfg.Layout.PhotodiodeEntry(channel)
		if !ok {
			return fmt.Errorf("%s: photodiode %d: no pd%d entry in the hardware adc table (%v): %w",
				b.name, channel, channel, b.cfg.Layout.Sources["adc"], hw.ErrNotConfigured)
		}
		a, err := b.openADC(e)
		if err != nil {
			return fmt.Errorf("%s: photodiode %d: %w", b.name, channel, err)
		}
		b.photodiodes[channel] = a
		adc = a
		return nil
	})
	return adc, err
}

func (b *Board) openADC(e ADCEntry) (hw.ADC, error) {
	ctx := context.Background()
	switch e.Driver {
	case "ads1115":
		return NewADS1115(ctx, b.bus, uint16(e.Address), e.Channel)
	case "ads1114":
		return NewADS1114(ctx, b.bus, uint16(e.Address), Gain1)
	case "pico":
		return NewPicoADC(ctx, b.bus, uint16(e.Address), e.Channel)
	}
	return nil, fmt.Errorf("ADC driver %q is not one of ads1114, ads1115, pico", e.Driver)
}

// Thermometer implements hw.Sensors: the heating PCB's TMP1075.
func (b *Board) Thermometer() (hw.Thermometer, error) {
	var t hw.Thermometer
	err := b.open("thermometer", func() error {
		if b.thermometer == nil {
			tmp, err := NewTMP1075(context.Background(), b.bus, uint16(b.cfg.Layout.Temp.Address))
			if err != nil {
				return fmt.Errorf("%s: thermometer: %w", b.name, err)
			}
			b.thermometer = tmp
		}
		t = b.thermometer
		return nil
	})
	return t, err
}

// LEDs implements hw.Sensors: the DAC43608 on HAT 1.0 and earlier, the
// RP2040's outputs after (or dac.yaml's driver).
func (b *Board) LEDs() (hw.LEDs, error) {
	var leds hw.LEDs
	err := b.open("LEDs", func() error {
		if b.leds == nil {
			addr := uint16(b.cfg.Layout.DAC.Address)
			var err error
			switch d := b.cfg.Layout.LEDDriver(); d {
			case "dac43608":
				b.leds, err = NewDAC43608(context.Background(), b.bus, addr)
			case "pico":
				b.leds, err = NewPicoLEDs(context.Background(), b.bus, addr)
			default:
				err = fmt.Errorf("LED driver %q is not one of dac43608, pico", d)
			}
			if err != nil {
				b.leds = nil
				return fmt.Errorf("%s: LEDs: %w", b.name, err)
			}
		}
		leds = b.leds
		return nil
	})
	return leds, err
}

// RPM implements hw.Sensors: the hall sensor's counter, started on first
// use.
func (b *Board) RPM() (hw.RPMCounter, error) {
	var c hw.RPMCounter
	err := b.open("RPM counter", func() error {
		if b.rpm == nil {
			n := b.cfg.Layout.GPIO.Hall
			pin, err := b.cfg.OpenPin(n)
			if err != nil {
				return fmt.Errorf("%s: hall sensor on GPIO%d: %w", b.name, n, err)
			}
			rpm, err := NewHallCounter(pin, 1)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			b.rpm = rpm
		}
		c = b.rpm
		return nil
	})
	return c, err
}

// HaltAll implements hw.Board: every PWM output the board handed out goes
// to 0 and the LEDs, if opened, go off. It tries everything and reports
// every failure.
func (b *Board) HaltAll() error {
	errs := []error{b.pwm.HaltAll()}
	b.mu.Lock()
	leds := b.leds
	b.mu.Unlock()
	if leds != nil {
		errs = append(errs, leds.Halt())
	}
	return errors.Join(errs...)
}

// Close halts everything, closes the PWM outputs (releasing their pins),
// stops the hall counter and closes the I²C bus. A second Close does
// nothing.
func (b *Board) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	errs := []error{b.HaltAll(), b.pwm.Close()}
	b.mu.Lock()
	b.closed = true
	rpm := b.rpm
	b.mu.Unlock()
	if rpm != nil {
		errs = append(errs, rpm.Close())
	}
	if c, ok := b.cfg.Bus.(interface{ Close() error }); ok {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
