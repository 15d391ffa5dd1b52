package script

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/sched"
)

// automationGlobals are the globals every family of automation reads the
// same way: automation_name, the settings dict, execute() and the
// check_<setting> functions.
type automationGlobals struct {
	name     string
	settings []automation.SettingDecl
	execute  *starlark.Function // nil only where execute() is optional
	checks   map[string]*starlark.Function
}

// readAutomationGlobals reads the shared globals of a loaded script, in
// this order: automation_name (default: the file's stem), execute(), the
// settings dict, the checks. missingExecute is what the error says when
// the script defines no execute(); empty, execute() is optional.
func readAutomationGlobals(file string, globals starlark.StringDict, missingExecute string) (automationGlobals, error) {
	var g automationGlobals
	name, err := readAutomationName(file, globals)
	if err != nil {
		return g, err
	}
	g.name = name

	fn, ok := globals["execute"].(*starlark.Function)
	switch {
	case !ok && globals["execute"] != nil:
		return g, fmt.Errorf("%s: execute must be a function", file)
	case !ok && missingExecute != "":
		return g, fmt.Errorf("%s: %s", file, missingExecute)
	case ok && fn.NumParams() > 0:
		return g, fmt.Errorf("%s: %s: execute() must take no parameters", file, fn.Position())
	}
	g.execute = fn

	if g.settings, err = readSettings(file, globals); err != nil {
		return g, err
	}
	if g.checks, err = readChecks(file, globals, g.settings); err != nil {
		return g, err
	}
	return g, nil
}

// readAutomationName is the automation_name global, else the file's stem.
func readAutomationName(file string, globals starlark.StringDict) (string, error) {
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

// atSetting points an error in one setting's declaration (a
// *settingError) at that setting's entry in the settings dict, as
// pio scripts check does, so that a start says file:line:col too. Other
// errors pass through.
func (m *Module) atSetting(err error) error {
	var se *settingError
	if !errors.As(err, &se) {
		return err
	}
	f, perr := FileOptions.Parse(m.File, m.src, 0)
	if perr != nil {
		return err
	}
	if pos := settingPosition(f, se.name); pos != "" {
		return &Error{Pos: pos, Msg: se.msg, cause: err}
	}
	return err
}

// readSettings reads the optional settings dict of name: default, or
// name: {"default": ..., "type": ..., "min": ..., ...} (settingDecl,
// schemaDecl; a None default declares a required setting).
func readSettings(file string, globals starlark.StringDict) ([]automation.SettingDecl, error) {
	v, ok := globals["settings"]
	if !ok {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: settings: got %s, want a dict of name: default", file, v.Type())
	}
	var decls []automation.SettingDecl
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: settings: key %s is not a string", file, item[0])
		}
		decl, err := settingDecl(string(k), item[1])
		if err != nil {
			return nil, fmt.Errorf("%s: settings: %w", file, err)
		}
		decls = append(decls, decl)
	}
	return decls, nil
}

// readChecks reads the optional top-level functions
//
//	def check_<setting>(value): ...
//
// one per declared setting, which validate its value at start and at each
// /set: fail("...") refuses it (the message is what the log says), returning
// a value keeps that one instead, returning None keeps value. They are read
// in name order, so that the first wrong one is always the one named.
func readChecks(file string, globals starlark.StringDict, settings []automation.SettingDecl) (map[string]*starlark.Function, error) {
	names := make([]string, 0, len(globals))
	for name := range globals {
		names = append(names, name)
	}
	sort.Strings(names)
	var checks map[string]*starlark.Function
	for _, name := range names {
		setting, ok := strings.CutPrefix(name, "check_")
		if !ok {
			continue
		}
		fn, ok := globals[name].(*starlark.Function)
		if !ok || fn.NumParams() != 1 {
			return nil, fmt.Errorf("%s: %s must be a function of one parameter (the value)", file, name)
		}
		if settingType(settings, setting) == "" {
			return nil, fmt.Errorf("%s: %s: there is no setting %q in the settings dict", file, fn.Position(), setting)
		}
		if checks == nil {
			checks = map[string]*starlark.Function{}
		}
		checks[setting] = fn
	}
	return checks, nil
}

// settingType is the datatype of the declared setting name, or "" when
// there is no such setting.
func settingType(settings []automation.SettingDecl, name string) string {
	for _, d := range settings {
		if d.Name == name {
			return d.Datatype
		}
	}
	return ""
}

// runCheck calls the check fn(v) on th, stopped after steps Starlark steps
// (limit names that bound). A fail("...") in it becomes an
// error of the script's own words. It returns nil when the check returned
// None (keep v).
func runCheck(th *starlark.Thread, fn *starlark.Function, v any, steps uint64, limit string) (starlark.Value, error) {
	th.SetMaxExecutionSteps(steps)
	out, err := starlark.Call(th, fn, starlark.Tuple{builtins.ToStarlark(v)}, nil)
	if err != nil {
		err = FormatError(err, th, steps, limit)
		var se *Error
		if errors.As(err, &se) {
			if msg, ok := strings.CutPrefix(se.Msg, "fail: "); ok {
				return nil, errors.New(msg) // the script's own words
			}
		}
		return nil, err
	}
	if out == starlark.None {
		return nil, nil
	}
	return out, nil
}

// checkSteps bounds the Starlark steps of a check function of a light
// program or a temperature automation.
const checkSteps = 1_000_000

// sleepWithin waits seconds on clk, but not past deadline: a wait that
// would end after it waits until the deadline and fails, saying that what
// ran past its limit (max_execute_minutes).
func sleepWithin(ctx context.Context, clk sched.Scheduler, seconds float64, deadline time.Time, what string, limit time.Duration) error {
	until := clk.Now().Add(time.Duration(seconds * float64(time.Second)))
	if until.After(deadline) {
		if err := clk.SleepUntil(ctx, deadline); err != nil {
			return err
		}
		return overdue(what, limit)
	}
	return clk.SleepUntil(ctx, until)
}

// overdue is the error of a run stopped at its max_execute_minutes: in a
// sleep, in a request, or by the job's own timer.
func overdue(what string, limit time.Duration) error {
	return fmt.Errorf("%s ran past its limit of %v (max_execute_minutes) and was stopped", what, limit)
}
