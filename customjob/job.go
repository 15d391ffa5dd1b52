// Package customjob runs a lab's own background job, a Program (in pio, a
// script that declares job_name), as a job of the unit: upstream's state
// machine on $state, settings published retained and settable with /set, a
// periodic run() every interval seconds on the unit's scheduler, handlers
// for MQTT messages it subscribes to (never the job's own readings, state
// or log lines: own.go), and readings it publishes under
// pioreactor/<unit>/<experiment>/<job_name>/<name>.
//
// run() and the handlers run on one actor, one at a time, never
// concurrently; while the job sleeps neither runs. Every run and handler is
// bounded by the scripts' guards ([dosing_automation.config]
// max_script_steps and max_execute_minutes), is cancelled when the job
// stops, and a failure is logged and counted (Failures) while the job keeps
// running, as an automation does. Every device the program opened is closed
// when Run returns (scripthw.Release). docs/jobs.md is the reference.
package customjob

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/scripthw"
	"github.com/piolab/pio/scriptnet"
)

// Program is a loaded custom job: what a Job runs.
type Program interface {
	// Name is the job_name: the job's name on the unit and in its topics.
	Name() string
	// Settings are the published, settable settings; an "interval" setting
	// (seconds) is the period of Run.
	Settings() []automation.SettingDecl
	// CheckSetting validates a value of one of the settings before it is
	// applied, at start and on /set: an error refuses it (the previous
	// value stays), else the value it returns is applied. It runs on the
	// job's message actor and must not wait.
	CheckSetting(name string, v any) (any, error)
	// HasRun reports whether the program has a periodic Run.
	HasRun() bool
	// Run is one run of the periodic body.
	Run(ctx context.Context, j *Job) error
	// Subscriptions are the topic filters of the program's handlers; one
	// that does not start with "pioreactor/" is relative to
	// pioreactor/<unit>/<experiment>/.
	Subscriptions() []string
	// Handle handles one message on a filter of Subscriptions.
	Handle(ctx context.Context, j *Job, m pubsub.Message) error
}

// Options start a custom job.
type Options struct {
	Program Program
	// Overrides are settings given as text (pio run-script job.star
	// --interval 30).
	Overrides map[string]string
}

// Limits are a script's guards, from [dosing_automation.config]
// (max_script_steps, max_execute_minutes): they bound every script, whatever
// its family.
type Limits struct {
	MaxSteps   uint64
	MaxExecute time.Duration
}

// The interval setting: its name and bounds, in seconds. Below a tenth of
// a second run() would run back to back and flood the broker with its
// readings (od_reading itself warns below 1 s); above 1,000,000 s (11.6
// days) is od_reading's own upper bound.
const (
	IntervalSetting = "interval"
	MinInterval     = 0.1
	MaxInterval     = 1e6
)

// The bounds of what a job publishes: the names (each one a retained
// topic the job clears when it stops) and the size of one value.
const (
	MaxPublished    = 100
	MaxPublishBytes = 64 << 10
)

// Job is a custom job running a Program.
type Job struct {
	*runtime.Job
	prog     Program
	Limits   Limits
	schedule *runtime.Periodic            // nil: the program has no Run
	msgs     *sched.Inbox[pubsub.Message] // nil: no handlers
	readings *readings.Cache

	mu        sync.Mutex
	runCancel context.CancelFunc
	stopped   bool
	published map[string]bool
	failures  int
}

// Start checks the program's settings and its handlers' filters, creates
// the job, publishes its settings, subscribes its handlers and moves it to
// ready. Nothing is published for a refused program. Call Run next.
func Start(env *runtime.Env, o Options) (*Job, error) {
	prog := o.Program
	if prog == nil {
		return nil, errors.New("custom job: no program to run")
	}
	name := prog.Name()
	if err := CheckName(name); err != nil {
		return nil, err
	}
	opts, err := env.Options()
	if err != nil {
		return nil, err
	}
	values, err := automation.SettingValues(name, prog.Settings(), o.Overrides)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, d := range prog.Settings() {
		v, err := checkSetting(prog, d.Name, values[d.Name])
		if err != nil {
			return nil, fmt.Errorf("%s: setting %s: %w", name, d.Name, err)
		}
		if v == nil {
			return nil, fmt.Errorf("%s: setting %s is required and has no default: give it (--%s <value>)", name, d.Name, d.Name)
		}
		values[d.Name] = v
	}
	for _, f := range prog.Subscriptions() {
		if err := scriptnet.CheckSubscribe(env.Config, env.Unit, env.Experiment, f); err != nil {
			return nil, fmt.Errorf("%s: handlers: %w", name, err)
		}
	}
	j := &Job{prog: prog, published: map[string]bool{}, Limits: Limits{MaxSteps: opts.Dosing.MaxScriptSteps, MaxExecute: opts.Dosing.MaxExecute}}
	if j.Limits.MaxSteps == 0 {
		j.Limits.MaxSteps = 100_000_000
	}
	if prog.HasRun() {
		var period time.Duration
		if v, ok := values[IntervalSetting]; ok {
			f, _ := automation.ToFloat(v)
			period = seconds(f)
		}
		j.schedule = runtime.NewPeriodic(env.Sched, 0, period)
	}
	job, err := runtime.NewJob(env, name, env.Experiment, runtime.Hooks{OnDisconnected: j.onDisconnected})
	if err != nil {
		return nil, err
	}
	j.Job = job
	fail := func(err error) (*Job, error) { job.Close(); return nil, err }
	for _, d := range prog.Settings() {
		s := runtime.Setting{Name: d.Name, Datatype: d.Datatype, Settable: true, Set: automation.Bounded(job, d, j.setter(d.Name))}
		if err := job.AddSetting(s, values[d.Name]); err != nil {
			return fail(err)
		}
	}
	if j.readings, err = readings.Subscribe(job); err != nil {
		return fail(err)
	}
	if subs := prog.Subscriptions(); len(subs) > 0 {
		j.msgs = sched.NewInbox[pubsub.Message](env.Sched)
		for _, f := range subs {
			if err := job.Subscribe(dosing.FullFilter(env.Unit, job.Experiment, f), 2, func(m pubsub.Message) {
				if !j.ownMessage(m.Topic) {
					j.msgs.Put(m)
				}
			}); err != nil {
				return fail(err)
			}
		}
	}
	if err := job.Start(); err != nil {
		return fail(err)
	}
	return j, nil
}

// checkSetting is the program's check of a value, then, for interval, its
// bounds.
func checkSetting(prog Program, name string, v any) (any, error) {
	v, err := prog.CheckSetting(name, v)
	if err != nil || name != IntervalSetting || v == nil {
		return v, err
	}
	return v, CheckInterval(v)
}

// CheckInterval validates an interval in seconds.
func CheckInterval(v any) error {
	f, ok := automation.ToFloat(v)
	if !ok || !(f >= MinInterval && f <= MaxInterval) {
		return fmt.Errorf("interval must be from %s to %s seconds, got %v", payload.PyFloat(MinInterval), payload.PyFloat(MaxInterval), v)
	}
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// setter is a setting's /set handler: the program checks the value first;
// interval is also checked against its bounds and reschedules run().
func (j *Job) setter(name string) func(any) error {
	return func(v any) error {
		v, err := checkSetting(j.prog, name, v)
		if err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("%s is required", name)
		}
		j.SetValue(name, v)
		if name == IntervalSetting && j.schedule != nil {
			f, _ := automation.ToFloat(v)
			j.schedule.SetPeriod(seconds(f))
		}
		return nil
	}
}

func (j *Job) onDisconnected() {
	j.mu.Lock()
	j.stopped = true
	cancel := j.runCancel
	j.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Program returns the job's program.
func (j *Job) Program() Program { return j.prog }

// Readings is the job's cache of other jobs' readings (OD, growth rate,
// temperature), which scripts read with latest_od() and friends.
func (j *Job) Readings() *readings.Cache { return j.readings }

// Logger is the job's logger (its OnRecord sees every record).
func (j *Job) Logger() *runtime.Logger { return j.Log }

// Failures counts the failed runs of run() and of the handlers so far.
func (j *Job) Failures() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failures
}

// ExecDeadline is when a run of run() or a handler started at start must
// have finished.
func (j *Job) ExecDeadline(start time.Time) time.Time { return start.Add(j.Limits.MaxExecute) }

// Run runs the job until ctx ends or the job is disconnected (pio kill,
// $state/set): run() every interval seconds (once, without an interval) and
// the handlers between runs. A job without handlers whose run() ran once
// ends. It always leaves the job disconnected and every device its program
// opened closed.
func (j *Job) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j.mu.Lock()
	j.runCancel = cancel
	stopped := j.stopped
	j.mu.Unlock()
	defer j.Close()
	defer scripthw.Release(j.Job) // every device the script opened, halted and closed
	if stopped {
		return nil
	}
	if j.schedule != nil {
		if j.msgs != nil {
			// The schedule ends the wait's context to reschedule (a /set of
			// interval); a handler under way runs on with the job's.
			j.schedule.Between = func(wait context.Context, until time.Time) error { return j.handleUntil(ctx, wait, until) }
		}
		if err := j.schedule.Run(ctx, func() bool { return j.State() == runtime.Ready }, j.runOnce); err != nil {
			return err
		}
	}
	if j.msgs == nil || ctx.Err() != nil {
		return nil
	}
	// Handle messages until the job ends.
	err := j.handleUntil(ctx, ctx, j.Env().Sched.Now().Add(100*365*24*time.Hour))
	if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
		return nil
	}
	return err
}

// runOnce runs run() once.
func (j *Job) runOnce(ctx context.Context) {
	if j.State() != runtime.Ready {
		return
	}
	j.outcome(ctx, "run()", j.prog.Run(ctx, j))
}

// handleUntil handles messages as they arrive until the clock reaches
// until or wait ends. A handler runs with the job's ctx: a reschedule ends
// wait, never a handler under way (the next message waits for the
// schedule). Messages that arrive while the job sleeps are dropped, as
// upstream's jobs ignore them.
func (j *Job) handleUntil(ctx, wait context.Context, until time.Time) error {
	for {
		for wait.Err() == nil {
			m, ok := j.msgs.TryGet()
			if !ok {
				break
			}
			if j.State() != runtime.Ready {
				continue
			}
			j.outcome(ctx, "the handler of "+m.Topic, j.prog.Handle(ctx, j, m))
		}
		if wait.Err() != nil {
			return wait.Err()
		}
		notified, err := j.msgs.WaitUntil(wait, until)
		if err != nil {
			return err
		}
		if !notified {
			return nil
		}
	}
}

// outcome logs a failed run with its script position and counts it; the
// job keeps running. A missing reading is a warning, as upstream's
// JobRequiredError.
func (j *Job) outcome(ctx context.Context, what string, err error) {
	switch {
	case err == nil:
		return
	case errors.Is(err, clock.ErrEndOfTime):
		j.Log.Info("%s was still running when the simulation ended.", what)
		return
	case ctx.Err() != nil:
		j.Log.Notice("The job was stopped during %s.", what)
		return
	}
	j.mu.Lock()
	j.failures++
	j.mu.Unlock()
	var req *readings.RequiredError
	if errors.As(err, &req) {
		j.Log.Warning("%v", err)
		return
	}
	j.Log.Error("%v", err)
}

// Publish publishes a reading of the job, retained at QoS 2 on
// pioreactor/<unit>/<experiment>/<job_name>/<name>, as upstream publishes a
// job's readings (they are its published settings): a late subscriber sees
// the latest value, and the job clears the topic when it stops. A nil value
// clears it now. Numbers are published as Python prints them, booleans as
// True/False, strings as they are, dicts and lists as compact JSON. The
// name of a setting, and state, are the runtime's.
func (j *Job) Publish(name string, v any) error {
	if err := j.checkPublishName(name); err != nil {
		return err
	}
	if n := len(payload.EncodeSetting(v)); n > MaxPublishBytes {
		return fmt.Errorf("%s: a value of %d bytes is more than a reading takes (%d bytes)", name, n, MaxPublishBytes)
	}
	j.mu.Lock()
	declared := j.published[name]
	if !declared && len(j.published) >= MaxPublished {
		j.mu.Unlock()
		return fmt.Errorf("%s: a job publishes at most %d names, and this one has published %d already", name, MaxPublished, MaxPublished)
	}
	j.published[name] = true
	j.mu.Unlock()
	if !declared {
		if err := j.AddSetting(runtime.Setting{Name: name, Datatype: payload.TypeJSON}, nil); err != nil {
			return err
		}
	}
	j.SetValue(name, v)
	return nil
}

// checkPublishName refuses a name that is not a reading's.
func (j *Job) checkPublishName(name string) error {
	if !publishNameRe.MatchString(name) {
		return fmt.Errorf("name %q: want letters and digits joined by _, such as \"ph\" or \"od_alarm\" (it becomes the last level of %s)", name, j.Env().Topic(j.Experiment, j.Name, "<name>"))
	}
	if name == "state" {
		return fmt.Errorf("name %q: the job's $state is the runtime's", name)
	}
	for _, d := range j.prog.Settings() {
		if d.Name == name {
			return fmt.Errorf("name %q is a setting of %s: the job publishes its settings itself (change it with .../%s/%s/set)", name, j.Name, j.Name, name)
		}
	}
	return nil
}
