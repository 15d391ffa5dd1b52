package script

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/readings"
)

// LEDScript is a light program: a script that declares
//
//	automation_type = "led"
//
// and runs as the led_automation job (it implements leds.Program). Besides
// the globals every script may define (automation_name, settings), it
// defines:
//
//	def execute(): ...                       # evaluates the program
//	def on_setting_changed(name, value): ... # optional: a /set of a setting
//	def check_<setting>(value): ...          # optional: validates a value
//
// The job has no timer: execute() runs when the job becomes ready, when it
// wakes from sleeping, and when the time the script gave run_again_in(s)
// comes (or every duration minutes, for a script with a duration setting).
// on_setting_changed runs on each change through /set while the job is
// ready; what it returns becomes latest_event, as execute()'s does. A
// check_<setting> refuses a value with fail("..."), at start and at /set
// (the previous value stays), and keeps it by returning None (or returns
// the value to use instead). docs/leds.md is the reference.
type LEDScript struct {
	automationGlobals
	Path      string
	file      string
	onChanged *starlark.Function
	info      *scriptInfo
	store     *builtins.Store
}

var _ leds.Program = (*LEDScript)(nil)

// LoadLEDFile reads and loads a light program.
func LoadLEDFile(path, unit, experiment string) (*LEDScript, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	return LoadLED(path, src, unit, experiment)
}

// LoadLED loads a light program from source. A script of another family is
// refused, naming its family. Errors carry file:line:col.
func LoadLED(path string, src []byte, unit, experiment string) (*LEDScript, error) {
	m, err := LoadModule(path, src, unit, experiment)
	if err != nil {
		return nil, err
	}
	return LEDFromModule(m)
}

// LEDFromModule makes a light program of a loaded module of the led family.
func LEDFromModule(m *Module) (*LEDScript, error) {
	if m.Family.Type != "led" {
		return nil, fmt.Errorf("%s: a %s automation runs as %s, not led_automation (declare automation_type = \"led\" for a light program)", m.File, m.Family.Type, m.Family.Job)
	}
	file, globals := m.File, m.Globals
	g, err := readAutomationGlobals(file, globals, "a light program defines execute(), which runs when the job is ready and when run_again_in says")
	if err != nil {
		return nil, m.atSetting(err)
	}
	s := &LEDScript{Path: m.Path, file: file, automationGlobals: g, info: &scriptInfo{globals: globals, src: m.src}, store: m.Store}
	if v, ok := globals["on_setting_changed"]; ok {
		fn, ok := v.(*starlark.Function)
		if !ok || fn.NumParams() != 2 {
			return nil, fmt.Errorf("%s: on_setting_changed must be a function of (name, value)", file)
		}
		s.onChanged = fn
	}
	return s, nil
}

// Name implements leds.Program.
func (s *LEDScript) Name() string { return s.name }

// Settings implements leds.Program.
func (s *LEDScript) Settings() []automation.SettingDecl { return s.settings }

// CheckSetting implements leds.Program: it calls check_<name>(value), if
// the script defines it, on a thread that may read settings and the
// configuration and log, but not wait or drive the LEDs (it runs on the
// job's message actor).
func (s *LEDScript) CheckSetting(name string, v any) (any, error) {
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

// Execute implements leds.Program.
func (s *LEDScript) Execute(ctx context.Context, a *leds.Automation) (*payload.Event, error) {
	return s.call(ctx, a, s.execute, nil)
}

// SettingChanged implements leds.Program: on_setting_changed(name, value).
func (s *LEDScript) SettingChanged(ctx context.Context, a *leds.Automation, name string) (*payload.Event, error) {
	if s.onChanged == nil {
		return nil, nil
	}
	v, _ := a.Setting(name)
	return s.call(ctx, a, s.onChanged, starlark.Tuple{starlark.String(name), builtins.ToStarlark(v)})
}

// call runs fn on a new thread of the automation, stopped when ctx ends or
// by the guards, and turns what it returns into an event.
func (s *LEDScript) call(ctx context.Context, a *leds.Automation, fn *starlark.Function, args starlark.Tuple) (*payload.Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	th := &starlark.Thread{Name: s.name, Print: func(_ *starlark.Thread, msg string) { a.Log.Info("%s", msg) }}
	th.SetLocal(scriptInfoKey, s.info)
	builtins.SetHost(th, &ledHost{a: a, deadline: a.ExecDeadline(a.Env().Sched.Now())})
	builtins.SetContext(th, ctx)
	th.SetMaxExecutionSteps(a.Limits.MaxSteps)
	stop := context.AfterFunc(ctx, func() { th.Cancel("the automation was stopped") })
	defer stop()
	v, err := starlark.Call(th, fn, args, nil)
	if err != nil {
		return nil, FormatError(err, th, a.Limits.MaxSteps, "max_script_steps")
	}
	return (&Script{file: s.file}).toEvent(fn.Name(), v)
}

// Call runs one of the script's global functions with args on the
// automation, as execute() runs (a test calls trigger_leds(960) this way).
func (s *LEDScript) Call(ctx context.Context, a *leds.Automation, name string, args ...starlark.Value) (*payload.Event, error) {
	fn, ok := s.info.globals[name].(*starlark.Function)
	if !ok {
		return nil, fmt.Errorf("%s: no function %s", s.file, name)
	}
	return s.call(ctx, a, fn, args)
}

// Store is the script's store.
func (s *LEDScript) Store() *builtins.Store { return s.store }

// ledHost adapts an LED automation to builtins.LEDHost (with config_get and
// the readings), for one thread.
type ledHost struct {
	a        *leds.Automation
	deadline time.Time
}

var (
	_ builtins.LEDHost      = (*ledHost)(nil)
	_ builtins.ConfigHost   = (*ledHost)(nil)
	_ builtins.ReadingsHost = (*ledHost)(nil)
)

func (h *ledHost) Unit() string       { return h.a.Env().Unit }
func (h *ledHost) Experiment() string { return h.a.Experiment }
func (h *ledHost) Now() time.Time     { return h.a.Env().Sched.Now() }

func (h *ledHost) Sleep(ctx context.Context, seconds float64) error {
	return sleepWithin(ctx, h.a.Env().Sched, seconds, h.deadline, "the script", h.a.Limits.MaxExecute)
}

func (h *ledHost) Setting(name string) (any, bool) { return h.a.Setting(name) }
func (h *ledHost) Log(level, msg string) error     { return h.a.Log.Level(level, msg) }
func (h *ledHost) ConfigValue(section, key string) (string, bool) {
	return ConfigValue(h.a.Env().Config, section, key)
}
func (h *ledHost) Readings() *readings.Cache { return h.a.Readings() }

func (h *ledHost) SetLEDIntensity(ctx context.Context, ch string, v float64) (bool, error) {
	return h.a.SetLEDIntensity(ctx, ch, v)
}
func (h *ledHost) LEDIntensities() map[string]float64 { return h.a.LEDs().Intensities() }
func (h *ledHost) RunAgainIn(seconds float64) {
	h.a.RunAgainIn(time.Duration(seconds * float64(time.Second)))
}
func (h *ledHost) CancelRun() { h.a.RunAgainIn(-1) }
