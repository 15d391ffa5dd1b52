package leds

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/scripthw"
)

// JobName is the job name of every LED automation.
const JobName = "led_automation"

// MinWake is the shortest wait RunAgainIn schedules (upstream's light-dark
// cycle never sets a timer shorter than 0.05 s).
const MinWake = 50 * time.Millisecond

// Retries and RetryPause are how SetLEDIntensity insists on a locked
// channel: up to 6 tries, 0.5 s apart, as upstream.
const (
	Retries    = 6
	RetryPause = 500 * time.Millisecond
)

// Program is a loaded light program: what an Automation runs. The LED
// automation has no timer of its own: it evaluates the program once when it
// becomes ready and each time it wakes from sleeping, and then whenever the
// program asked to be run again (Automation.RunAgainIn), or, for a program
// that declares a duration setting, every duration minutes.
type Program interface {
	// Name is the automation_name.
	Name() string
	Settings() []automation.SettingDecl
	// CheckSetting validates a value of one of the program's settings
	// before it is applied, at start and on /set: an error refuses it (the
	// previous value stays), else the value it returns is applied. It runs
	// on the job's message actor and must not wait.
	CheckSetting(name string, v any) (any, error)
	// Execute evaluates the program. The returned event may be nil.
	Execute(ctx context.Context, a *Automation) (*payload.Event, error)
	// SettingChanged follows a change of one of the program's settings
	// through /set, while the job is ready (a change made while sleeping is
	// seen when the job wakes, which evaluates the program). The returned
	// event may be nil.
	SettingChanged(ctx context.Context, a *Automation, name string) (*payload.Event, error)
}

// AutomationOptions start an LED automation.
type AutomationOptions struct {
	Program Program
	// Overrides are settings given as text (pio run led_automation
	// --light-intensity 40).
	Overrides map[string]string
}

// Limits are a script's guards, from [dosing_automation.config]
// (max_script_steps, max_execute_minutes): they bound every script, whatever
// its family.
type Limits struct {
	MaxSteps   uint64
	MaxExecute time.Duration
}

// work is something the job's handlers ask the work actor to do.
type work struct {
	woke    bool   // returned to ready from sleeping: evaluate now
	setting string // a program setting changed
}

// Automation is a led_automation job running a Program.
type Automation struct {
	*runtime.Job
	prog     Program
	leds     *Controller
	readings *readings.Cache
	history  *automation.History
	source   string
	work     *sched.Inbox[work]
	Limits   Limits

	mu        sync.Mutex
	next      time.Time // the program's next run; zero: none
	period    time.Duration
	lastRun   time.Time
	ran       bool
	edited    map[string]bool
	runCancel context.CancelFunc
	stopped   bool

	// Errors counts failed evaluations.
	Errors int
}

// StartAutomation checks the program's settings, creates the job, publishes
// automation_name, latest_event and the settings, and moves it to ready.
// Call Run next.
func StartAutomation(env *runtime.Env, o AutomationOptions) (*Automation, error) {
	prog := o.Program
	if prog == nil {
		return nil, errors.New("led_automation: no program")
	}
	name := prog.Name()
	if err := automation.CheckName(JobName, name); err != nil {
		return nil, err
	}
	opts, err := env.Options()
	if err != nil {
		return nil, err
	}
	values, err := automation.SettingValues(name, prog.Settings(), o.Overrides)
	if err != nil {
		return nil, fmt.Errorf("led_automation: %w", err)
	}
	for _, d := range prog.Settings() {
		v, err := checkSetting(prog, d.Name, values[d.Name])
		if err != nil {
			return nil, fmt.Errorf("led_automation: setting %s: %w", d.Name, err)
		}
		values[d.Name] = v
	}
	ctl, err := For(env)
	if err != nil {
		return nil, fmt.Errorf("led_automation: %w", err)
	}
	a := &Automation{prog: prog, leds: ctl, source: JobName + ":" + name, edited: map[string]bool{},
		work:   sched.NewInbox[work](env.Sched),
		Limits: Limits{MaxSteps: opts.Dosing.MaxScriptSteps, MaxExecute: opts.Dosing.MaxExecute}}
	if d, ok := values["duration"]; ok {
		a.period = automation.Minutes(d.(float64))
	}
	job, err := runtime.NewJob(env, JobName, env.Experiment, runtime.Hooks{
		OnReady:          a.onReady,
		OnSleeping:       a.onSleeping,
		OnDisconnected:   a.onDisconnected,
		OnSettingChanged: a.onSettingChanged,
	})
	if err != nil {
		return nil, err
	}
	a.Job = job
	fail := func(err error) (*Automation, error) { job.Close(); return nil, err }
	a.history = automation.NewHistory(job, name)
	set := map[string]func(any) error{}
	for _, d := range prog.Settings() {
		set[d.Name] = a.setter(d.Name)
	}
	if err := automation.Declare(job, name, prog.Settings(), values, set, a.history); err != nil {
		return fail(err)
	}
	if a.readings, err = readings.Subscribe(job); err != nil {
		return fail(err)
	}
	job.Log.Info("Starting %s.", name)
	if err := job.Start(); err != nil {
		return fail(err)
	}
	return a, nil
}

// setter is a program setting's /set handler: the program checks the value
// first; duration is also checked against its bounds and reschedules.
func (a *Automation) setter(name string) func(any) error {
	return func(v any) error {
		v, err := checkSetting(a.prog, name, v)
		if err != nil {
			return err
		}
		a.SetValue(name, v)
		if name == "duration" {
			a.reschedule(automation.Minutes(v.(float64)))
		}
		return nil
	}
}

// checkSetting is the program's check of a value, then, for duration, its
// bounds.
func checkSetting(prog Program, name string, v any) (any, error) {
	v, err := prog.CheckSetting(name, v)
	if err != nil || name != "duration" {
		return v, err
	}
	return automation.CheckDuration(v)
}

// reschedule changes the period as upstream's set_duration does: the next
// run is one new period after the last, or now if that has passed or
// nothing ran yet.
func (a *Automation) reschedule(period time.Duration) {
	now := a.Env().Sched.Now()
	a.mu.Lock()
	a.period = period
	next := now
	if a.ran && a.lastRun.Add(period).After(now) {
		next = a.lastRun.Add(period)
	}
	a.next = next
	a.mu.Unlock()
	a.work.Put(work{}) // the work actor recomputes its wait
}

func (a *Automation) onReady(from runtime.State) {
	if from == runtime.Sleeping {
		a.work.Put(work{woke: true})
	}
}

// onSleeping cancels the pending run; waking evaluates the program again.
func (a *Automation) onSleeping() {
	a.mu.Lock()
	a.next = time.Time{}
	a.mu.Unlock()
}

func (a *Automation) onDisconnected() {
	a.mu.Lock()
	a.stopped = true
	cancel := a.runCancel
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (a *Automation) onSettingChanged(name string) {
	a.history.Publish()
	for _, d := range a.prog.Settings() {
		if d.Name == name {
			a.work.Put(work{setting: name})
			return
		}
	}
}

// Program returns the automation's program.
func (a *Automation) Program() Program { return a.prog }

// Readings is the job's cache of other jobs' readings (OD, growth rate,
// temperature), which scripts read with latest_od() and friends.
func (a *Automation) Readings() *readings.Cache { return a.readings }

// LEDs is the unit's LED controller.
func (a *Automation) LEDs() *Controller { return a.leds }

// SourceOfEvent is "led_automation:<automation_name>".
func (a *Automation) SourceOfEvent() string { return a.source }

// RunAgainIn schedules the program's next run d from now (at least MinWake),
// replacing the one pending. A negative d cancels the pending run.
func (a *Automation) RunAgainIn(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d < 0 {
		a.next = time.Time{}
		return
	}
	a.next = a.Env().Sched.Now().Add(max(d, MinWake))
}

// NextRun is when the program runs next (zero: not scheduled).
func (a *Automation) NextRun() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.next
}

// SetLEDIntensity sets one channel for the program, as upstream's
// set_led_intensity: up to Retries tries, RetryPause apart on the
// scheduler's clock, while the channel is locked. It remembers the channel,
// which goes back to 0 when the job ends. An invalid channel or intensity
// is an error at once; a channel still locked after the last try logs a
// warning and returns false.
func (a *Automation) SetLEDIntensity(ctx context.Context, ch string, v float64) (bool, error) {
	if err := CheckChannel(ch); err != nil {
		return false, err
	}
	if err := CheckIntensity(ch, v); err != nil {
		return false, err
	}
	clk := a.Env().Sched
	for try := 1; ; try++ {
		ok, err := a.leds.Set(ctx, map[string]float64{ch: v}, a.source)
		if err != nil {
			return false, err
		}
		if ok {
			a.mu.Lock()
			a.edited[ch] = true
			a.mu.Unlock()
			return true, nil
		}
		if try == Retries {
			break
		}
		if err := clk.SleepUntil(ctx, clk.Now().Add(RetryPause)); err != nil {
			return false, err
		}
	}
	a.Log.Warning("%s was unable to update channel %s: %s.", a.source, ch, a.leds.lockedDesc(map[string]float64{ch: v}))
	return false, nil
}

// Edited lists the channels the program has set, sorted.
func (a *Automation) Edited() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for ch := range a.edited {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

// turnOffEdited sets every channel the program set back to 0, insisting
// as SetLEDIntensity does while a channel is locked (od_reading holds its
// locks for a reading only).
func (a *Automation) turnOffEdited() {
	off := map[string]float64{}
	for _, ch := range a.Edited() {
		off[ch] = 0
	}
	if len(off) == 0 {
		return
	}
	clk := a.Env().Sched
	for try := 1; ; try++ {
		ok, err := a.leds.Set(context.Background(), off, a.source)
		if err != nil {
			a.Log.Error("Could not turn off LED %s: %v", joinKeys(off), err)
			return
		}
		if ok {
			return
		}
		for ch := range off {
			if a.leds.Locked(ch) == "" {
				delete(off, ch) // turned off by this try
			}
		}
		if try == Retries || clk.SleepUntil(context.Background(), clk.Now().Add(RetryPause)) != nil {
			break
		}
	}
	a.Log.Warning("Could not turn off LED %s: %s.", joinKeys(off), a.leds.lockedDesc(off))
}

// Run runs the automation until ctx ends or the job is disconnected (pio
// kill, $state/set). It always leaves every channel the program set at 0
// and the job disconnected.
func (a *Automation) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.runCancel = cancel
	stopped := a.stopped
	a.mu.Unlock()
	defer a.Close()
	defer scripthw.Release(a.Job) // every device the script opened, halted and closed
	defer a.turnOffEdited()
	if stopped {
		return nil
	}
	if a.State() == runtime.Ready {
		a.evaluate(ctx)
	}
	clk := a.Env().Sched
	for ctx.Err() == nil && a.State() != runtime.Disconnected {
		for {
			w, ok := a.work.TryGet()
			if !ok || ctx.Err() != nil {
				break
			}
			a.handle(ctx, w)
		}
		if ctx.Err() != nil {
			break
		}
		next := a.NextRun()
		if !next.IsZero() && !clk.Now().Before(next) && a.State() == runtime.Ready {
			a.evaluate(ctx)
			continue
		}
		if next.IsZero() {
			// Nothing scheduled: wait for the handlers, with a deadline
			// only so that a simulation's end reaches this wait.
			next = clk.Now().Add(100 * 365 * 24 * time.Hour)
		}
		_, err := a.work.WaitUntil(ctx, next)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (a *Automation) handle(ctx context.Context, w work) {
	if a.State() != runtime.Ready {
		return
	}
	switch {
	case w.woke:
		a.evaluate(ctx)
	case w.setting != "":
		ev, err := a.prog.SettingChanged(ctx, a, w.setting)
		a.publishOutcome(ctx, "the change of "+w.setting, ev, err)
	}
}

// evaluate runs the program once. A program with a duration that did not
// schedule its next run runs again on the duration's grid.
func (a *Automation) evaluate(ctx context.Context) {
	now := a.Env().Sched.Now()
	a.mu.Lock()
	a.next = time.Time{}
	a.lastRun, a.ran = now, true
	a.mu.Unlock()
	ev, err := a.prog.Execute(ctx, a)
	a.publishOutcome(ctx, "execute()", ev, err)
	a.mu.Lock()
	if a.next.IsZero() && a.period > 0 && a.State() == runtime.Ready {
		k := a.Env().Sched.Now().Sub(now)/a.period + 1
		a.next = now.Add(k * a.period)
	}
	a.mu.Unlock()
}

// publishOutcome makes what the program returned the job's latest_event:
// its event, or ErrorOccurred for an error (counted in Errors; a missing
// reading is a warning, as upstream's JobRequiredError).
func (a *Automation) publishOutcome(ctx context.Context, what string, ev *payload.Event, err error) {
	switch {
	case err != nil && errors.Is(err, clock.ErrEndOfTime):
		a.Log.Info("%s was still running when the simulation ended.", what)
		return
	case ctx.Err() != nil:
		a.Log.Notice("The job was stopped during %s.", what)
		return
	}
	logError := a.Log.Error
	if err != nil {
		a.mu.Lock()
		a.Errors++
		a.mu.Unlock()
		var req *readings.RequiredError
		if errors.As(err, &req) {
			logError = a.Log.Warning
		}
	}
	automation.Outcome(a.Job, ev, err, logError)
}

// ExecDeadline is when a run of the program started at start must have
// finished.
func (a *Automation) ExecDeadline(start time.Time) time.Time { return start.Add(a.Limits.MaxExecute) }
