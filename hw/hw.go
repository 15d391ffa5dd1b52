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
	"fmt"
	"time"
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

// ADC is one analog input (a photodiode channel).
type ADC interface {
	Resource
	Volts(ctx context.Context) (float64, error)
	// Burst takes n samples, spacing apart. On hardware the call takes
	// n×spacing of real time; the simulator returns at once with the
	// samples it would have taken, stamped with their times, so a job that
	// reads a burst then sleeps on its scheduler until the last sample's
	// time runs the same way on both.
	Burst(ctx context.Context, n int, spacing time.Duration) ([]Sample, error)
}

// Sample is one ADC reading and when it was taken.
type Sample struct {
	At    time.Time
	Volts float64
}

// LEDs drives the unit's four LED channels, "A" to "D" (the DAC43608 on the
// HAT). Halt turns every channel off.
type LEDs interface {
	Resource
	// SetIntensity sets a channel to percent, 0 to 100.
	SetIntensity(channel string, percent float64) error
	Intensity(channel string) float64
}

// RPMCounter counts the stirrer's revolutions (the hall sensor on the
// heating PCB). A job measures RPM from two counts and its scheduler's clock,
// so the same code runs in real and in virtual time.
type RPMCounter interface {
	Resource
	// Revolutions is the number of revolutions counted since the counter
	// was opened.
	Revolutions() (float64, error)
}

// Sensors is what a board offers besides PWM outputs. A board without one
// of them returns an error wrapping ErrNotConfigured.
type Sensors interface {
	// Photodiode is the ADC input of photodiode channel 1 to 4.
	Photodiode(channel int) (ADC, error)
	// Thermometer is the heating PCB's thermometer (the TMP1075).
	Thermometer() (Thermometer, error)
	LEDs() (LEDs, error)
	RPM() (RPMCounter, error)
}

// StatusLED is the monitor's LED on the HAT.
type StatusLED interface {
	Resource
	Set(on bool) error
}

// Button is the HAT's button; Events delivers each press (true) and
// release (false) until Close.
type Button interface {
	Resource
	Events() <-chan bool
	Close() error
}

// Indicators is what a board offers the monitor: its status LED and
// button. A board without them (the simulator) does not implement it.
type Indicators interface {
	StatusLED() (StatusLED, error)
	Button() (Button, error)
}

// SensorsOf returns the board's sensors, or an error that says the board has
// none.
func SensorsOf(b Board) (Sensors, error) {
	if s, ok := b.(Sensors); ok {
		return s, nil
	}
	return nil, fmt.Errorf("%s has no sensors (photodiodes, thermometer, LEDs, RPM): %w", b.Name(), ErrNotConfigured)
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
