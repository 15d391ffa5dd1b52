package stirring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/control"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// JobName is the stirring job's name.
const JobName = "stirring"

// errorCodeStirringFailed is upstream's error code 4, blinked by the
// monitor when the stirrer stalls.
const errorCodeStirringFailed = 4

// MeasuredRPM is the measured_rpm payload.
type MeasuredRPM struct {
	MeasuredRPM payload.Float `json:"measured_rpm"`
	Timestamp   string        `json:"timestamp"`
}

// Job is a running stirring job.
type Job struct {
	*runtime.Job
	env *runtime.Env
	p   params
	pwm hw.PWM
	rpm hw.RPMCounter // nil: duty cycle only
	// cmds carries work from the handlers to Run.
	cmds *sched.Inbox[func(context.Context)]

	// Owned by Run.
	pid     *control.PID
	target  *float64 // nil: no RPM control (no sensor, or measure only)
	est     float64  // the duty cycle the PID adjusts
	lastEst float64  // the last positive estimate (the lookup without a calibration)

	mu        sync.Mutex
	stopped   bool    // disconnecting: no duty but 0 any more
	outClosed bool    // the output is closed (after shutdown)
	duty      float64 // the output's duty
	stepStop  context.CancelFunc
	runCancel context.CancelFunc
	od        odState
	dodge     dodgeSettings
}

// odState is what the job knows of od_reading, from its retained topics.
type odState struct {
	state    string
	interval time.Duration // 0: unknown
	first    time.Time     // zero: unknown
}

// running is upstream's test: od_reading is ready, sleeping or starting.
func (o odState) running() bool {
	return o.state == string(runtime.Ready) || o.state == string(runtime.Sleeping) || o.state == string(runtime.Init)
}

// dodgeSettings are the settable dodging settings.
type dodgeSettings struct {
	enabled         bool
	during, outside float64
}

// Start checks the configuration and o, opens the stirrer's PWM output and
// the RPM sensor, and starts the job (ready, settings published). The
// stirrer starts turning when Run runs.
func Start(env *runtime.Env, o Options) (*Job, error) {
	p, err := readParams(env.Config, o)
	if err != nil {
		return nil, err
	}
	opts, err := env.Options()
	if err != nil {
		return nil, err
	}
	channel, ok := opts.PWMChannel(JobName)
	if !ok {
		return nil, fmt.Errorf("stirring: no [PWM] channel is labelled stirring")
	}
	rpm, err := openRPM(env.Board, p)
	if err != nil {
		return nil, err
	}
	s := &Job{env: env, p: p, rpm: rpm, cmds: sched.NewInbox[func(context.Context)](env.Sched),
		dodge: dodgeSettings{enabled: p.enableDodging, during: p.targetDuringOD, outside: p.targetOutsideOD}}
	s.est, s.lastEst = p.dutyCycle, p.dutyCycle
	if rpm != nil && !p.measureRPMOnly {
		t := p.targetRPM
		s.target = &t
	}
	lo, hi := -7.5, 7.5
	s.pid = control.NewPID(control.PIDConfig{Kp: p.kp, Ki: p.ki, Kd: p.kd, Setpoint: p.targetRPM,
		Min: &lo, Max: &hi, JobName: JobName, TargetName: "rpm"})

	job, err := runtime.NewJob(env, JobName, env.Experiment, runtime.Hooks{
		OnReady:        s.onReady,
		OnSleeping:     s.onSleeping,
		OnDisconnected: s.onDisconnected,
	})
	if err != nil {
		return nil, err
	}
	s.Job = job
	fail := func(err error) (*Job, error) {
		if s.pwm != nil {
			_ = s.pwm.Close()
		}
		job.Close()
		return nil, err
	}
	if s.pwm, err = env.OpenPWM(job.Client(), env.Experiment, channel, p.pwmHz, JobName); err != nil {
		return fail(fmt.Errorf("stirring: PWM channel %d: %w", channel, err))
	}
	if err := s.declareSettings(); err != nil {
		return fail(err)
	}
	for _, leaf := range []string{"$state", "interval", "first_od_obs_time"} {
		leaf := leaf
		t := env.Topic(env.Experiment, "od_reading", leaf)
		if err := job.Subscribe(t, 1, func(m pubsub.Message) { s.onODReading(leaf, m) }); err != nil {
			return fail(err)
		}
	}
	if p.enableDodging && p.preOrPostTooShort {
		job.Log.Warning("pre_delay_duration %v or post_delay_duration %v is below 0.25 s: OD readings may see the stirrer move.", p.pre, p.post)
	}
	if err := job.Start(); err != nil {
		return fail(err)
	}
	return s, nil
}

// openRPM returns the board's RPM counter, nil for duty-cycle-only stirring,
// or an error when one is required and missing.
func openRPM(b hw.Board, p params) (hw.RPMCounter, error) {
	required := p.measureRPMOnly || (p.useRPM != nil && *p.useRPM)
	if p.useRPM != nil && !*p.useRPM {
		return nil, nil
	}
	sensors, err := hw.SensorsOf(b)
	if err == nil {
		var c hw.RPMCounter
		if c, err = sensors.RPM(); err == nil {
			return c, nil
		}
	}
	if required {
		return nil, fmt.Errorf("stirring: RPM measurement is asked for, but %s has no RPM sensor: %w", b.Name(), err)
	}
	if errors.Is(err, hw.ErrNotConfigured) {
		return nil, nil // upstream without the heating PCB: duty cycle only
	}
	return nil, fmt.Errorf("stirring: RPM sensor of %s: %w", b.Name(), err)
}

func (s *Job) declareSettings() error {
	var target any
	if s.target != nil {
		target = *s.target
	}
	for _, d := range []struct {
		s       runtime.Setting
		initial any
	}{
		{runtime.Setting{Name: "target_rpm", Datatype: payload.TypeFloat, Settable: true, Set: s.setTargetRPM}, target},
		{runtime.Setting{Name: "measured_rpm", Datatype: payload.TypeJSON}, nil},
		{runtime.Setting{Name: "duty_cycle", Datatype: payload.TypeFloat, Settable: true, Set: s.setDutyCycle}, 0.0},
		{runtime.Setting{Name: "enable_dodging_od", Datatype: payload.TypeBoolean, Settable: true, Set: s.setEnableDodging}, s.p.enableDodging},
		{runtime.Setting{Name: "currently_dodging_od", Datatype: payload.TypeBoolean}, false},
		{runtime.Setting{Name: "target_rpm_during_od_reading", Datatype: payload.TypeFloat, Settable: true,
			Set: s.setDodgeTarget("target_rpm_during_od_reading", func(d *dodgeSettings) *float64 { return &d.during })}, nil},
		{runtime.Setting{Name: "target_rpm_outside_od_reading", Datatype: payload.TypeFloat, Settable: true,
			Set: s.setDodgeTarget("target_rpm_outside_od_reading", func(d *dodgeSettings) *float64 { return &d.outside })}, nil},
	} {
		if err := s.AddSetting(d.s, d.initial); err != nil {
			return err
		}
	}
	return nil
}

// post hands work to Run.
func (s *Job) post(fn func(ctx context.Context)) { s.cmds.Put(fn) }

// reconsider wakes Run to look at the mode again.
func (s *Job) reconsider() { s.post(func(context.Context) {}) }

// checkRPM validates a /set RPM: negative refused, above 5000 clamped.
func (s *Job) checkRPM(name string, v any) (float64, error) {
	f, _ := v.(float64)
	if !(f >= 0) {
		return 0, fmt.Errorf("%s %v is below 0", name, f)
	}
	if f > MaxRPM {
		s.Log.Warning("%s %v is above the maximum %v; using %v.", name, f, MaxRPM, MaxRPM)
		f = MaxRPM
	}
	return f, nil
}

// setTargetRPM handles /set target_rpm (upstream's set_target_rpm, applied
// by Run). While dodging, it sets the target outside OD readings, which the
// next after-reading action applies.
func (s *Job) setTargetRPM(v any) error {
	if s.rpm == nil {
		return errors.New("there is no RPM sensor (or use_rpm is false): set duty_cycle instead")
	}
	f, err := s.checkRPM("target_rpm", v)
	if err != nil {
		return err
	}
	s.SetValue("target_rpm", f)
	s.mu.Lock()
	s.dodge.outside = f
	s.mu.Unlock()
	if s.Value("target_rpm_outside_od_reading") != nil {
		s.SetValue("target_rpm_outside_od_reading", f)
	}
	s.post(func(ctx context.Context) {
		if s.Value("currently_dodging_od") == true {
			return
		}
		s.applyTarget(ctx, f)
	})
	return nil
}

// setDutyCycle handles /set duty_cycle: the duty and the estimate the PID
// starts from. While sleeping it is kept for the wake.
func (s *Job) setDutyCycle(v any) error {
	f, _ := v.(float64)
	if !(f >= 0 && f <= 100) {
		return fmt.Errorf("duty_cycle %v is outside 0 to 100", f)
	}
	s.SetValue("duty_cycle", f)
	s.post(func(context.Context) {
		s.setEstimate(f)
		s.setDuty(f)
	})
	return nil
}

func (s *Job) setEnableDodging(v any) error {
	b, _ := v.(bool)
	s.mu.Lock()
	s.dodge.enabled = b
	s.mu.Unlock()
	s.SetValue("enable_dodging_od", b)
	s.reconsider()
	return nil
}

func (s *Job) setDodgeTarget(name string, field func(*dodgeSettings) *float64) func(any) error {
	return func(v any) error {
		f, err := s.checkRPM(name, v)
		if err != nil {
			return err
		}
		s.mu.Lock()
		*field(&s.dodge) = f
		s.mu.Unlock()
		s.SetValue(name, f)
		return nil
	}
}

// onODReading follows od_reading's $state, interval and first_od_obs_time.
func (s *Job) onODReading(leaf string, m pubsub.Message) {
	text := strings.TrimSpace(string(m.Payload))
	s.mu.Lock()
	switch leaf {
	case "$state":
		s.od.state = text
	case "interval":
		s.od.interval = 0
		if f, err := strconv.ParseFloat(text, 64); err == nil && f > 0 && f < 1e6 {
			s.od.interval = time.Duration(f * float64(time.Second))
		}
	case "first_od_obs_time":
		s.od.first = parseObsTime(text)
	}
	s.mu.Unlock()
	s.reconsider()
}

// parseObsTime reads first_od_obs_time: unix seconds (upstream), or an
// ISO-8601 timestamp; the zero time when it is neither.
func parseObsTime(text string) time.Time {
	if f, err := strconv.ParseFloat(text, 64); err == nil && f > 0 && !math.IsInf(f, 0) {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		return t
	}
	return time.Time{}
}

// onSleeping stops the stirrer at once, publishes measured_rpm 0, and
// stops what Run is doing.
func (s *Job) onSleeping() {
	s.mu.Lock()
	s.writeDutyLocked(0)
	if s.stepStop != nil {
		s.stepStop()
	}
	s.mu.Unlock()
	if s.rpm != nil {
		s.SetValue("measured_rpm", MeasuredRPM{0, payload.StructTimestamp(s.env.Sched.Now())})
	}
	s.reconsider()
}

func (s *Job) onReady(from runtime.State) {
	if from == runtime.Sleeping {
		s.reconsider()
	}
}

// onDisconnected stops the stirrer and ends Run.
func (s *Job) onDisconnected() {
	s.mu.Lock()
	s.stopped = true
	s.writeDutyLocked(0)
	if s.stepStop != nil {
		s.stepStop()
	}
	cancel := s.runCancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// setDuty sets the stirrer's duty: upstream's clamp(0, round(v, 5), 100).
// Only "off" is written while the job is not ready.
func (s *Job) setDuty(v float64) {
	v = math.Max(0, math.Min(math.Round(v*1e5)/1e5, 100))
	if math.IsNaN(v) {
		v = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v != 0 && (s.stopped || s.State() != runtime.Ready) {
		return
	}
	s.writeDutyLocked(v)
}

func (s *Job) writeDutyLocked(v float64) {
	if s.outClosed {
		return // shut down: the output was turned off, then closed
	}
	if err := s.pwm.SetDuty(v); err != nil {
		s.Log.Error("stirring: PWM channel %d: setting the duty cycle to %v: %v", s.pwm.Channel(), v, err)
		if v == 0 {
			_ = s.pwm.Halt()
		}
		return
	}
	s.duty = v
	s.SetValue("duty_cycle", v)
}

// currentDuty is the output's duty.
func (s *Job) currentDuty() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duty
}

func (s *Job) setEstimate(v float64) {
	s.est = v
	if v > 0 {
		s.lastEst = v
	}
}
