package selftest

import (
	"context"
	"fmt"
	"strings"

	"github.com/piolab/pio/leds"
)

// checkLEDs sets each LED channel and reads it back, then steps the IR LED
// through the limits' intensities and checks that REF sees more light at
// each step.
func checkLEDs(ctx context.Context, b *bench) (msg string, err error) {
	s, err := b.sensors()
	if err != nil {
		return "", err
	}
	l, err := s.LEDs()
	if err != nil {
		return "", err
	}
	defer ledsOff(&err, l)
	want := b.limits.LEDReadback
	for _, ch := range leds.Channels {
		if err := l.SetIntensity(ch, want); err != nil {
			return "", err
		}
		got := l.Intensity(ch)
		if err := l.SetIntensity(ch, 0); err != nil {
			return "", err
		}
		if got != want {
			return "", fmt.Errorf("LED %s set to %g %% reads back %g %%", ch, want, got)
		}
	}
	ref, err := b.reference(s)
	if err != nil {
		return "", err
	}
	ir, err := leds.ChannelOf(b.env.Config, "IR")
	if err != nil {
		return "", err
	}
	steps := b.limits.IRSteps
	if len(steps) < 2 {
		return "", fmt.Errorf("the IR LED needs at least 2 intensities to step through, got %v", steps)
	}
	volts := make([]float64, len(steps))
	var seen []string
	for i, pct := range steps {
		if err := setLEDs(l, ir, pct); err != nil {
			return "", err
		}
		if err := b.sleep(ctx, b.limits.LEDSettle); err != nil {
			return "", err
		}
		if volts[i], err = b.meanVolts(ctx, ref); err != nil {
			return "", err
		}
		seen = append(seen, fmt.Sprintf("%g %% %.4f V", pct, volts[i]))
		if i > 0 && volts[i] <= volts[i-1] {
			return "", fmt.Errorf("REF does not rise with the IR LED (%s): %s", ir, strings.Join(seen, ", "))
		}
	}
	if rise := volts[len(volts)-1] - volts[0]; rise < b.limits.IRMinRiseVolts {
		return "", fmt.Errorf("REF rises only %.4f V with the IR LED (%s), want at least %g V: %s", rise, ir, b.limits.IRMinRiseVolts, strings.Join(seen, ", "))
	}
	return fmt.Sprintf("A to D read back %g %%; REF with the IR LED (%s) at %s", want, ir, strings.Join(seen, ", ")), nil
}
