package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	Path      string
	file      string
	name      string
	settings  []automation.SettingDecl
	execute   *starlark.Function
	onChanged *starlark.Function
	checks    map[string]*starlark.Function
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
	s := &LEDScript{Path: m.Path, file: file, info: &scriptInfo{globals: globals, src: m.src}, store: m.Store}
	name, err := ledScriptName(file, globals)
	if err != nil {
		return nil, err
	}
	s.name = name

	fn, ok := globals["execute"].(*starlark.Function)
	switch {
	case !ok && globals["execute"] != nil:
		return nil, fmt.Errorf("%s: execute must be a function", file)
	case !ok:
		return nil, fmt.Errorf("%s: a light program defines execute(), which runs when the job is ready and when run_again_in says", file)
	case fn.NumParams() > 0:
		return nil, fmt.Errorf("%s: %s: execute() must take no parameters", file, fn.Position())
	}
	s.execute = fn
	if v, ok := globals["on_setting_changed"]; ok {
		fn, ok := v.(*starlark.Function)
		if !ok || fn.NumParams() != 2 {
			return nil, fmt.Errorf("%s: on_setting_changed must be a function of (name, value)", file)
		}
		s.onChanged = fn
	}
	if v, ok := globals["settings"]; ok {
		d, ok := v.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: settings: got %s, want a dict of name: default", file, v.Type())
		}
		for _, item := range d.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: settings: key %s is not a string", file, item[0])
			}
			decl, err := settingDecl(string(k), item[1])
			if err != nil {
				return nil, fmt.Errorf("%s: settings: %v", file, err)
			}
			s.settings = append(s.settings, decl)
		}
	}
	if err := s.loadLEDChecks(globals); err != nil {
		return nil, err
	}
	return s, nil
}

// ledScriptName is the automation_name global, else the file's stem.
func ledScriptName(file string, globals starlark.StringDict) (string, error) {
	name := strings.TrimSuffix(file, filepath.Ext(file))
	v, declared := globals["automation_name"]
	if declared {
		str, ok := v.(starlark.String)
		if !ok {
			return "", fmt.Errorf("%s: automation_name: got %s, want a string", file, v.Type())
		}
		name = string(str)
	}
	if !automationName.MatchString(name) || name == "config" {
		if !declared {
			return "", fmt.Errorf("%s: the automation's name comes from the file name, and %q is not lowercase words joined by _ (nor \"config\"): set automation_name = %q in the script or rename the file to %s%s",
				file, name, suggestName(name), suggestName(name), filepath.Ext(file))
		}
		return "", fmt.Errorf("%s: automation_name %q: want lowercase words joined by _ (and not \"config\"), such as %q", file, name, suggestName(name))
	}
	return name, nil
}

// loadLEDChecks reads the check_<setting>(value) functions.
func (s *LEDScript) loadLEDChecks(globals starlark.StringDict) error {
	names := make([]string, 0, len(globals))
	for name := range globals {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		setting, ok := strings.CutPrefix(name, "check_")
		if !ok {
			continue
		}
		fn, ok := globals[name].(*starlark.Function)
		if !ok || fn.NumParams() != 1 {
			return fmt.Errorf("%s: %s must be a function of one parameter (the value)", s.file, name)
		}
		declared := false
		for _, d := range s.settings {
			declared = declared || d.Name == setting
		}
		if !declared {
			return fmt.Errorf("%s: %s: there is no setting %q in the settings dict", s.file, fn.Position(), setting)
		}
		if s.checks == nil {
			s.checks = map[string]*starlark.Function{}
		}
		s.checks[setting] = fn
	}
	return nil
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
	th.SetMaxExecutionSteps(checkSteps)
	out, err := starlark.Call(th, fn, starlark.Tuple{builtins.ToStarlark(v)}, nil)
	if err != nil {
		err = FormatError(err, th, checkSteps, "the limit of a check function")
		var se *Error
		if errors.As(err, &se) {
			if msg, ok := strings.CutPrefix(se.Msg, "fail: "); ok {
				return nil, errors.New(msg) // the script's own words
			}
		}
		return nil, err
	}
	if out == starlark.None {
		return v, nil
	}
	var datatype string
	for _, d := range s.settings {
		if d.Name == name {
			datatype = d.Datatype
		}
	}
	return checkedValue(fn.Name(), datatype, out)
}

// checkSteps bounds the Starlark steps of a check function.
const checkSteps = 1_000_000

// checkedValue converts what a check returned to the setting's datatype.
func checkedValue(fn, datatype string, v starlark.Value) (any, error) {
	switch datatype {
	case payload.TypeFloat, payload.TypeNumber:
		if n, ok := v.(starlark.Int); ok && datatype == payload.TypeNumber {
			if i, ok := n.Int64(); ok {
				return i, nil
			}
		}
		if f, ok := starlark.AsFloat(v); ok && f == f && f < 1e308 && f > -1e308 {
			return f, nil
		}
		return nil, fmt.Errorf("%s returned %s, want a finite number", fn, v)
	case payload.TypeBoolean:
		if b, ok := v.(starlark.Bool); ok {
			return bool(b), nil
		}
	case payload.TypeString:
		if str, ok := v.(starlark.String); ok {
			return string(str), nil
		}
	}
	return nil, fmt.Errorf("%s returned %s, which is not a %s", fn, v.Type(), datatype)
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
	clk := h.a.Env().Sched
	until := clk.Now().Add(time.Duration(seconds * float64(time.Second)))
	if until.After(h.deadline) {
		if err := clk.SleepUntil(ctx, h.deadline); err != nil {
			return err
		}
		return fmt.Errorf("the script ran past its limit of %v (max_execute_minutes) and was stopped", h.a.Limits.MaxExecute)
	}
	return clk.SleepUntil(ctx, until)
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
