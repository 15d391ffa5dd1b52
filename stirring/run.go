package stirring

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// Upstream's timings.
const (
	firstUpdateDelay = 6 * time.Second        // continuous mode: the first PID update after start
	startKick        = 500 * time.Millisecond // start or wake from 0: 100 % for this long
	targetKick       = 350 * time.Millisecond // a new target from 0: 100 % for this long
	stallPhase       = 750 * time.Millisecond // a stall: 0 %, then 100 %, each this long
	settle           = 150 * time.Millisecond // a dodging action: after the new target
	measureOnlyPoll  = 4 * time.Second        // measure-only mode: the RPM window
	stallKickMax     = 60.0                   // a stall kick ends at min(1.01·estimate, this)
)

type modeKind int

const (
	modeNone modeKind = iota
	modeSleeping
	modeContinuous
	modeDodging
)

// mode is what Run is doing; dodging depends on od_reading's timing.
type mode struct {
	kind     modeKind
	interval time.Duration
	first    time.Time
}

// Run stirs until ctx ends or the job is disconnected, then turns the
// stirrer off, closes its output and closes the job. It returns an error
// when OD readings cannot be dodged with the configured delays (as
// upstream, the job then ends).
func (s *Job) Run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.runCancel = cancel
	s.mu.Unlock()
	defer s.shutdown()
	defer cancel()
	if s.State() == runtime.Disconnected {
		return nil
	}
	var cur mode
	var next time.Time // the next timed step; zero: none
	var beforeOD bool  // dodging: the next step is the before-OD action
	var fire time.Time // dodging: the next after-OD action
	for ctx.Err() == nil {
		if want := s.wantMode(); want != cur {
			if next, err = s.enter(ctx, cur, want); err != nil {
				s.Log.Error("%v", err)
				return err
			}
			cur, beforeOD, fire = want, false, next
			continue // entering may have taken time; look again
		}
		timed, err := s.wait(ctx, next)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
				return nil
			}
			return err
		}
		if !timed {
			continue
		}
		step, done := s.step(ctx)
		switch cur.kind {
		case modeContinuous:
			if s.target == nil {
				s.poll(step, measureOnlyPoll)
			} else {
				s.pollAndUpdate(step)
			}
			next = later(next, s.p.updateEvery, s.env.Sched.Now())
		case modeDodging:
			now := s.env.Sched.Now()
			if beforeOD {
				s.beforeOD(step)
				if now = s.env.Sched.Now(); !fire.After(now) {
					fire = later(fire, cur.interval, now)
				}
				next, beforeOD = fire, false
				break
			}
			s.afterOD(step)
			end := s.env.Sched.Now()
			_, wait, err := DodgeTiming(cur.interval, cur.first, end, s.p.pre, s.p.post, end.Sub(now))
			if err != nil {
				done()
				s.Log.Error("%v", err)
				return err
			}
			fire = later(fire, cur.interval, end)
			next, beforeOD = end.Add(wait), true
		}
		done()
	}
	return nil
}

// later is the first of t + k·period (k ≥ 1) after now.
func later(t time.Time, period time.Duration, now time.Time) time.Time {
	t = t.Add(period)
	if !t.After(now) {
		k := now.Sub(t)/period + 1
		t = t.Add(k * period)
	}
	return t
}

// wait runs the commands the handlers post until the clock reaches next
// (true) or ctx ends; a zero next waits for commands only. It returns
// false after running commands, so that Run looks at the mode again.
func (s *Job) wait(ctx context.Context, next time.Time) (bool, error) {
	var run func(context.Context)
	if next.IsZero() {
		c, err := s.cmds.Get(ctx)
		if err != nil {
			return false, err
		}
		run = c
	} else {
		got, err := s.cmds.WaitUntil(ctx, next)
		if err != nil {
			return false, err
		}
		if !got {
			return !s.env.Sched.Now().Before(next), nil
		}
	}
	step, done := s.step(ctx)
	defer done()
	if run != nil {
		run(step)
	}
	for c, ok := s.cmds.TryGet(); ok; c, ok = s.cmds.TryGet() {
		c(step)
	}
	return false, nil
}

// step returns a context for one piece of work, which sleeping cancels.
func (s *Job) step(ctx context.Context) (context.Context, func()) {
	step, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.stepStop = cancel
	s.mu.Unlock()
	return step, func() {
		s.mu.Lock()
		s.stepStop = nil
		s.mu.Unlock()
		cancel()
	}
}

// wantMode is the mode the job should be in now.
func (s *Job) wantMode() mode {
	if s.State() != runtime.Ready {
		return mode{kind: modeSleeping}
	}
	s.mu.Lock()
	od, enabled := s.od, s.dodge.enabled
	s.mu.Unlock()
	if enabled && od.running() && od.interval > 0 && !od.first.IsZero() {
		return mode{kind: modeDodging, interval: od.interval, first: od.first}
	}
	return mode{kind: modeContinuous}
}

// enter moves from one mode to another and returns the time of the first
// timed step of the new one (zero: none).
func (s *Job) enter(ctx context.Context, from, to mode) (time.Time, error) {
	step, done := s.step(ctx)
	defer done()
	now := s.env.Sched.Now()
	if from.kind == modeDodging && to.kind != modeDodging {
		s.SetValue("currently_dodging_od", false)
		s.SetValue("target_rpm_during_od_reading", nil)
		s.SetValue("target_rpm_outside_od_reading", nil)
	}
	switch to.kind {
	case modeSleeping:
		return time.Time{}, nil // the sleeping hook turned the stirrer off
	case modeContinuous:
		if from.kind == modeDodging && s.target != nil {
			s.applyTarget(step, s.dodgeTargets().outside)
		} else {
			s.startStirring(step)
		}
		if s.rpm == nil {
			return time.Time{}, nil
		}
		return s.env.Sched.Now().Add(firstUpdateDelay), nil
	case modeDodging:
		if err := checkDodgeDelays(to.interval, s.p.pre, s.p.post); err != nil {
			return time.Time{}, err
		}
		if from.kind != modeDodging {
			d := s.dodgeTargets()
			s.SetValue("currently_dodging_od", true)
			s.SetValue("target_rpm_during_od_reading", d.during)
			s.SetValue("target_rpm_outside_od_reading", d.outside)
			if s.rpm == nil || s.target == nil {
				s.Log.Debug("Dodging OD readings without RPM control: the stirrer stops before each reading and resumes after it.")
			} else if d.during > 0 {
				s.Log.Warning("No stirring calibration: a target_rpm_during_od_reading above 0 is reached through the PID alone.")
			}
			s.setDuty(0) // stopped until the first after-reading action
		}
		first := now.Add(TimeToNextOD(to.interval, to.first, now) + s.p.post + ODReadingDuration)
		return first, nil
	}
	return time.Time{}, nil
}

func (s *Job) dodgeTargets() dodgeSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dodge
}

// startStirring is upstream's start_stirring: 100 % for 0.5 s to get the
// stirrer going, then the estimate.
func (s *Job) startStirring(ctx context.Context) {
	if s.est > 0 && s.currentDuty() == 0 {
		s.setDuty(100)
		if s.sleep(ctx, startKick) != nil {
			return
		}
	}
	s.setDuty(s.est)
}

// applyTarget is upstream's set_target_rpm: a new setpoint and estimate,
// and, unless sleeping, the new duty (from 0: 100 % for 0.35 s first).
// Without a stirring calibration the estimate for a target above 0 is the
// last positive estimate.
func (s *Job) applyTarget(ctx context.Context, v float64) {
	if s.rpm == nil {
		return
	}
	s.target = &v
	s.pid.SetSetpoint(v)
	if s.Value("target_rpm") != v {
		s.SetValue("target_rpm", v)
	}
	if v == 0 {
		s.est = 0
	} else {
		s.est = s.lastEst
	}
	if s.State() != runtime.Ready {
		return
	}
	if v > 0 && s.currentDuty() == 0 {
		s.setDuty(100)
		if s.sleep(ctx, targetKick) != nil {
			return
		}
	}
	s.setDuty(s.est)
}

// beforeOD is upstream's action before an OD reading: the target during
// readings, a short settle, one PID update.
func (s *Job) beforeOD(ctx context.Context) {
	if s.target == nil {
		s.setDuty(0)
		return
	}
	s.applyTarget(ctx, s.dodgeTargets().during)
	if s.sleep(ctx, settle) == nil {
		s.pollAndUpdate(ctx)
	}
}

// afterOD is upstream's action after an OD reading: the target outside
// readings, a short settle, two PID updates.
func (s *Job) afterOD(ctx context.Context) {
	if s.target == nil {
		s.startStirring(ctx)
		return
	}
	s.applyTarget(ctx, s.dodgeTargets().outside)
	if s.sleep(ctx, settle) == nil {
		s.pollAndUpdate(ctx)
		s.pollAndUpdate(ctx)
	}
}

// pollAndUpdate measures the RPM over about ten revolutions (1 to 5 s)
// and moves the estimate by the PID's output.
func (s *Job) pollAndUpdate(ctx context.Context) {
	if s.rpm == nil || s.target == nil || s.State() != runtime.Ready {
		return
	}
	measured, ok := s.poll(ctx, rpmWindow(*s.target))
	if !ok {
		return
	}
	out := s.pid.Update(measured, 1)
	s.publishPIDStats()
	s.setEstimate(s.est + out)
	s.setDuty(s.est)
}

// rpmWindow is upstream's measuring window: clamp(10/(target/60), 1, 5)
// seconds, 1 s at target 0.
func rpmWindow(target float64) time.Duration {
	if target <= 0 {
		return time.Second
	}
	sec := math.Max(1, math.Min(10/(target/60), 5))
	return time.Duration(sec * float64(time.Second))
}

// poll measures the RPM over window and publishes it. A stalled stirrer
// (0 RPM with a target above 0) is kicked, as upstream.
func (s *Job) poll(ctx context.Context, window time.Duration) (float64, bool) {
	if s.rpm == nil {
		return 0, false
	}
	r0, err := s.rpm.Revolutions()
	if err != nil {
		s.Log.Error("stirring: reading the RPM sensor: %v", err)
		return 0, false
	}
	t0 := s.env.Sched.Now()
	if s.sleep(ctx, window) != nil {
		return 0, false
	}
	r1, err := s.rpm.Revolutions()
	if err != nil {
		s.Log.Error("stirring: reading the RPM sensor: %v", err)
		return 0, false
	}
	now := s.env.Sched.Now()
	rpm := 0.0
	if dt := now.Sub(t0).Seconds(); dt > 0 && r1 > r0 {
		rpm = math.Round((r1-r0)*60/dt*10) / 10
	}
	s.SetValue("measured_rpm", MeasuredRPM{payload.Float(rpm), payload.StructTimestamp(now)})
	if rpm == 0 && s.State() == runtime.Ready && s.target != nil && *s.target > 0 {
		s.Log.Warning("Stirring RPM is 0 - attempting to restart it automatically")
		s.flickerErrorCode(errorCodeStirringFailed)
		s.kickAvoidingOD(ctx)
	}
	return rpm, true
}

// kickAvoidingOD waits until just after the next OD reading when it is at
// most 2 s away (od_reading runs and the job is not dodging), then kicks:
// 0 % for 0.75 s, 100 % for 0.75 s, then min(1.01·estimate, 60).
func (s *Job) kickAvoidingOD(ctx context.Context) {
	s.mu.Lock()
	od, dodging := s.od, s.dodge.enabled
	s.mu.Unlock()
	if od.running() && !dodging && od.interval > 0 && !od.first.IsZero() {
		if toNext := TimeToNextOD(od.interval, od.first, s.env.Sched.Now()); toNext <= 2*time.Second {
			if s.sleep(ctx, toNext+ODReadingDuration) != nil {
				return
			}
		}
	}
	s.Log.Debug("Kicking stirring")
	s.setDuty(0)
	if s.sleep(ctx, stallPhase) != nil {
		return
	}
	s.setDuty(100)
	if s.sleep(ctx, stallPhase) != nil {
		return
	}
	s.setDuty(math.Min(1.01*s.est, stallKickMax))
}

func (s *Job) sleep(ctx context.Context, d time.Duration) error {
	return s.env.Sched.SleepUntil(ctx, s.env.Sched.Now().Add(d))
}

func (s *Job) publishPIDStats() {
	b, err := json.Marshal(s.pid.Stats())
	if err != nil {
		return
	}
	_ = s.Client().Publish(s.env.Topic(s.Experiment, "pid_log", "rpm"), b, 0, false)
}

func (s *Job) flickerErrorCode(code int) {
	t := s.env.Topic(s.Experiment, "monitor", "flicker_led_with_error_code")
	_ = s.Client().Publish(t, []byte(strconv.Itoa(code)), 0, false)
}

// shutdown turns the stirrer off, closes its output and closes the job.
func (s *Job) shutdown() {
	s.mu.Lock()
	s.stopped = true
	s.writeDutyLocked(0)
	s.outClosed = true
	s.mu.Unlock()
	if err := s.pwm.Close(); err != nil {
		s.Log.Error("stirring: closing PWM channel %d: %v", s.pwm.Channel(), err)
	}
	s.Close()
}
