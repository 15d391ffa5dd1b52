// Package hw is the hardware vocabulary of pio: small interfaces that the
// runtime drives and that each board implements. The simulator (hw/sim) is the
// first implementation; the Pioreactor HAT on periph.io is the next, and adds a
// package without changing anything above this one.
//
// Every device is a Resource and can be halted: Halt leaves it inert (pump
// stopped, heater off). The runtime halts what it opened on every exit path.
package hw

import (
	"context"
	"errors"
)

// Resource is any device pio can stop.
type Resource interface {
	String() string
	// Halt leaves the device inert. It is safe to call more than once.
	Halt() error
}

// PWM is one PWM output (a pump, the stirrer, the heater).
type PWM interface {
	Resource
	// SetDuty sets the duty cycle in percent, 0 to 100.
	SetDuty(percent float64) error
	Duty() float64
	Hz() float64
	Channel() int
	// Close halts the output and releases the channel.
	Close() error
}

// PWMController hands out PWM outputs. A channel has one owner at a time:
// opening a channel that is open elsewhere fails with ErrBusy.
type PWMController interface {
	Open(channel int, hz float64) (PWM, error)
}

// ADC is one analog input.
type ADC interface {
	Resource
	Volts(ctx context.Context) (float64, error)
}

// Thermometer reads a temperature.
type Thermometer interface {
	Resource
	Celsius(ctx context.Context) (float64, error)
}

// Board is a unit's hardware.
type Board interface {
	// Name describes the board ("simulated reactor", "Pioreactor HAT 1.2").
	Name() string
	// Simulated is true for boards without real liquid behind them.
	Simulated() bool
	PWM() PWMController
	// HaltAll halts every output the board has handed out.
	HaltAll() error
	Close() error
}

// Errors shared by every implementation.
var (
	ErrBusy          = errors.New("hw: channel in use")
	ErrNotConfigured = errors.New("hw: device not configured")
	ErrClosed        = errors.New("hw: device closed")
)

// CheckDuty validates a duty cycle.
func CheckDuty(percent float64) error {
	if !(percent >= 0 && percent <= 100) { // also rejects NaN
		return errors.New("hw: duty cycle must be within 0 and 100")
	}
	return nil
}
