package script

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/temperature"
)

// TemperatureScript is a temperature automation: a script that declares
//
//	automation_type = "temperature"
//
// and runs as the temperature_automation job (it implements
// temperature.Program). Besides automation_name (default: the file's stem)
// and the settings dict, it defines:
//
//	def execute(): ...               # runs after each new temperature
//	def check_<setting>(value): ...  # optional: validates a value
//
// execute() runs when the job has measured the temperature: once at start,
// then after each inference (every 200 s). A setting declared with None is
// required: its check_<setting> sees None when none is given, and without
// a check the job refuses to start. A check refuses a value with
// fail("..."), at start and at /set (the previous value stays), keeps it
// by returning None, or returns the value to use instead. docs/temperature.md
// is the reference.
type TemperatureScript struct {
	Path     string
	file     string
	name     string
	settings []automation.SettingDecl
	execute  *starlark.Function
	checks   map[string]*starlark.Function
	info     *scriptInfo
}

var (
	_ temperature.Program        = (*TemperatureScript)(nil)
	_ temperature.SettingChecker = (*TemperatureScript)(nil)
)

// LoadTemperatureFile reads and loads a temperature automation.
func LoadTemperatureFile(path, unit, experiment string) (*TemperatureScript, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	return LoadTemperature(path, src, unit, experiment)
}

// LoadTemperature loads a temperature automation from source. A script of
// another family is refused, naming its family. Errors carry file:line:col.
func LoadTemperature(path string, src []byte, unit, experiment string) (*TemperatureScript, error) {
	m, err := LoadModule(path, src, unit, experiment)
	if err != nil {
		return nil, err
	}
	return TemperatureFromModule(m)
}

// TemperatureFromModule makes a temperature automation of a loaded module
// of the temperature family.
func TemperatureFromModule(m *Module) (*TemperatureScript, error) {
	if m.Family.Type != "temperature" {
		return nil, fmt.Errorf("%s: a %s automation runs as %s, not temperature_automation (declare automation_type = \"temperature\" for a temperature automation)", m.File, m.Family.Type, m.Family.Job)
	}
	file, globals := m.File, m.Globals
	s := &TemperatureScript{Path: m.Path, file: file, info: &scriptInfo{globals: globals, src: m.src}}
	s.name = strings.TrimSuffix(file, filepath.Ext(file))
	v, declared := globals["automation_name"]
	if declared {
		str, ok := v.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: automation_name: got %s, want a string", file, v.Type())
		}
		s.name = string(str)
	}
	if !automationName.MatchString(s.name) || s.name == "config" {
		if !declared {
			return nil, fmt.Errorf("%s: the automation's name comes from the file name, and %q is not lowercase words joined by _ (nor \"config\"): set automation_name = %q in the script or rename the file to %s%s",
				file, s.name, suggestName(s.name), suggestName(s.name), filepath.Ext(file))
		}
		return nil, fmt.Errorf("%s: automation_name %q: want lowercase words joined by _ (and not \"config\"), such as %q", file, s.name, suggestName(s.name))
	}

	fn, ok := globals["execute"].(*starlark.Function)
	switch {
	case !ok && globals["execute"] != nil:
		return nil, fmt.Errorf("%s: execute must be a function", file)
	case !ok:
		return nil, fmt.Errorf("%s: a temperature automation defines execute(), which runs after each new temperature", file)
	case fn.NumParams() > 0:
		return nil, fmt.Errorf("%s: %s: execute() must take no parameters", file, fn.Position())
	}
	s.execute = fn

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
			var decl automation.SettingDecl
			var err error
			if item[1] == starlark.None { // a required number
				decl, err = settingDecl(string(k), starlark.Float(0))
				decl.Default = nil
			} else {
				decl, err = settingDecl(string(k), item[1])
			}
			if err != nil {
				return nil, fmt.Errorf("%s: settings: %v", file, err)
			}
			s.settings = append(s.settings, decl)
		}
	}
	if err := s.loadChecks(globals); err != nil {
		return nil, err
	}
	return s, nil
}

// loadChecks reads the check_<setting>(value) functions.
func (s *TemperatureScript) loadChecks(globals starlark.StringDict) error {
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

// Name implements temperature.Program.
func (s *TemperatureScript) Name() string { return s.name }

// Settings implements temperature.Program.
func (s *TemperatureScript) Settings() []automation.SettingDecl { return s.settings }

// Execute implements temperature.Program.
func (s *TemperatureScript) Execute(ctx context.Context, a *temperature.Automation) (*payload.Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	th := s.thread(ctx, a, false)
	stop := context.AfterFunc(ctx, func() { th.Cancel("the automation was stopped") })
	defer stop()
	v, err := starlark.Call(th, s.execute, nil, nil)
	if err != nil {
		return nil, FormatError(err, th, temperatureSteps(a), "max_script_steps")
	}
	return (&Script{file: s.file}).toEvent(s.execute.Name(), v)
}

// CheckSetting implements temperature.SettingChecker: check_<name>(value),
// if the script defines it, on a thread that may read settings and the
// configuration and log, but not wait or drive the heater (it runs on the
// job's message actor).
func (s *TemperatureScript) CheckSetting(ctx context.Context, a *temperature.Automation, name string, v any) (any, error) {
	fn := s.checks[name]
	if fn == nil {
		return v, nil
	}
	th := s.thread(ctx, a, true)
	th.SetMaxExecutionSteps(tempCheckSteps)
	out, err := starlark.Call(th, fn, starlark.Tuple{builtins.ToStarlark(v)}, nil)
	if err != nil {
		err = FormatError(err, th, tempCheckSteps, "the limit of a check function")
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
	f, ok := starlark.AsFloat(out)
	for _, d := range s.settings {
		if d.Name != name {
			continue
		}
		switch d.Datatype {
		case payload.TypeFloat:
			if ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f, nil
			}
		case payload.TypeNumber:
			if n, isInt := out.(starlark.Int); isInt {
				if i, fits := n.Int64(); fits {
					return i, nil
				}
			}
			if ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f, nil
			}
		case payload.TypeBoolean:
			if b, isBool := out.(starlark.Bool); isBool {
				return bool(b), nil
			}
		case payload.TypeString:
			if str, isStr := out.(starlark.String); isStr {
				return string(str), nil
			}
		}
		return nil, fmt.Errorf("%s returned %s, which is not a %s", fn.Name(), out, d.Datatype)
	}
	return v, nil
}

// tempCheckSteps bounds the Starlark steps of a check function.
const tempCheckSteps = 1_000_000

// temperatureSteps bounds the Starlark steps of one execute():
// [dosing_automation.config] max_script_steps, every automation's guard.
func temperatureSteps(a *temperature.Automation) uint64 {
	o, err := a.Env().Options()
	if err != nil || o.Dosing.MaxScriptSteps == 0 {
		return 100_000_000
	}
	return o.Dosing.MaxScriptSteps
}

func (s *TemperatureScript) thread(ctx context.Context, a *temperature.Automation, checking bool) *starlark.Thread {
	th := &starlark.Thread{Name: s.name, Print: func(_ *starlark.Thread, msg string) { a.Log.Info("%s", msg) }}
	th.SetLocal(scriptInfoKey, s.info)
	h := &temperatureHost{a: a, checking: checking}
	if o, err := a.Env().Options(); err == nil {
		h.maxExecute = o.Dosing.MaxExecute
	}
	h.deadline = a.Env().Sched.Now().Add(h.maxExecute)
	builtins.SetHost(th, h)
	builtins.SetContext(th, ctx)
	th.SetMaxExecutionSteps(temperatureSteps(a))
	return th
}

// temperatureHost adapts a temperature automation to
// builtins.TemperatureHost (with config_get), for one thread.
type temperatureHost struct {
	a *temperature.Automation
	// checking: a setting's check, on the job's message actor, which must
	// not wait or drive the heater.
	checking   bool
	deadline   time.Time
	maxExecute time.Duration
}

var (
	_ builtins.TemperatureHost = (*temperatureHost)(nil)
	_ builtins.ConfigHost      = (*temperatureHost)(nil)
)

func (h *temperatureHost) Unit() string       { return h.a.Env().Unit }
func (h *temperatureHost) Experiment() string { return h.a.Experiment }
func (h *temperatureHost) Now() time.Time     { return h.a.Env().Sched.Now() }

var errInCheck = errors.New("not available in a setting's check function, which must not wait or drive the heater (use it from execute())")

func (h *temperatureHost) Sleep(ctx context.Context, seconds float64) error {
	if h.checking {
		return errInCheck
	}
	clk := h.a.Env().Sched
	until := clk.Now().Add(time.Duration(seconds * float64(time.Second)))
	if until.After(h.deadline) {
		if err := clk.SleepUntil(ctx, h.deadline); err != nil {
			return err
		}
		return fmt.Errorf("execute() ran past its limit of %v (max_execute_minutes) and was stopped", h.maxExecute)
	}
	return clk.SleepUntil(ctx, until)
}

func (h *temperatureHost) Setting(name string) (any, bool) { return h.a.Setting(name) }
func (h *temperatureHost) Log(level, msg string) error     { return h.a.Log.Level(level, msg) }

func (h *temperatureHost) ConfigValue(section, key string) (string, bool) {
	c := h.a.Env().Config
	if c == nil {
		return "", false
	}
	sec := c.Section(section)
	if !sec.Has(key) {
		return "", false
	}
	return sec.String(key), true
}

func (h *temperatureHost) UpdateHeater(dc float64) bool {
	return !h.checking && h.a.UpdateHeater(dc)
}

func (h *temperatureHost) UpdateHeaterWithDelta(delta float64) bool {
	return !h.checking && h.a.UpdateHeaterWithDelta(delta)
}

func (h *temperatureHost) HeaterDutyCycle() float64 { return h.a.HeaterDutyCycle() }

func (h *temperatureHost) LatestTemperature() (float64, bool) {
	t, _, ok := h.a.LatestTemperature()
	return t, ok
}

func (h *temperatureHost) MaxTargetTemperature() float64 { return h.a.Limits().MaxTargetTemperature() }
