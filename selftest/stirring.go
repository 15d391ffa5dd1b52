package selftest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
)

// stirringSection is where the stirrer's frequency and target are.
const stirringSection = "stirring.config"

// fallbackTargetRPM is the target checked when target_rpm is 0.
const fallbackTargetRPM = 500

// checkStirring sweeps the stirrer's duty down through the limits' duties,
// measuring RPM at each with the hall sensor; RPM must follow the duty.
// Then the duty the sweep's line gives for [stirring.config] target_rpm
// must reach it within the tolerance.
func checkStirring(ctx context.Context, b *bench) (msg string, err error) {
	ch, err := b.device("stirring")
	if err != nil {
		return "", err
	}
	sec := b.env.Config.Section(stirringSection)
	hz := sec.Float("pwm_hz", config.Positive, "a positive frequency in Hz")
	target := sec.Float("target_rpm", config.Within(0, 5000), "an RPM from 0 to 5000")
	if err := sec.Err(); err != nil {
		return "", err
	}
	if target == 0 {
		target = fallbackTargetRPM
	}
	duties := b.limits.StirDuties
	if len(duties) < 2 {
		return "", fmt.Errorf("the stirrer needs at least 2 duties to sweep, got %v", duties)
	}
	s, err := b.sensors()
	if err != nil {
		return "", err
	}
	counter, err := s.RPM()
	if err != nil {
		return "", err
	}
	out, err := b.open(ch, hz)
	if err != nil {
		return "", err
	}
	defer off(&err, out)

	rpms := make([]float64, len(duties))
	var sweep []string
	for i, d := range duties {
		settle := b.limits.StirSettle
		if i == 0 {
			settle = b.limits.StirSpinUp
		}
		if rpms[i], err = b.rpmAt(ctx, out, counter, d, settle); err != nil {
			return "", err
		}
		sweep = append(sweep, fmt.Sprintf("%g %% %.0f RPM", d, rpms[i]))
	}
	r := correlation(duties, rpms)
	if math.IsNaN(r) || r < b.limits.MinCorrelation {
		return "", fmt.Errorf("RPM does not follow the duty (correlation %.2f, want at least %g): %s", r, b.limits.MinCorrelation, strings.Join(sweep, ", "))
	}
	slope, intercept := linearFit(duties, rpms)
	duty := (target - intercept) / slope
	if !(duty > 0 && duty <= 100) {
		return "", fmt.Errorf("the target %g RPM needs a duty of %.1f %% by the sweep (%s), outside 0 to 100 %%", target, duty, strings.Join(sweep, ", "))
	}
	duty = math.Round(duty*10) / 10
	rpm, err := b.rpmAt(ctx, out, counter, duty, b.limits.StirSettle)
	if err != nil {
		return "", err
	}
	if off := math.Abs(rpm-target) / target; off > b.limits.RPMTolerance {
		return "", fmt.Errorf("%.0f RPM at %g %%, %.0f %% off the target %g RPM (want within %g %%); sweep %s", rpm, duty, 100*off, target, 100*b.limits.RPMTolerance, strings.Join(sweep, ", "))
	}
	return fmt.Sprintf("%.0f RPM at %g %% for the target %g RPM; sweep %s (correlation %.2f)", rpm, duty, target, strings.Join(sweep, ", "), r), nil
}

// rpmAt sets the stirrer to duty, waits settle, and measures RPM over the
// limits' window from the hall sensor's count and the unit's clock.
func (b *bench) rpmAt(ctx context.Context, out hw.PWM, counter hw.RPMCounter, duty float64, settle time.Duration) (float64, error) {
	if err := out.SetDuty(duty); err != nil {
		return 0, err
	}
	if err := b.sleep(ctx, settle); err != nil {
		return 0, err
	}
	r0, err := counter.Revolutions()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", counter, err)
	}
	t0 := b.env.Sched.Now()
	if err := b.sleep(ctx, b.limits.RPMWindow); err != nil {
		return 0, err
	}
	r1, err := counter.Revolutions()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", counter, err)
	}
	secs := b.env.Sched.Now().Sub(t0).Seconds()
	if secs <= 0 {
		return 0, fmt.Errorf("the RPM window of %v took no time on the unit's clock", b.limits.RPMWindow)
	}
	return (r1 - r0) / secs * 60, nil
}
