package temperature

import (
	"math"
	"strconv"

	"github.com/piolab/pio/runtime"
)

// The heater: a PWM output at HeaterHz on the [PWM] channel wired to
// "heating", whose duty cycle is the job's heater_duty_cycle. While an
// inference runs, the heater is held (off) and programs cannot change it.

// HeaterHz is the heater PWM's frequency.
const HeaterHz = 16

// HeaterDevice is the [PWM] device name of the heater.
const HeaterDevice = "heating"

// UpdateHeater sets the heater's duty cycle to clamp(0, round(dc, 2), 100)
// and publishes it. It returns false, changing nothing, while an inference
// holds the heater, while the job is not ready (sleeping, stopping), or
// when the output is already closed.
func (a *Automation) UpdateHeater(dc float64) bool {
	if math.IsNaN(dc) {
		return false
	}
	a.mu.Lock()
	held := a.held
	a.mu.Unlock()
	if held {
		return false
	}
	if st := a.State(); st != runtime.Ready && st != runtime.Init {
		return false
	}
	return a.setHeater(dc)
}

// UpdateHeaterWithDelta is UpdateHeater(HeaterDutyCycle() + delta).
func (a *Automation) UpdateHeaterWithDelta(delta float64) bool {
	return a.UpdateHeater(a.HeaterDutyCycle() + delta)
}

// HeaterDutyCycle is the heater's current duty cycle, in percent.
func (a *Automation) HeaterDutyCycle() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dc
}

// setHeater applies a duty cycle whatever holds the heater (the job's own
// safety paths use it). The value is recorded even when the output is
// closed, as upstream does; it then returns false.
func (a *Automation) setHeater(dc float64) bool {
	dc = clampDuty(dc)
	a.mu.Lock()
	a.dc = dc
	out := a.heater
	a.mu.Unlock()
	ok := out != nil
	if ok {
		if err := out.SetDuty(dc); err != nil {
			a.Log.Error("heater: setting the duty cycle to %v failed: %v", dc, err)
			ok = false
		}
	}
	a.SetValue("heater_duty_cycle", dc)
	return ok
}

// hold stops programs from changing the heater (an inference) and returns
// the duty cycle it had.
func (a *Automation) hold() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.held = true
	return a.dc
}

func (a *Automation) release() {
	a.mu.Lock()
	a.held = false
	a.mu.Unlock()
}

// closeHeater turns the heater off and releases its output; it is safe to
// call more than once.
func (a *Automation) closeHeater() {
	a.mu.Lock()
	out := a.heater
	a.heater = nil
	a.dc = 0
	a.mu.Unlock()
	if out == nil {
		return
	}
	a.SetValue("heater_duty_cycle", 0.0)
	if err := out.SetDuty(0); err != nil {
		a.Log.Error("heater: turning it off failed: %v", err)
	}
	if err := out.Close(); err != nil {
		a.Log.Error("heater: closing PWM channel %d failed: %v", out.Channel(), err)
	}
}

// clampDuty is clamp(0, round(dc, 2), 100).
func clampDuty(dc float64) float64 {
	return math.Max(0, math.Min(100, round2(dc)))
}

// round2 rounds to 2 decimals as Python's round(x, 2) does: the decimal
// rounding of the exact binary value.
func round2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 2, 64), 64)
	return r
}
