package builtins

import (
	"fmt"
	"math"

	"go.starlark.net/starlark"
)

// TemperatureHost is what the temperature builtins need from a temperature
// automation.
type TemperatureHost interface {
	Host
	// UpdateHeater sets the heater's duty cycle (clamped to 0..100, rounded
	// to 2 decimals); false when the job holds the heater (an inference, a
	// sleeping job).
	UpdateHeater(dc float64) bool
	UpdateHeaterWithDelta(delta float64) bool
	HeaterDutyCycle() float64
	// LatestTemperature is the job's own latest temperature; ok is false
	// before the first.
	LatestTemperature() (float64, bool)
	// MaxTargetTemperature is the highest target the bioreactor model
	// allows (the heating PCB's reduce limit).
	MaxTargetTemperature() float64
}

// Temperature returns the builtins of temperature automations: the heater
// and the job's own temperature. A temperature automation's
// latest_temperature is its own latest (the one it just published), not a
// reading of another job's.
func Temperature() starlark.StringDict {
	return starlark.StringDict{
		"update_heater":            starlark.NewBuiltin("update_heater", updateHeater),
		"update_heater_with_delta": starlark.NewBuiltin("update_heater_with_delta", updateHeaterWithDelta),
		"heater_duty_cycle":        starlark.NewBuiltin("heater_duty_cycle", heaterDutyCycle),
		"latest_temperature":       starlark.NewBuiltin("latest_temperature", ownLatestTemperature),
		"max_target_temperature":   starlark.NewBuiltin("max_target_temperature", maxTargetTemperature),
	}
}

func temperatureHost(th *starlark.Thread, b *starlark.Builtin) (TemperatureHost, error) {
	h, _, err := host(th, b)
	if err != nil {
		return nil, err
	}
	t, ok := h.(TemperatureHost)
	if !ok {
		return nil, fmt.Errorf("%s: only temperature automations drive the heater", b.Name())
	}
	return t, nil
}

// dutyArg unpacks one finite number.
func dutyArg(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, name string) (float64, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, name, &v); err != nil {
		return 0, err
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s: %s: got %s, want a number (percent)", b.Name(), name, v.Type())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s: %s must be a finite number, got %v", b.Name(), name, f)
	}
	return f, nil
}

// update_heater(dc) -> bool: set the heater's duty cycle to dc percent,
// clamped to 0..100 and rounded to 2 decimals. False, and nothing changes,
// while the job holds the heater (during an inference, or asleep).
func updateHeater(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	dc, err := dutyArg(b, args, kwargs, "dc")
	if err != nil {
		return nil, err
	}
	h, err := temperatureHost(th, b)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(h.UpdateHeater(dc)), nil
}

// update_heater_with_delta(delta) -> bool: update_heater(heater_duty_cycle()
// + delta).
func updateHeaterWithDelta(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := dutyArg(b, args, kwargs, "delta")
	if err != nil {
		return nil, err
	}
	h, err := temperatureHost(th, b)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(h.UpdateHeaterWithDelta(d)), nil
}

// heater_duty_cycle() -> float: the heater's duty cycle, percent.
func heaterDutyCycle(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, err := temperatureHost(th, b)
	if err != nil {
		return nil, err
	}
	return starlark.Float(h.HeaterDutyCycle()), nil
}

// latest_temperature() -> float: the vial's temperature the job measured
// last, °C (at start, then after each inference).
func ownLatestTemperature(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, err := temperatureHost(th, b)
	if err != nil {
		return nil, err
	}
	t, ok := h.LatestTemperature()
	if !ok {
		return nil, fmt.Errorf("%s: the job has not measured a temperature yet", b.Name())
	}
	return starlark.Float(t), nil
}

// max_target_temperature() -> float: the highest target temperature the
// bioreactor model allows, °C (78 for pio's models).
func maxTargetTemperature(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, err := temperatureHost(th, b)
	if err != nil {
		return nil, err
	}
	return starlark.Float(h.MaxTargetTemperature()), nil
}
