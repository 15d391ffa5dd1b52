package script

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/customjob"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/scripthw"
	"github.com/piolab/pio/topic"
)

// JobScript is a custom job: a script that declares
//
//	job_name = "ph_reading"
//
// and runs as a job of that name (it implements customjob.Program). Besides
// the settings dict, it defines one or both of:
//
//	def run(): ...                              # every `interval` seconds
//	handlers = {"od_reading/ods": on_ods}       # functions of (topic, payload)
//
// and optionally check_<setting>(value) functions. An "interval" setting,
// a number of seconds, is the period of run(); without one, run() runs
// once when the job starts. Handler filters are relative to
// pioreactor/<unit>/<experiment>/ unless they start with pioreactor/.
// run() and the handlers publish the job's readings with publish(name,
// value) and return None. docs/jobs.md is the reference.
type JobScript struct {
	Path     string
	file     string
	name     string
	settings []automation.SettingDecl
	checks   map[string]*starlark.Function
	run      *starlark.Function // nil: no run()
	handlers []handler
	info     *scriptInfo
	store    *builtins.Store
}

var _ customjob.Program = (*JobScript)(nil)

// LoadJobFile reads and loads a custom job.
func LoadJobFile(path, unit, experiment string) (*JobScript, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	return LoadJob(path, src, unit, experiment)
}

// LoadJob loads a custom job from source. An automation is refused, naming
// its family. Errors carry file:line:col.
func LoadJob(path string, src []byte, unit, experiment string) (*JobScript, error) {
	m, err := LoadModule(path, src, unit, experiment)
	if err != nil {
		return nil, err
	}
	return JobFromModule(m)
}

// JobFromModule makes a custom job of a loaded module of the job family.
func JobFromModule(m *Module) (*JobScript, error) {
	s, err := jobFromModule(m)
	if err != nil {
		return nil, m.atSetting(err) // a setting's error at its entry, as check says it
	}
	return s, nil
}

func jobFromModule(m *Module) (*JobScript, error) {
	file, globals := m.File, m.Globals
	if m.Family.Type != JobType {
		return nil, fmt.Errorf("%s: a %s automation runs as %s, not as a custom job (declare job_name = \"<name>\" for a custom job)", file, m.Family.Type, m.Family.Job)
	}
	s := &JobScript{Path: m.Path, file: file, name: m.Family.Job, info: &scriptInfo{globals: globals, src: m.src}, store: m.Store}
	for _, g := range []struct{ name, why string }{
		{"automation_name", "a custom job is named by its job_name"},
		{"automation_type", "a custom job is not an automation"},
		{"execute", "a custom job's periodic function is run()"},
	} {
		if v, ok := globals[g.name]; ok {
			return nil, fmt.Errorf("%s: %s: %s; remove %s", positionOf(file, v), g.name, g.why, g.name)
		}
	}
	if v, ok := globals["run"]; ok {
		fn, ok := v.(*starlark.Function)
		if !ok {
			return nil, fmt.Errorf("%s: run must be a function, got %s", file, v.Type())
		}
		if fn.NumParams() > 0 {
			return nil, fmt.Errorf("%s: run() must take no parameters", fn.Position())
		}
		s.run = fn
	}
	var err error
	if s.settings, err = readSettings(file, globals); err != nil {
		return nil, err
	}
	if settingType(s.settings, "duration") != "" {
		// The settings layer reads duration as an automation's period, in
		// minutes, bounded and cast to a float: never what a job means by it.
		return nil, fmt.Errorf("%s: settings: %w", file, &settingError{name: "duration", msg: "duration is an automation's period in minutes (from 1 s to 30 days), not a custom job's: name this setting otherwise (such as \"pulse_seconds\"); a job's period is interval, in seconds"})
	}
	if t := settingType(s.settings, customjob.IntervalSetting); t != "" {
		if t != payload.TypeFloat && t != payload.TypeNumber && t != payload.TypeInteger {
			return nil, intervalError(file, fmt.Sprintf("interval is the period of run() in seconds: want a number, got a %s", t))
		}
		if s.run == nil {
			return nil, intervalError(file, "interval is the period of run(), and the script defines no run()")
		}
		for _, d := range s.settings {
			if d.Name == customjob.IntervalSetting && d.Default != nil {
				if err := customjob.CheckInterval(d.Default); err != nil {
					return nil, intervalError(file, err.Error())
				}
			}
		}
	}
	if s.checks, err = readChecks(file, globals, s.settings); err != nil {
		return nil, err
	}
	hs := &Script{file: file} // the handlers dict reads as a dosing automation's
	if err := hs.loadHandlers(globals); err != nil {
		return nil, err
	}
	s.handlers = hs.handlers
	if s.run == nil && len(s.handlers) == 0 {
		return nil, fmt.Errorf("%s: a custom job defines run() (every interval seconds), handlers (functions of MQTT messages), or both; this script defines neither", file)
	}
	return s, nil
}

// intervalError is an error of the interval setting's declaration (pio
// scripts check points at its entry in the settings dict).
func intervalError(file, msg string) error {
	return fmt.Errorf("%s: settings: %w", file, &settingError{name: customjob.IntervalSetting, msg: msg})
}

// positionOf is where a global function was defined, else the file.
func positionOf(file string, v starlark.Value) string {
	if fn, ok := v.(*starlark.Function); ok {
		return fn.Position().String()
	}
	return file
}

// Name implements customjob.Program: the job_name.
func (s *JobScript) Name() string { return s.name }

// Settings implements customjob.Program.
func (s *JobScript) Settings() []automation.SettingDecl { return s.settings }

// HasRun implements customjob.Program.
func (s *JobScript) HasRun() bool { return s.run != nil }

// Store is the script's store.
func (s *JobScript) Store() *builtins.Store { return s.store }

// Subscriptions implements customjob.Program.
func (s *JobScript) Subscriptions() []string {
	out := make([]string, len(s.handlers))
	for i, h := range s.handlers {
		out[i] = h.filter
	}
	return out
}

// CheckSetting implements customjob.Program: check_<name>(value), if the
// script defines it, on a thread of its own that may compute and fail but
// not reach the job (it runs before the job starts, and on its message
// actor).
func (s *JobScript) CheckSetting(name string, v any) (any, error) {
	fn := s.checks[name]
	if fn == nil {
		return v, nil
	}
	th := &starlark.Thread{Name: s.name + " " + fn.Name(), Print: func(*starlark.Thread, string) {}}
	th.SetLocal(scriptInfoKey, s.info)
	out, err := runCheck(th, fn, v, checkSteps, "the limit of a check function")
	if err != nil {
		return nil, err
	}
	if out == nil {
		return v, nil
	}
	return fromStarlark(fn.Name(), settingType(s.settings, name), out)
}

// Run implements customjob.Program: run() once.
func (s *JobScript) Run(ctx context.Context, j *customjob.Job) error {
	return s.call(ctx, j, s.run, nil)
}

// Handle implements customjob.Program: it calls every handler whose filter
// matches the message, with (topic, payload as a string).
func (s *JobScript) Handle(ctx context.Context, j *customjob.Job, m pubsub.Message) error {
	env := j.Env()
	for _, h := range s.handlers {
		if !topic.Match(dosing.FullFilter(env.Unit, j.Experiment, h.filter), m.Topic) {
			continue
		}
		if err := s.call(ctx, j, h.fn, starlark.Tuple{starlark.String(m.Topic), starlark.String(m.Payload)}); err != nil {
			return err
		}
	}
	return nil
}

// call runs fn on a new thread of the job, stopped when ctx ends or by the
// guards: max_script_steps, and max_execute_minutes, which ends the run's
// context at its deadline whatever it waits on (a sleep, a reading, an HTTP
// request). fn must return None.
func (s *JobScript) call(ctx context.Context, j *customjob.Job, fn *starlark.Function, args starlark.Tuple) error {
	what := fn.Name() + "()"
	clk := j.Env().Sched
	deadline := j.ExecDeadline(clk.Now())
	late := overdue(what, j.Limits.MaxExecute)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog(clk, ctx, deadline, func() { cancel(late) })
	th := &starlark.Thread{Name: s.name, Print: func(_ *starlark.Thread, msg string) { j.Log.Info("%s", msg) }}
	th.SetLocal(scriptInfoKey, s.info)
	builtins.SetHost(th, &jobHost{j: j, what: what, deadline: deadline})
	builtins.SetContext(th, ctx)
	th.SetMaxExecutionSteps(j.Limits.MaxSteps)
	stop := context.AfterFunc(ctx, func() { th.Cancel("the job was stopped") })
	defer stop()
	v, err := starlark.Call(th, fn, args, nil)
	if err != nil {
		err = FormatError(err, th, j.Limits.MaxSteps, "max_script_steps")
		var e *Error
		if context.Cause(ctx) == late && errors.As(err, &e) {
			return &Error{Pos: e.Pos, Msg: late.Error(), cause: err}
		}
		return err
	}
	if v != starlark.None {
		return fmt.Errorf("%s: %s returned %s; a job publishes with publish(name, value), and its functions return None", fn.Position(), what, v.Type())
	}
	return nil
}

// watchdog calls fire when the clock reaches at, unless ctx ends first.
func watchdog(clk sched.Scheduler, ctx context.Context, at time.Time, fire func()) {
	sig := clk.NewSignal()
	clk.Go("max_execute_minutes", func() {
		if notified, err := sig.WaitUntil(ctx, at); err == nil && !notified {
			fire()
		}
	})
}

// jobHost adapts a custom job to builtins.JobHost (with config_get, the
// readings and the hw module), for one thread.
type jobHost struct {
	j        *customjob.Job
	what     string // run() or the handler's name
	deadline time.Time
}

var (
	_ builtins.JobHost      = (*jobHost)(nil)
	_ builtins.ConfigHost   = (*jobHost)(nil)
	_ builtins.ReadingsHost = (*jobHost)(nil)
	_ builtins.HardwareHost = (*jobHost)(nil)
	_ builtins.NetHost      = (*jobHost)(nil)
)

func (h *jobHost) Unit() string       { return h.j.Env().Unit }
func (h *jobHost) Experiment() string { return h.j.Experiment }
func (h *jobHost) Now() time.Time     { return h.j.Env().Sched.Now() }

func (h *jobHost) Sleep(ctx context.Context, seconds float64) error {
	return sleepWithin(ctx, h.j.Env().Sched, seconds, h.deadline, h.what, h.j.Limits.MaxExecute)
}

func (h *jobHost) Setting(name string) (any, bool) { return h.j.Setting(name) }
func (h *jobHost) Log(level, msg string) error     { return h.j.Log.Level(level, msg) }
func (h *jobHost) ConfigValue(section, key string) (string, bool) {
	return ConfigValue(h.j.Env().Config, section, key)
}
func (h *jobHost) Readings() *readings.Cache { return h.j.Readings() }

// Hardware implements builtins.HardwareHost.
func (h *jobHost) Hardware() (*scripthw.Session, error) {
	return jobHardware(h.j.Job, func() scripthw.Devices { return JobHardwareDevices(h.j.Job) })
}

// NetConfig, JobName and Publish implement builtins.NetHost: the http and
// mqtt modules, granted by the job's configuration.
func (h *jobHost) NetConfig() *config.Config { return h.j.Env().Config }
func (h *jobHost) JobName() string           { return h.j.Name }
func (h *jobHost) Publish(topic string, payload []byte, qos byte, retain bool) error {
	return jobPublish(h.j.Job, topic, payload, qos, retain)
}

// PublishReading implements builtins.JobHost.
func (h *jobHost) PublishReading(name string, v starlark.Value) error {
	if f, ok := v.(starlark.Float); ok && (math.IsNaN(float64(f)) || math.IsInf(float64(f), 0)) {
		return fmt.Errorf("%s: value %v is not a finite number", name, f)
	}
	x, err := toJSON(v)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if f, ok := x.(payload.Float); ok {
		x = float64(f)
	}
	return h.j.Publish(name, x)
}
