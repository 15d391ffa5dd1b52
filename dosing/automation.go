// Package dosing runs dosing automations: the dosing_automation job, its
// schedule, its mirror of the liquid model, and execute_io_action with
// upstream's rules. A Program (a Starlark script, or Go in tests) supplies
// execute() and the custom pump functions; the runtime package supplies the
// job, the periodic schedule and the pumps.
package dosing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/scripthw"
)

// JobName is the job name of every dosing automation.
const JobName = "dosing_automation"

// SettingDecl declares a program setting and its default.
type SettingDecl = automation.SettingDecl

// PumpFunc moves ml of liquid and returns what it moved. A program's
// function that returns no number (None in Starlark) returns ErrReturnedNone:
// its own pumps then report what moved.
type PumpFunc func(ctx context.Context, ml float64) (float64, error)

// ErrReturnedNone is a program pump function that returned no volume: what
// the pumps it ran reported is what moved.
var ErrReturnedNone = errors.New("returned None")

// PumpFuncs finds a program's own pump function for a dose name (media,
// salty_media, waste, ...): its add_<name>_to_bioreactor. nil means none.
type PumpFuncs func(name string) (PumpFunc, bool)

// Program is a loaded automation: what an Automation runs.
type Program interface {
	// Name is the automation_name.
	Name() string
	Settings() []SettingDecl
	// Execute runs one execute(). The returned event may be nil.
	Execute(ctx context.Context, a *Automation) (*payload.Event, error)
}

// Options start a dosing automation.
type Options struct {
	Program Program
	// Overrides are settings given as text (pio run-script --volume 2).
	Overrides map[string]string
	// Starting liquid values; nil takes the stored value, else the config default.
	CurrentVolumeML, AltMediaFraction, EffluxTubeVolumeML *float64
}

// Limits are the dosing section of the configuration, read once at start.
type Limits struct {
	MaxSubdose, Pause, Multiplier float64
	// MaxSteps bounds the Starlark steps of one execute(); MaxExecute its
	// duration on the runtime clock.
	MaxSteps   uint64
	MaxExecute time.Duration
	// FirstRunDelay is the wait between ready and the first execute().
	FirstRunDelay time.Duration
}

// Automation is a dosing_automation job running a Program.
type Automation struct {
	*runtime.Job
	prog     Program
	model    config.Model
	Limits   Limits
	schedule *runtime.Periodic
	mirror   mirror

	mu          sync.Mutex
	stopPumping bool
	runCancel   context.CancelFunc
	scopes      []*pumpScope
	active      map[string]context.CancelFunc // running pumps by action name
	msgs        *sched.Inbox[pubsub.Message]  // for a MessageHandler program
	source      string                        // source_of_event of its pumps
	history     *automation.History
	runMoved    payload.Volumes // booked in the current run, by event
	readings    *readings.Cache
	trig        *trigger // for a Triggered program

	// Doses counts completed execute_io_action calls, Errors failed execute() runs.
	Doses, Errors int
}

// Start creates the job, publishes its settings, seeds the liquid model, and
// moves it to ready. Call Run next.
func Start(env *runtime.Env, opts Options) (*Automation, error) {
	prog := opts.Program
	name := prog.Name()
	if err := automation.CheckName(JobName, name); err != nil {
		return nil, err
	}
	o, err := env.Options()
	if err != nil {
		return nil, err
	}
	model := o.Bioreactor.Model
	limits := limitsOf(o.Dosing)
	values, err := settingValues(prog, opts.Overrides)
	if err != nil {
		return nil, err
	}
	if h, ok := prog.(MessageHandler); ok {
		// Before the job exists: a refused start publishes nothing.
		if err := checkHandlerGrants(env, h); err != nil {
			return nil, err
		}
	}
	a := &Automation{prog: prog, model: model, Limits: limits, active: map[string]context.CancelFunc{},
		source: JobName + ":" + name}
	var period time.Duration
	if d, ok := values["duration"]; ok {
		period = minutes(d.(float64))
	}
	firstRun := limits.FirstRunDelay
	if skip, _ := values["skip_first_run"].(bool); skip && period > 0 {
		firstRun = period // upstream's skip_first_run: the first run one full period after ready
	}
	a.schedule = runtime.NewPeriodic(env.Sched, firstRun, period)

	job, err := runtime.NewJob(env, JobName, env.Experiment, runtime.Hooks{
		OnSleeping:       a.onSleeping,
		OnDisconnected:   a.onDisconnected,
		OnSettingChanged: func(string) { a.publishSettingsHistory() },
		OnConnectionLost: func(error) { env.StopAllPumps() },
	})
	if err != nil {
		return nil, err
	}
	a.Job = job
	a.mirror.a = a
	fail := func(err error) (*Automation, error) { job.Close(); return nil, err }
	a.history = automation.NewHistory(job, name)
	if err := a.checkStartValues(values); err != nil {
		return fail(err)
	}
	if err := a.declareSettings(values); err != nil {
		return fail(err)
	}
	job.Log.Info("Starting %s.", name)
	if err := a.mirror.start(opts); err != nil {
		return fail(err)
	}
	if err := a.subscribeStopCommands(); err != nil {
		return fail(err)
	}
	if a.readings, err = readings.Subscribe(job); err != nil {
		return fail(err)
	}
	if t, ok := prog.(Triggered); ok && t.RunsOnReadings() {
		a.startTrigger(t)
	}
	if h, ok := prog.(MessageHandler); ok && len(h.Subscriptions()) > 0 {
		if err := a.subscribeHandlers(h); err != nil {
			return fail(err)
		}
		a.schedule.Between = a.handleUntil
	}
	if err := job.Start(); err != nil {
		return fail(err)
	}
	// A vial that starts at or above max fill sleeps before execute() runs.
	a.mirror.checkFill(a.CurrentVolume())
	return a, nil
}

func limitsOf(d config.DosingOptions) Limits {
	return Limits{
		MaxSubdose: d.MaxSubdoseML, Pause: d.PauseBetweenSubdoses.Seconds(), Multiplier: d.WasteRemovalMultiplier,
		MaxSteps: d.MaxScriptSteps, MaxExecute: d.MaxExecute, FirstRunDelay: d.FirstRunDelay,
	}
}

// settingValues checks the overrides against the program's declarations,
// before anything is published, and returns every setting's starting value.
func settingValues(prog Program, overrides map[string]string) (map[string]any, error) {
	return automation.SettingValues(prog.Name(), prog.Settings(), overrides)
}

func (a *Automation) declareSettings(values map[string]any) error {
	return automation.Declare(a.Job, a.prog.Name(), a.prog.Settings(), values, a.setHandlers(), a.history)
}

// setDuration is the duration setting's /set handler: it reschedules as
// upstream does.
func (a *Automation) setDuration(v any) error {
	f, err := automation.CheckDuration(v)
	if err != nil {
		return err
	}
	a.SetValue("duration", f)
	a.schedule.SetPeriod(minutes(f))
	return nil
}

func (a *Automation) publishSettingsHistory() { a.history.Publish() }

// Readings returns the other jobs' latest readings, as the automation
// receives them.
func (a *Automation) Readings() *readings.Cache { return a.readings }

// Program returns the automation's program.
func (a *Automation) Program() Program { return a.prog }

func (a *Automation) onSleeping() { a.stopActivePumps() }

func (a *Automation) onDisconnected() {
	a.mu.Lock()
	a.stopPumping = true
	cancel := a.runCancel
	a.mu.Unlock()
	a.stopActivePumps()
	if cancel != nil {
		cancel()
	}
}

// Run runs the automation until ctx ends, the job is disconnected (pio kill,
// $state/set), or, for a program without a duration, its one execute() is
// done. It always leaves the job disconnected and every pump it started off.
// The schedule is runtime.Periodic's.
func (a *Automation) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.runCancel = cancel
	stopped := a.stopPumping
	a.mu.Unlock()
	defer a.Close()
	defer scripthw.Release(a.Job) // every device the script opened, halted and closed
	if stopped {
		return nil
	}
	if a.trig != nil {
		return a.runTriggered(ctx)
	}
	if err := a.schedule.Run(ctx, func() bool { return a.State() == runtime.Ready }, a.RunOnce); err != nil {
		return err
	}
	if a.msgs != nil && ctx.Err() == nil && a.schedule.Period() == 0 {
		// An event-driven program: handle messages until the job ends.
		err := a.handleUntil(ctx, a.Env().Sched.Now().Add(100*365*24*time.Hour))
		if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
			return nil
		}
		return err
	}
	return nil
}

func minutes(m float64) time.Duration { return automation.Minutes(m) }

// RunOnce runs execute() once and publishes its event. An error is logged with
// its script position and published as ErrorOccurred; the job keeps running.
func (a *Automation) RunOnce(ctx context.Context) {
	if a.State() == runtime.Disconnected {
		return
	}
	a.beginRun()
	ev, err := a.prog.Execute(ctx, a)
	a.publishOutcome(ctx, "execute()", ev, err)
}

// beginRun starts the tally of what one run of the program moves.
func (a *Automation) beginRun() {
	a.mu.Lock()
	a.runMoved = a.runMoved[:0]
	a.mu.Unlock()
}

// tally adds a booked volume to the current run's tally.
func (a *Automation) tally(event string, ml float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.runMoved {
		if a.runMoved[i].Key == event {
			a.runMoved[i].ML += ml
			return
		}
	}
	a.runMoved = append(a.runMoved, payload.Dose{Key: event, ML: ml})
}

// movedThisRun describes the run's tally in a lab's words.
func (a *Automation) movedThisRun() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.runMoved) == 0 {
		return "no liquid moved in this run"
	}
	var parts []string
	for _, v := range a.runMoved {
		parts = append(parts, fmt.Sprintf("%s %s mL", v.Key, payload.PyFloat(math.Round(v.ML*1e4)/1e4)))
	}
	return "this run moved " + strings.Join(parts, ", ")
}

// publishOutcome makes what a run of the program returned the job's
// latest_event: its event, or ErrorOccurred for an error (counted in Errors).
// It reports whether the run was interrupted because the job is stopping.
func (a *Automation) publishOutcome(ctx context.Context, what string, ev *payload.Event, err error) (interrupted bool) {
	switch {
	case err != nil && errors.Is(err, clock.ErrEndOfTime):
		a.Log.Info("%s was still running when the simulation ended; %s.", what, a.movedThisRun())
		return true
	case ctx.Err() != nil:
		a.Log.Notice("The job was stopped during %s: every pump is off; %s.", what, a.movedThisRun())
		return true
	}
	if err != nil {
		a.mu.Lock()
		a.Errors++
		a.mu.Unlock()
	}
	automation.Outcome(a.Job, ev, err, a.Log.Error)
	return false
}

// ExecDeadline is when an execute() started at start must have finished.
func (a *Automation) ExecDeadline(start time.Time) time.Time { return start.Add(a.Limits.MaxExecute) }

// SourceOfEvent is "dosing_automation:<automation_name>".
func (a *Automation) SourceOfEvent() string { return a.source }
