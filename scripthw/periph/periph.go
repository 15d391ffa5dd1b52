// Package periph opens GPIO lines and I²C devices for scripts through
// periph.io's registries (gpioreg, i2creg). It does not start periph's host
// drivers: the unit does (package hw/hat/pihost), and without them every
// open is an error that says the line or bus is unknown.
package periph

import (
	"fmt"
	"strconv"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"

	"github.com/piolab/pio/scripthw"
)

// OpenGPIO opens BCM line pin ("GPIO26") as an output driven low, or as an
// input without pull.
func OpenGPIO(pin int, out bool) (scripthw.GPIO, error) {
	name := "GPIO" + strconv.Itoa(pin)
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("%s: no such line (periph's host drivers are not started: is this a Raspberry Pi?)", name)
	}
	return NewGPIO(p, out)
}

// NewGPIO wraps a periph pin (gpiotest.Pin in tests).
func NewGPIO(p gpio.PinIO, out bool) (scripthw.GPIO, error) {
	var err error
	if out {
		err = p.Out(gpio.Low)
	} else {
		err = p.In(gpio.Float, gpio.NoEdge)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &line{p: p, out: out}, nil
}

type line struct {
	p   gpio.PinIO
	out bool
}

func (l *line) String() string { return l.p.Name() }

func (l *line) Write(high bool) error {
	return l.p.Out(gpio.Level(high))
}

func (l *line) Read() (bool, error) { return bool(l.p.Read()), nil }

func (l *line) Close() error {
	if l.out {
		if err := l.p.Out(gpio.Low); err != nil {
			return err
		}
	}
	return l.p.Halt()
}

// OpenI2C opens device addr on bus ("/dev/i2c-<bus>").
func OpenI2C(bus int, addr uint16) (scripthw.I2C, error) {
	b, err := i2creg.Open(strconv.Itoa(bus))
	if err != nil {
		return nil, fmt.Errorf("I²C bus %d: %w (periph's host drivers not started, or I²C not enabled)", bus, err)
	}
	return NewI2C(b, addr), nil
}

// NewI2C is device addr on b (an i2ctest.Playback in tests); closing it
// closes b.
func NewI2C(b i2c.BusCloser, addr uint16) scripthw.I2C {
	return &dev{d: &i2c.Dev{Bus: b, Addr: addr}, bus: b}
}

type dev struct {
	d   *i2c.Dev
	bus i2c.BusCloser
}

func (d *dev) String() string {
	return fmt.Sprintf("I²C device 0x%02X on %s", d.d.Addr, d.bus)
}

func (d *dev) Tx(w, r []byte) error { return d.d.Tx(w, r) }

func (d *dev) Close() error { return d.bus.Close() }
