package stirring

import (
	"errors"
	"fmt"
	"time"

	"github.com/piolab/pio/config"
)

// MaxRPM is the highest target RPM; a /set above it is clamped to it.
const MaxRPM = 5000.0

// Options are the parameters of pio run stirring (upstream's flags); a nil
// field takes its value from [stirring.config].
type Options struct {
	// TargetRPM is --target-rpm, 0 to 5000 (target_rpm).
	TargetRPM *float64
	// DutyCycle is --duty-cycle, the duty (%) to start from
	// (initial_duty_cycle).
	DutyCycle *float64
	// UseRPM is --use-rpm: true requires an RPM sensor, false ignores it
	// (duty cycle only); nil uses one when the board has it.
	UseRPM *bool
	// EnableDodgingOD is --enable-dodging-od (enable_dodging_od).
	EnableDodgingOD *bool
	// TargetRPMDuringOD is --target-rpm-during-od-reading
	// (target_rpm_during_od_reading).
	TargetRPMDuringOD *float64
	// TargetRPMOutsideOD is --target-rpm-outside-od-reading (default: the
	// target RPM).
	TargetRPMOutsideOD *float64
	// MeasureRPMOnly is --measure-rpm-only: no target, the duty stays as
	// set, and the RPM is measured and published (needs an RPM sensor).
	MeasureRPMOnly bool
}

// params are the job's resolved settings.
type params struct {
	targetRPM         float64
	dutyCycle         float64
	pwmHz             float64
	updateEvery       time.Duration
	enableDodging     bool
	pre, post         time.Duration
	targetDuringOD    float64
	targetOutsideOD   float64
	kp, ki, kd        float64
	useRPM            *bool
	measureRPMOnly    bool
	preOrPostTooShort bool
}

// readParams reads [stirring.config] and [stirring.pid] and applies o.
func readParams(cfg *config.Config, o Options) (params, error) {
	sec := cfg.Section("stirring.config")
	rpm := config.Within(0, MaxRPM)
	const rpmWant = "an RPM from 0 to 5000"
	p := params{
		targetRPM:      sec.Float("target_rpm", rpm, rpmWant),
		dutyCycle:      sec.Float("initial_duty_cycle", config.Within(0, 100), "a duty cycle from 0 to 100"),
		pwmHz:          sec.Float("pwm_hz", config.Positive, "a positive number of Hz"),
		updateEvery:    sec.Seconds("duration_between_updates_seconds", config.Positive, "a positive number of seconds"),
		enableDodging:  sec.Bool("enable_dodging_od"),
		pre:            sec.Seconds("pre_delay_duration", config.NonNegative, "a number of seconds, 0 or more"),
		post:           sec.Seconds("post_delay_duration", config.NonNegative, "a number of seconds, 0 or more"),
		targetDuringOD: sec.Float("target_rpm_during_od_reading", rpm, rpmWant),
		useRPM:         o.UseRPM,
		measureRPMOnly: o.MeasureRPMOnly,
	}
	pid := cfg.Section("stirring.pid")
	p.kp = pid.Float("Kp", nil, "")
	p.ki = pid.Float("Ki", nil, "")
	p.kd = pid.Float("Kd", nil, "")
	if err := errors.Join(sec.Err(), pid.Err()); err != nil {
		return params{}, err
	}
	p.preOrPostTooShort = p.pre < 250*time.Millisecond || p.post < 250*time.Millisecond

	checkRPM := func(flag string, v *float64, dst *float64) error {
		if v == nil {
			return nil
		}
		switch {
		case !(*v >= 0):
			return fmt.Errorf("stirring: %s %v is below 0", flag, *v)
		case *v > MaxRPM:
			return fmt.Errorf("stirring: %s %v is above the maximum %v", flag, *v, MaxRPM)
		}
		*dst = *v
		return nil
	}
	if err := checkRPM("target_rpm", o.TargetRPM, &p.targetRPM); err != nil {
		return params{}, err
	}
	p.targetOutsideOD = p.targetRPM
	if err := checkRPM("target_rpm_during_od_reading", o.TargetRPMDuringOD, &p.targetDuringOD); err != nil {
		return params{}, err
	}
	if err := checkRPM("target_rpm_outside_od_reading", o.TargetRPMOutsideOD, &p.targetOutsideOD); err != nil {
		return params{}, err
	}
	if d := o.DutyCycle; d != nil {
		if !(*d >= 0 && *d <= 100) {
			return params{}, fmt.Errorf("stirring: duty_cycle %v is outside 0 to 100", *d)
		}
		p.dutyCycle = *d
	}
	if o.EnableDodgingOD != nil {
		p.enableDodging = *o.EnableDodgingOD
	}
	if o.MeasureRPMOnly && o.UseRPM != nil && !*o.UseRPM {
		return params{}, fmt.Errorf("stirring: measure_rpm_only needs the RPM sensor, and use_rpm is false")
	}
	return p, nil
}
