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
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/readings"
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
	automationGlobals
	Path string
	file string
	info *scriptInfo
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
	g, err := readAutomationGlobals(m.File, m.Globals, "a temperature automation defines execute(), which runs after each new temperature")
	if err != nil {
		return nil, m.atSetting(err)
	}
	return &TemperatureScript{Path: m.Path, file: m.File, automationGlobals: g, info: &scriptInfo{globals: m.Globals, src: m.src}}, nil
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
	out, err := runCheck(th, fn, v, checkSteps, "the limit of a check function")
	if err != nil {
		return nil, err
	}
	if out == nil {
		return v, nil
	}
	f, ok := starlark.AsFloat(out)
	datatype := settingType(s.settings, name)
	switch datatype {
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
	return nil, fmt.Errorf("%s returned %s, which is not a %s", fn.Name(), out, datatype)
}

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
	return sleepWithin(ctx, h.a.Env().Sched, seconds, h.deadline, "execute()", h.maxExecute)
}

func (h *temperatureHost) Setting(name string) (any, bool) { return h.a.Setting(name) }
func (h *temperatureHost) Log(level, msg string) error     { return h.a.Log.Level(level, msg) }

func (h *temperatureHost) ConfigValue(section, key string) (string, bool) {
	return ConfigValue(h.a.Env().Config, section, key)
}

func (h *temperatureHost) UpdateHeater(dc float64) bool {
	return !h.checking && h.a.UpdateHeater(dc)
}

func (h *temperatureHost) UpdateHeaterWithDelta(delta float64) bool {
	return !h.checking && h.a.UpdateHeaterWithDelta(delta)
}

func (h *temperatureHost) HeaterDutyCycle() float64 { return h.a.HeaterDutyCycle() }

// Readings implements builtins.ReadingsHost: the unit's OD and growth-rate
// readings (latest_temperature is the job's own, a builtin of the family).
func (h *temperatureHost) Readings() *readings.Cache { return h.a.Readings() }

func (h *temperatureHost) LatestTemperature() (float64, bool) {
	t, _, ok := h.a.LatestTemperature()
	return t, ok
}

func (h *temperatureHost) MaxTargetTemperature() float64 { return h.a.Limits().MaxTargetTemperature() }
