package builtins

import (
	"context"
	"fmt"
	"math"

	"go.starlark.net/starlark"
)

// LEDHost is what the LED builtins need from an LED automation.
type LEDHost interface {
	Host
	// SetLEDIntensity sets one channel (A to D) to percent, 0 to 100,
	// retrying while another job holds the channel; false if it stayed
	// locked.
	SetLEDIntensity(ctx context.Context, channel string, percent float64) (bool, error)
	// LEDIntensities returns every channel's intensity.
	LEDIntensities() map[string]float64
	// RunAgainIn schedules the next execute() seconds from now, replacing
	// the pending one; CancelRun cancels it.
	RunAgainIn(seconds float64)
	CancelRun()
}

// LED returns the builtins of LED automations: set_led_intensity,
// led_intensities and run_again_in.
func LED() starlark.StringDict {
	return starlark.StringDict{
		"set_led_intensity": starlark.NewBuiltin("set_led_intensity", setLEDIntensity),
		"led_intensities":   starlark.NewBuiltin("led_intensities", ledIntensities),
		"run_again_in":      starlark.NewBuiltin("run_again_in", runAgainIn),
	}
}

func ledHost(th *starlark.Thread, b *starlark.Builtin) (LEDHost, context.Context, error) {
	h, ctx, err := host(th, b)
	if err != nil {
		return nil, nil, err
	}
	l, ok := h.(LEDHost)
	if !ok {
		return nil, nil, fmt.Errorf("%s: only LED automations drive the LEDs", b.Name())
	}
	return l, ctx, nil
}

// set_led_intensity(channel, intensity) -> bool: set LED channel "A" to "D"
// to intensity percent (0 to 100). While another job (od_reading, during a
// reading) holds the channel it tries again, up to 6 times 0.5 s apart, and
// returns False if it could not; True once set. The channel goes back to 0
// when the automation ends.
func setLEDIntensity(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var channel string
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "channel", &channel, "intensity", &v); err != nil {
		return nil, err
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return nil, fmt.Errorf("%s: intensity: got %s, want a number from 0 to 100", b.Name(), v.Type())
	}
	if math.IsNaN(f) || f < 0 || f > 100 {
		return nil, fmt.Errorf("%s: intensity %s for channel %s: want a number from 0 to 100", b.Name(), v, channel)
	}
	h, ctx, err := ledHost(th, b)
	if err != nil {
		return nil, err
	}
	ok, err = h.SetLEDIntensity(ctx, channel, f)
	if err != nil {
		return nil, wrap(b, err)
	}
	return starlark.Bool(ok), nil
}

// led_intensities() -> dict: every channel's intensity, {"A": 0.0, "B":
// 0.0, "C": 50.0, "D": 50.0}.
func ledIntensities(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, _, err := ledHost(th, b)
	if err != nil {
		return nil, err
	}
	state := h.LEDIntensities()
	d := starlark.NewDict(4)
	for _, ch := range []string{"A", "B", "C", "D"} {
		d.SetKey(starlark.String(ch), starlark.Float(state[ch]))
	}
	return d, nil
}

// run_again_in(seconds) -> None: run execute() again seconds from now (at
// least 0.05 s), replacing the run already scheduled; run_again_in(None)
// cancels it. An LED automation has no timer of its own: it runs execute()
// when it becomes ready and when it wakes from sleeping, and then only when
// the script asks (or every duration minutes, for a script with a
// duration setting).
// maxRunAgain is run_again_in's longest wait, in seconds: 30 days, as the
// longest duration.
const maxRunAgain = 30 * 24 * 3600

func runAgainIn(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	h, _, err := ledHost(th, b)
	if err != nil {
		return nil, err
	}
	if v == starlark.None {
		h.CancelRun()
		return starlark.None, nil
	}
	var s Seconds
	if err := s.Unpack(v); err != nil {
		return nil, fmt.Errorf("%s: %v (or None to cancel the next run)", b.Name(), err)
	}
	if s > maxRunAgain {
		return nil, fmt.Errorf("%s: %v s is more than 30 days", b.Name(), float64(s))
	}
	h.RunAgainIn(float64(s))
	return starlark.None, nil
}
