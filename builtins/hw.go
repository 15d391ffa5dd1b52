package builtins

import (
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/scripthw"
)

// HardwareHost is a Host whose job lets its scripts open external hardware
// (package scripthw): it returns the job's session, which checks every open
// against [scripts.hardware] and closes what was opened when the job ends.
type HardwareHost interface {
	Hardware() (*scripthw.Session, error)
}

// ErrNoHardware is the error of hw in a job that gives scripts no hardware.
var ErrNoHardware = errors.New("this automation gives its scripts no hardware access")

var hwModule = scripthw.Module(scripthw.Host{Session: hwSession, Context: Context})

// HW returns the Starlark module hw (docs/hardware-scripts.md):
// hw.pwm(channel, hz=250.0), hw.gpio(pin, mode="out"), hw.i2c(address,
// bus=1), hw.serial(port, baud=9600, timeout=1.0), each a device the
// configuration's [scripts.hardware] grants, closed when the job stops.
func HW() starlark.Value { return hwModule }

func hwSession(th *starlark.Thread) (*scripthw.Session, error) {
	if nb, _ := th.Local(nonBlockingKey).(bool); nb {
		return nil, errors.New("hw: not available in a setting's check function, which must not wait (use it from execute())")
	}
	h, ok := th.Local(hostKey).(Host)
	if !ok {
		return nil, fmt.Errorf("hw: %w", ErrLoadTime)
	}
	hh, ok := h.(HardwareHost)
	if !ok {
		return nil, fmt.Errorf("hw: %w", ErrNoHardware)
	}
	return hh.Hardware()
}
