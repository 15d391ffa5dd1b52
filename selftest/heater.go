package selftest

import (
	"context"
	"fmt"
)

// checkHeater runs the heater at the limits' duty until the heating PCB's
// thermometer has risen by the minimum, for at most the heater time. It
// refuses to heat a PCB that is already hot, and stops at the maximum.
func checkHeater(ctx context.Context, b *bench) (msg string, err error) {
	ch, err := b.device("heating")
	if err != nil {
		return "", err
	}
	s, err := b.sensors()
	if err != nil {
		return "", err
	}
	th, err := s.Thermometer()
	if err != nil {
		return "", err
	}
	lim := b.limits
	t0, err := th.Celsius(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", th, err)
	}
	if t0 >= lim.MaxStartCelsius {
		return "", fmt.Errorf("the heating PCB is at %.2f °C, at or above %g °C: let it cool before testing the heater", t0, lim.MaxStartCelsius)
	}
	out, err := b.open(ch, lim.HeaterHz)
	if err != nil {
		return "", err
	}
	defer off(&err, out)
	start := b.env.Sched.Now()
	if err := out.SetDuty(lim.HeaterDuty); err != nil {
		return "", err
	}
	t := t0
	for {
		if err := b.sleep(ctx, lim.HeaterPoll); err != nil {
			return "", err
		}
		if t, err = th.Celsius(ctx); err != nil {
			return "", fmt.Errorf("%s: %w", th, err)
		}
		took := b.env.Sched.Now().Sub(start)
		switch {
		case t >= lim.MaxCelsius:
			return "", fmt.Errorf("the heating PCB reached %.2f °C (from %.2f °C) in %v at %g %%, at or above %g °C: stopped heating", t, t0, took, lim.HeaterDuty, lim.MaxCelsius)
		case t-t0 >= lim.MinRiseCelsius:
			return fmt.Sprintf("rose %.2f °C (%.2f to %.2f °C) in %v at %g %%", t-t0, t0, t, took, lim.HeaterDuty), nil
		case took >= lim.HeaterTime:
			return "", fmt.Errorf("the thermometer rose only %.2f °C (%.2f to %.2f °C) in %v with the heater at %g %%, want at least %g °C: is the heater connected?", t-t0, t0, t, took, lim.HeaterDuty, lim.MinRiseCelsius)
		}
	}
}
