package temperature

import (
	"context"
	"errors"
	"fmt"

	"github.com/piolab/pio/payload"
)

// errShutdown is a reading above the model's shutdown limit: the job stops.
var errShutdown = errors.New("the heating PCB is above the shutdown limit")

// PCBTooHotErrorCode is the error code upstream blinks on the LED when the
// heating PCB is too hot, published on
// pioreactor/<unit>/$experiment/monitor/flicker_led_with_error_code.
const PCBTooHotErrorCode = 6

// readPCB reads the heating PCB's thermometer: the mean of rawSamples
// readings rawSpacing apart, on the job's clock. Every reading goes through
// the safety check. A failed read turns the heater off and is returned; so
// is errShutdown.
func (a *Automation) readPCB(ctx context.Context) (float64, error) {
	sum := 0.0
	for i := 0; i < rawSamples; i++ {
		if i > 0 {
			if err := a.Env().Sched.SleepUntil(ctx, a.Env().Sched.Now().Add(rawSpacing)); err != nil {
				return 0, err
			}
		}
		c, err := a.thermometer.Celsius(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			a.setHeater(0)
			err = fmt.Errorf("temperature_automation: reading the heating PCB's thermometer (%s) failed: %v; the heater is off", a.thermometer, err)
			a.Log.Error("%v", err)
			a.SetValue("latest_event", payload.Event{Name: payload.EventErrorOccurred, Message: err.Error()})
			return 0, err
		}
		sum += c
	}
	t := sum / rawSamples
	a.mu.Lock()
	a.pcb, a.pcbAt = t, a.Env().Sched.Now()
	a.mu.Unlock()
	return t, a.checkSafety(t)
}

// checkSafety applies the model's limits to a PCB reading (upstream's
// _check_if_exceeds_max_temp).
func (a *Automation) checkSafety(t float64) error {
	l := a.limits
	switch {
	case t > l.ShutdownAbove:
		a.setHeater(0)
		a.blinkError()
		a.Log.Error("Temperature of heating surface has exceeded %s℃ - currently %s℃. This is beyond our recommendations. The heater is off and %s is stopping (pio does not power the Raspberry Pi off). Take caution when touching the heating surface and wetware.",
			payload.PyFloat(l.ShutdownAbove), payload.PyFloat(t), JobName)
		a.mu.Lock()
		a.shutdown = true
		a.mu.Unlock()
		return errShutdown
	case t > l.DisableAbove:
		a.blinkError()
		a.Log.Warning("Temperature of heating surface has exceeded %s℃ - currently %s℃. This is beyond our recommendations. The heating PWM channel will be forced to 0. Take caution when touching the heating surface and wetware.",
			payload.PyFloat(l.DisableAbove), payload.PyFloat(t))
		a.setHeater(0)
	case t > l.ReduceAbove:
		a.Log.Debug("Temperature of heating surface has exceeded %s℃ - currently %s℃. This is close to our maximum recommended value. The heating PWM channel will be reduced to 90%% its current value. Take caution when touching the heating surface and wetware.",
			payload.PyFloat(l.ReduceAbove), payload.PyFloat(t))
		a.setHeater(0.9 * a.HeaterDutyCycle())
	}
	return nil
}

// blinkError asks the monitor to blink the PCB-too-hot error code.
func (a *Automation) blinkError() {
	env := a.Env()
	t := env.Topic("$experiment", "monitor", "flicker_led_with_error_code")
	_ = a.Client().Publish(t, []byte(fmt.Sprint(PCBTooHotErrorCode)), 0, false)
}
