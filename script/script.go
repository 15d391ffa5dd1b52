// Package script loads Starlark automation scripts and runs them as dosing
// automations (it implements dosing.Program).
//
// A script may define, at its top level:
//
//	automation_name = "three_pumps"          # default: the file's stem
//	settings = {"duration": 20.0, ...}       # published, settable settings
//	def execute(): ...                       # the periodic body
//	def add_<name>_to_bioreactor(ml, unit, experiment, source_of_event): ...
//	def remove_waste_from_bioreactor(ml, unit, experiment, source_of_event): ...
//
// Pump functions are called by name or by position (pumpfunc.go). Module
// globals are frozen after loading; scripts read settings with setting(name)
// (a read of the settings dict is refused at load, settingsread.go) and keep
// state in store. Errors that Python habits cause carry a hint of what to
// write instead (hints.go). docs/scripting.md is the reference.
package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/topic"
)

// FileOptions are the Starlark dialect of pio scripts: while loops, and
// if/for at the top level, are allowed; recursion is not, so runaway
// recursion fails at once with a clear message.
var FileOptions = &syntax.FileOptions{While: true, TopLevelControl: true, Set: true}

// LoadSteps bounds the Starlark steps of a script's top level.
const LoadSteps = 10_000_000

// Script is a loaded automation script.
type Script struct {
	automationGlobals
	Path    string
	file    string // base name, used in positions
	globals starlark.StringDict
	store   *builtins.Store
	pumps   map[string]pumpCall // by function name
	info    *scriptInfo
	// handlers maps topic filters to on-message functions (the handlers dict).
	handlers []handler
	runOn    *runOn // run_on: event-driven (trigger.go)
}

type handler struct {
	filter string
	fn     *starlark.Function
}

var _ dosing.Program = (*Script)(nil)

// LoadFile reads and loads a script.
func LoadFile(path, unit, experiment string) (*Script, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	return Load(path, src, unit, experiment)
}

var automationName = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// Module is a loaded script of any family: its frozen globals.
type Module struct {
	Path    string
	File    string // base name, used in positions
	Family  Family
	Globals starlark.StringDict
	Store   *builtins.Store
	// Header is the script's api_version, metadata and requires, with the
	// warnings a start logs (header.go).
	Header Header
	// Loads are the files of the script's own modules that its load
	// statements ran (load.go), as opened, in load order.
	Loads []string
	src   []byte
}

// LoadModule runs a script's top level with the builtins of its family
// (DetectFamily) and returns its globals. Errors carry file:line:col, and a
// hint when Python habits caused them. A script that reads the settings
// dict (checkSettingsReads) is refused before it runs.
func LoadModule(path string, src []byte, unit, experiment string) (*Module, error) {
	file := filepath.Base(path)
	f, err := FileOptions.Parse(file, src, 0)
	if err != nil {
		return nil, parseError(err, src)
	}
	header, err := headerError(f) // api_version, metadata, requires: header.go
	if err != nil {
		return nil, err
	}
	fam, declaredAt, err := detectFamily(f)
	if err != nil {
		return nil, err
	}
	universe := builtins.Common(unit, experiment)
	for k, v := range fam.Builtins() {
		universe[k] = v
	}
	prog, err := starlark.FileProgram(f, universe.Has)
	if err != nil {
		err = FormatError(err, nil, 0, "")
		if se, ok := err.(*Error); ok {
			err = explainUndefined(se, fam, declaredAt)
		}
		return nil, err
	}
	if err := checkSettingsReads(f); err != nil {
		return nil, err
	}
	th := &starlark.Thread{Name: "load " + file, Print: func(_ *starlark.Thread, msg string) { fmt.Fprintln(os.Stderr, msg) }}
	th.SetMaxExecutionSteps(LoadSteps)
	ld := newLoader(path, universe, fam, declaredAt, LoadSteps, "the limit of a script's top level")
	th.Load = ld.load
	globals, err := prog.Init(th, universe)
	globals.Freeze()
	if err != nil {
		return nil, FormatError(err, th, LoadSteps, "the limit of a script's top level")
	}
	return &Module{Path: path, File: file, Family: fam, Globals: globals, Store: universe["store"].(*builtins.Store), Header: header, Loads: ld.loads, src: src}, nil
}

// Load loads a dosing automation from source. A script of another family
// is refused, naming its family. Errors carry file:line:col.
func Load(path string, src []byte, unit, experiment string) (*Script, error) {
	m, err := LoadModule(path, src, unit, experiment)
	if err != nil {
		return nil, err
	}
	return DosingFromModule(m)
}

// DosingFromModule makes a dosing automation of a loaded module of the
// dosing family.
func DosingFromModule(m *Module) (*Script, error) {
	if m.Family.Type != "dosing" {
		return nil, fmt.Errorf("%s: a %s automation runs as %s, not as a dosing automation (pio run-script and pio simulate run each family as its job)", m.File, m.Family.Type, m.Family.Job)
	}
	file, globals := m.File, m.Globals
	g, err := readAutomationGlobals(file, globals, "")
	if err != nil {
		return nil, m.atSetting(err)
	}
	s := &Script{Path: m.Path, file: file, automationGlobals: g, store: m.Store, globals: globals,
		info: &scriptInfo{globals: globals, src: m.src}}
	if err := s.loadHandlers(globals); err != nil {
		return nil, err
	}
	if s.execute == nil && len(s.handlers) == 0 {
		return nil, fmt.Errorf("%s: the script defines no execute() function (and no handlers)", file)
	}
	pumps, err := bindPumpFuncs(file, globals)
	if err != nil {
		return nil, err
	}
	s.pumps = pumps
	if err := s.loadRunOn(globals); err != nil {
		return nil, err
	}
	return s, nil
}

var settingNameRe = regexp.MustCompile(`^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$`)

// settingDecl reads one entry of the settings dict: a plain default, or a
// dict with a schema (schemaDecl, schema.go).
func settingDecl(name string, v starlark.Value) (dosing.SettingDecl, error) {
	if !settingNameRe.MatchString(name) || name == "state" || name == "automation_name" || name == "latest_event" {
		return dosing.SettingDecl{}, &settingError{name: name, msg: fmt.Sprintf("setting name %q: want letters and digits joined by _, not state, automation_name or latest_event", name)}
	}
	if d, ok := v.(*starlark.Dict); ok {
		return schemaDecl(name, d)
	}
	return plainDecl(name, v)
}

// plainDecl declares a setting by its default alone.
func plainDecl(name string, v starlark.Value) (dosing.SettingDecl, error) {
	fail := func(format string, args ...any) (dosing.SettingDecl, error) {
		return dosing.SettingDecl{}, &settingError{name: name, msg: fmt.Sprintf(format, args...)}
	}
	switch x := v.(type) {
	case starlark.NoneType:
		// A required number: no value until --<name> or /set gives one (a
		// check_<name> function can refuse to start without it).
		return dosing.SettingDecl{Name: name, Datatype: payload.TypeFloat, Default: nil}, nil
	case starlark.Float:
		f := float64(x)
		if f != f || f > 1e308 || f < -1e308 {
			return fail("setting %s: default must be finite", name)
		}
		return dosing.SettingDecl{Name: name, Datatype: payload.TypeFloat, Default: f}, nil
	case starlark.Int:
		n, ok := x.Int64()
		if !ok {
			return fail("setting %s: integer too large", name)
		}
		if name == "duration" { // minutes: always a float, as upstream publishes it
			return dosing.SettingDecl{Name: name, Datatype: payload.TypeFloat, Default: float64(n)}, nil
		}
		// Numbers are numbers: an int default takes any finite number
		// ("0.5"); whole numbers stay ints ("3").
		return dosing.SettingDecl{Name: name, Datatype: payload.TypeNumber, Default: n}, nil
	case starlark.Bool:
		return dosing.SettingDecl{Name: name, Datatype: payload.TypeBoolean, Default: bool(x)}, nil
	case starlark.String:
		return dosing.SettingDecl{Name: name, Datatype: payload.TypeString, Default: string(x)}, nil
	}
	return fail("setting %s: default %s is a %s; want a number, bool, string, None (a required number) or a dict with a schema", name, v, v.Type())
}

// Name implements dosing.Program.
func (s *Script) Name() string { return s.name }

// Settings implements dosing.Program.
func (s *Script) Settings() []dosing.SettingDecl { return s.settings }

func (s *Script) newThread(ctx context.Context, a *dosing.Automation, deadline time.Time) *starlark.Thread {
	th := &starlark.Thread{Name: s.name, Print: func(_ *starlark.Thread, msg string) { a.Log.Info("%s", msg) }}
	th.SetLocal(scriptInfoKey, s.info)
	builtins.SetHost(th, &host{s: s, a: a, th: th, deadline: deadline,
		unit: starlark.String(a.Env().Unit), experiment: starlark.String(a.Experiment), source: starlark.String(a.SourceOfEvent())})
	builtins.SetContext(th, ctx)
	th.SetMaxExecutionSteps(a.Limits.MaxSteps)
	return th
}

// loadHandlers reads the optional top-level dict
//
//	handlers = {"growth_rate_calculating/growth_rate": on_growth_rate}
//
// of topic filters (relative to pioreactor/<unit>/<experiment>/ unless they
// start with pioreactor/) to functions of (topic, payload).
func (s *Script) loadHandlers(globals starlark.StringDict) error {
	v, ok := globals["handlers"]
	if !ok {
		return nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("%s: handlers: got %s, want a dict of topic filter: function", s.file, v.Type())
	}
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok || k == "" {
			return fmt.Errorf("%s: handlers: key %s is not a topic filter string", s.file, kv[0])
		}
		fn, ok := kv[1].(*starlark.Function)
		if !ok || fn.NumParams() != 2 {
			return fmt.Errorf("%s: handlers[%s]: want a function of (topic, payload), got %s", s.file, k, kv[1].String())
		}
		s.handlers = append(s.handlers, handler{filter: string(k), fn: fn})
	}
	return nil
}

// Subscriptions implements dosing.MessageHandler.
func (s *Script) Subscriptions() []string {
	out := make([]string, len(s.handlers))
	for i, h := range s.handlers {
		out[i] = h.filter
	}
	return out
}

// Handle implements dosing.MessageHandler: it calls every handler whose
// filter matches the message, with (topic, payload as a string), and returns
// the last event they returned.
func (s *Script) Handle(ctx context.Context, a *dosing.Automation, m pubsub.Message) (*payload.Event, error) {
	env := a.Env()
	var last *payload.Event
	for _, h := range s.handlers {
		if !topic.Match(dosing.FullFilter(env.Unit, a.Experiment, h.filter), m.Topic) {
			continue
		}
		ev, err := s.call(ctx, a, h.fn, starlark.Tuple{starlark.String(m.Topic), starlark.String(m.Payload)})
		if err != nil {
			return nil, err
		}
		if ev != nil {
			last = ev
		}
	}
	return last, nil
}

// Execute implements dosing.Program.
func (s *Script) Execute(ctx context.Context, a *dosing.Automation) (*payload.Event, error) {
	if s.execute == nil {
		return nil, nil // an event-driven script
	}
	return s.call(ctx, a, s.execute, nil)
}

// call runs fn on a new thread of the automation, stopped when ctx ends or
// by the guards, and turns what it returns into an event.
func (s *Script) call(ctx context.Context, a *dosing.Automation, fn *starlark.Function, args starlark.Tuple) (*payload.Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	th := s.newThread(ctx, a, a.ExecDeadline(a.Env().Sched.Now()))
	stop := context.AfterFunc(ctx, func() { th.Cancel("the automation was stopped") })
	defer stop()
	v, err := starlark.Call(th, fn, args, nil)
	if err != nil {
		return nil, FormatError(err, th, a.Limits.MaxSteps, "max_script_steps")
	}
	return s.toEvent(fn.Name(), v)
}

func (s *Script) toEvent(fn string, v starlark.Value) (*payload.Event, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		return &payload.Event{Name: payload.EventNoEvent, Message: string(x)}, nil
	case *starlarkstruct.Struct:
		if x.Constructor() == builtins.EventConstructor {
			ev := &payload.Event{}
			n, _ := x.Attr("name")
			ev.Name = string(n.(starlark.String))
			if m, _ := x.Attr("message"); m != starlark.None {
				ev.Message = string(m.(starlark.String))
			}
			if d, _ := x.Attr("data"); d != starlark.None {
				data, err := toJSON(d)
				if err != nil {
					return nil, fmt.Errorf("%s: %s(): event data: %v", s.file, fn, err)
				}
				ev.Data = data
			}
			return ev, nil
		}
	}
	return nil, fmt.Errorf("%s: %s() returned %s; return None, a string, or event(...)", s.file, fn, v.Type())
}

func toJSON(v starlark.Value) (any, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		n, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("integer too large")
		}
		return n, nil
	case starlark.Float:
		return payload.Float(x), nil
	case starlark.String:
		return string(x), nil
	case *starlark.List, starlark.Tuple:
		var out []any
		it := starlark.Iterate(x)
		defer it.Done()
		var e starlark.Value
		for it.Next(&e) {
			j, err := toJSON(e)
			if err != nil {
				return nil, err
			}
			out = append(out, j)
		}
		return out, nil
	case *starlark.Dict:
		// In the order the script built it, as upstream's dicts are.
		out := make(payload.Object, 0, x.Len())
		for _, kv := range x.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is not a string", kv[0])
			}
			j, err := toJSON(kv[1])
			if err != nil {
				return nil, err
			}
			out = append(out, payload.Field{Key: string(k), Value: j})
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode %s as JSON", v.Type())
}

// FormatError renders an error as "file:line:col: message", from the
// innermost script frame, explains step-limit and cancellation stops, and
// adds a hint of what to write instead when a Python habit caused the error
// (hints.go; with the script's own names when th runs a loaded Script).
func FormatError(err error, th *starlark.Thread, maxSteps uint64, limit string) error {
	var lf *loadFailure // already placed by the loader (load.go)
	if errors.As(err, &lf) {
		return lf.err
	}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		msg := builtins.FormatHint(ee.Msg)
		if th != nil && maxSteps > 0 && th.ExecutionSteps() >= maxSteps && strings.Contains(msg, "too many steps") {
			msg = fmt.Sprintf("stopped after %d Starlark steps (%s): does a loop never end?", maxSteps, limit)
		}
		var info *scriptInfo
		if th != nil {
			info, _ = th.Local(scriptInfoKey).(*scriptInfo)
		}
		if fr, ok := errorFrame(ee.CallStack); ok { // load.go
			return &Error{Pos: fr.Pos.String(), Msg: runHint(msg, fr.Pos, info), cause: err}
		}
		return &Error{Msg: msg, cause: err}
	}
	var se syntax.Error
	if errors.As(err, &se) {
		pos, msg := syntaxHint(se.Pos, se.Msg, nil)
		return &Error{Pos: pos.String(), Msg: msg, cause: err}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		return &Error{Pos: rl[0].Pos.String(), Msg: rl[0].Msg, cause: err}
	}
	return err
}

// parseError formats a parse error of src, with a hint that can quote src.
func parseError(err error, src []byte) error {
	var se syntax.Error
	if errors.As(err, &se) {
		pos, msg := syntaxHint(se.Pos, se.Msg, src)
		return &Error{Pos: pos.String(), Msg: msg, cause: err}
	}
	return FormatError(err, nil, 0, "")
}

// Error is a script error with its position.
type Error struct {
	Pos   string // file:line:col, empty if unknown
	Msg   string
	cause error
}

func (e *Error) Error() string {
	if e.Pos == "" {
		return e.Msg
	}
	return e.Pos + ": " + e.Msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.cause }

// host adapts a dosing automation to builtins.Host, for one thread.
type host struct {
	s        *Script
	a        *dosing.Automation
	th       *starlark.Thread
	deadline time.Time
	// The fixed arguments of pump functions, boxed once.
	unit, experiment, source starlark.Value
}

func (h *host) Unit() string       { return h.a.Env().Unit }
func (h *host) Experiment() string { return h.a.Experiment }
func (h *host) Now() time.Time     { return h.a.Env().Sched.Now() }

func (h *host) ExecuteIOAction(ctx context.Context, waste float64, doses []payload.Dose) ([]payload.Dose, error) {
	return h.a.ExecuteIOAction(ctx, waste, doses, func(name string) (dosing.PumpFunc, bool) {
		return h.s.pumpFunc(h, name)
	})
}

func (h *host) Pump(ctx context.Context, device string, ml, duration *float64) (float64, error) {
	return h.a.Pump(ctx, device, ml, duration)
}

func (h *host) Sleep(ctx context.Context, seconds float64) error {
	return sleepWithin(ctx, h.a.Env().Sched, seconds, h.deadline, "execute()", h.a.Limits.MaxExecute)
}

func (h *host) Setting(name string) (any, bool) { return h.a.Setting(name) }
func (h *host) CurrentVolume() float64          { return h.a.CurrentVolume() }
func (h *host) AltMediaFraction() float64       { return h.a.AltMediaFraction() }
func (h *host) MaxVolume() float64              { return h.a.MaxVolume() }
func (h *host) Pause()                          { h.a.SetState(runtime.Sleeping) }
func (h *host) Log(level, msg string) error     { return h.a.Log.Level(level, msg) }

// Readings implements builtins.ReadingsHost.
func (h *host) Readings() *readings.Cache { return h.a.Readings() }

// ConfigValue implements builtins.ConfigHost.
func (h *host) ConfigValue(section, key string) (string, bool) {
	return ConfigValue(h.a.Env().Config, section, key)
}
