package script

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/runtime"
)

// Check reports what is wrong with a script before anyone runs it, for
// pio scripts check: a syntax error; every undefined name (with a hint
// where a Python habit or another family explains it); a wrong api_version,
// metadata or requires, and what requires names that the unit's
// configuration (o.Config) lacks; settings whose defaults do not match
// their type or bounds; check_<setting> functions of no setting; pumps that
// execute_io_action or pump() would find no function or [PWM] channel for;
// what the script's family requires (execute() and the rest); and errors of
// load() and of the top level. It runs the top level (which cannot drive
// outputs: the builtins that do need a running job), never a job's
// functions. Diagnostics are sorted by position, without duplicates.
func Check(path string, src []byte, o CheckOptions) []Diagnostic {
	c := &checker{file: baseName(path)}
	c.check(path, src, o)
	return c.sorted()
}

// Diagnostic is one finding of Check, at file:line:col.
type Diagnostic struct {
	Pos     string `json:"pos"`
	Msg     string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
}

// String is "pos: msg", or "pos: warning: msg".
func (d Diagnostic) String() string {
	if d.Warning {
		return d.Pos + ": warning: " + d.Msg
	}
	return d.Pos + ": " + d.Msg
}

// CheckOptions are what a check compares a script with.
type CheckOptions struct {
	// Config is the unit's configuration: its [PWM] pumps and
	// [scripts.hardware] grants. Nil means pio's defaults.
	Config *config.Config
}

// HasErrors reports whether any diagnostic is an error (not a warning).
func HasErrors(diags []Diagnostic) bool {
	for _, d := range diags {
		if !d.Warning {
			return true
		}
	}
	return false
}

// checkUnit and checkExperiment are the unit and experiment a check runs a
// script's top level for.
const checkUnit, checkExperiment = "check", "check"

type checker struct {
	file  string
	diags []Diagnostic
}

func (c *checker) add(ds ...Diagnostic) { c.diags = append(c.diags, ds...) }

func (c *checker) addErr(err error) { c.add(diagnosticOf(c.file, err)) }

func (c *checker) check(path string, src []byte, o CheckOptions) {
	f, err := FileOptions.Parse(c.file, src, 0)
	if err != nil {
		c.addErr(parseError(err, src))
		return
	}
	if IsTestFile(path) {
		c.checkTests(f)
		return
	}
	header, diags := readHeader(f)
	library := IsLibraryModule(f)
	for _, d := range diags {
		if !(library && d.Warning) { // a module targets the api_version of the script that loads it
			c.add(d)
		}
	}
	c.add(header.Requires.Missing(o.Config)...)
	fam, declaredAt, err := detectFamily(f)
	if err != nil {
		c.addErr(err)
		return
	}
	universe := builtins.Common(checkUnit, checkExperiment)
	for k, v := range fam.Builtins() {
		universe[k] = v
	}
	if _, err := starlark.FileProgram(f, universe.Has); err != nil {
		var list resolve.ErrorList
		if !errors.As(err, &list) {
			c.addErr(err)
			return
		}
		for _, e := range list {
			c.add(diagnosticOf(c.file, explainUndefined(&Error{Pos: e.Pos.String(), Msg: e.Msg}, fam, declaredAt)))
		}
		return // unresolved code cannot run
	}
	c.add(deprecations(f)...)
	if err := checkSettingsReads(f); err != nil {
		c.addErr(err)
	}
	if fam.Type == "dosing" {
		c.pumps(f, o.Config)
	}
	m, err := LoadModule(path, src, checkUnit, checkExperiment)
	if err != nil {
		c.addErr(err)
		return
	}
	if !library {
		c.settings(f, m)
		c.family(f, m)
	}
}

// jobGlobals are the globals that make a file a script a job runs, rather
// than a library module that scripts load().
var jobGlobals = []string{"execute", "run", "handlers", "settings", "run_on", "automation_name", "automation_type", "job_name"}

// IsLibraryModule reports whether a parsed file declares nothing a job
// runs (no execute, run, handlers, settings, names, pump or check
// functions): a module of helpers for load(). Check does not hold it to a
// family's contract.
func IsLibraryModule(f *syntax.File) bool {
	names := topLevelNames(f)
	for _, n := range jobGlobals {
		if names[n] {
			return false
		}
	}
	for n := range names {
		if isPumpFuncName(n) || strings.HasPrefix(n, "check_") || n == "on_setting_changed" {
			return false
		}
	}
	return true
}

// TestFileBuiltins are the names pio scripts test predeclares in a test
// file, besides the builtins of every family (package scripttest).
var TestFileBuiltins = []string{"assert", "simulate"}

// IsTestFile reports whether path is a script's tests, FILE_test.star
// (pio scripts test runs them).
func IsTestFile(path string) bool { return strings.HasSuffix(path, "_test.star") }

// checkTests checks a test file: its names resolve among the builtins of
// every family and the test builtins. It is not run.
func (c *checker) checkTests(f *syntax.File) {
	universe := allBuiltins()
	for _, name := range TestFileBuiltins {
		universe[name] = starlark.None
	}
	if _, err := starlark.FileProgram(f, universe.Has); err != nil {
		var list resolve.ErrorList
		if !errors.As(err, &list) {
			c.addErr(err)
			return
		}
		for _, e := range list {
			msg := e.Msg
			if name, ok := strings.CutPrefix(msg, "undefined: "); ok {
				if h := undefinedHint(name); h != "" {
					msg += hintSep + h
				}
			}
			c.add(Diagnostic{Pos: e.Pos.String(), Msg: msg})
		}
	}
}

// settings checks each setting's declaration, so that every wrong one is
// reported (a start stops at the first), and the check_<setting> functions.
func (c *checker) settings(f *syntax.File, m *Module) {
	v, ok := m.Globals["settings"]
	if !ok {
		c.settingReads(f, nil)
		return
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return // the family's reading says so
	}
	declared := map[string]bool{}
	for _, item := range d.Items() {
		if k, ok := item[0].(starlark.String); ok {
			declared[string(k)] = true
			if _, err := settingDecl(string(k), item[1]); err != nil {
				c.add(c.settingDiagnostic(f, err))
			}
		}
	}
	c.settingReads(f, declared)
	for name, v := range m.Globals {
		setting, ok := strings.CutPrefix(name, "check_")
		if fn, isFn := v.(*starlark.Function); ok && isFn && !declared[setting] {
			c.add(Diagnostic{Pos: fn.Position().String(), Msg: fmt.Sprintf("there is no setting %q in the settings dict", setting)})
		}
	}
}

// jobSettings are the settings a family's job declares itself, which
// setting(name) reads besides the script's own.
var jobSettings = map[string]bool{"automation_name": true, "latest_event": true, "temperature": true, "heater_duty_cycle": true}

// settingReads reports each setting("name") of a literal name that the
// settings dict does not declare: at run time it fails, at the first run
// that reaches it, which may be hours after the start.
func (c *checker) settingReads(f *syntax.File, declared map[string]bool) {
	var names []string
	for n := range declared {
		names = append(names, n)
	}
	sort.Strings(names)
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok || len(call.Args) != 1 {
			return true
		}
		id, ok := call.Fn.(*syntax.Ident)
		if !ok || id.Name != "setting" || !predeclared(id) {
			return true
		}
		name, ok := stringLit(call.Args[0])
		if !ok || declared[name] || jobSettings[name] {
			return true
		}
		pos, _ := call.Args[0].Span()
		msg := fmt.Sprintf("setting(%q): the settings dict declares no setting %q (it declares %s)", name, name, strings.Join(names, ", "))
		if declared == nil {
			msg = fmt.Sprintf("setting(%q): the script declares no settings; add settings = {%q: <default>}", name, name)
		}
		c.add(Diagnostic{Pos: pos.String(), Msg: msg})
		return true
	})
}

// family reads the module as its family does at start: the globals it
// requires and their form.
func (c *checker) family(f *syntax.File, m *Module) {
	var err error
	switch m.Family.Type {
	case "dosing":
		_, err = DosingFromModule(m)
	case "temperature":
		_, err = TemperatureFromModule(m)
	case "led":
		_, err = LEDFromModule(m)
	case JobType:
		_, err = JobFromModule(m)
	}
	if err != nil {
		var se *settingError
		if errors.As(err, &se) {
			c.add(c.settingDiagnostic(f, err))
			return
		}
		c.addErr(err)
	}
}

// settingDiagnostic points a setting's error at its entry in the settings
// dict.
func (c *checker) settingDiagnostic(f *syntax.File, err error) Diagnostic {
	var se *settingError
	if !errors.As(err, &se) {
		return diagnosticOf(c.file, err)
	}
	pos := settingPosition(f, se.name)
	if pos == "" {
		return diagnosticOf(c.file, err)
	}
	return Diagnostic{Pos: pos, Msg: se.msg}
}

// settingPosition is where the settings dict declares name: its key in the
// literal, or a settings["name"] = ... assignment; "" if not found.
func settingPosition(f *syntax.File, name string) string {
	found := ""
	syntax.Walk(f, func(n syntax.Node) bool {
		if found != "" {
			return false
		}
		s, ok := n.(*syntax.AssignStmt)
		if !ok {
			_, isDef := n.(*syntax.DefStmt)
			return !isDef
		}
		switch lhs := s.LHS.(type) {
		case *syntax.Ident:
			if d, ok := s.RHS.(*syntax.DictExpr); ok && lhs.Name == "settings" {
				for _, e := range d.List {
					entry := e.(*syntax.DictEntry)
					if k, ok := stringLit(entry.Key); ok && k == name {
						p, _ := entry.Key.Span()
						found = p.String()
					}
				}
			}
		case *syntax.IndexExpr:
			if id, ok := lhs.X.(*syntax.Ident); ok && id.Name == "settings" {
				if k, ok := stringLit(lhs.Y); ok && k == name {
					p, _ := lhs.Y.Span()
					found = p.String()
				}
			}
		}
		return false
	})
	return found
}

// pumps checks what each execute_io_action(<name>_ml=...) and pump("name")
// of a dosing script would dose with, by the rules a run follows: a dose of
// <name> goes to the script's add_<name>_to_bioreactor
// (remove_waste_from_bioreactor for waste), else, for media, alt_media and
// waste only, to the stock pump; a pump runs on the [PWM] channel wired to
// its device.
func (c *checker) pumps(f *syntax.File, cfg *config.Config) {
	if cfg == nil {
		cfg = config.New()
	}
	wired := map[string]bool{}
	if o, err := cfg.Options(); err == nil {
		for _, dev := range o.PWM {
			wired[dev] = true
		}
	}
	defined := topLevelNames(f)
	unwired := func(pos syntax.Position, what, device string) {
		c.add(Diagnostic{Pos: pos.String(), Msg: fmt.Sprintf("%s: no [PWM] channel is wired to %q; add <channel>=%s to [PWM] in config.ini", what, device, device)})
	}
	dose := func(pos syntax.Position, name string) {
		fn := dosing.PumpFuncName(name)
		switch {
		case defined[fn]:
		case runtime.StockPump(name):
			if !wired[name] {
				unwired(pos, "execute_io_action: "+name+"_ml goes to the stock "+name+" pump, and", name)
			}
		default:
			msg := fmt.Sprintf("execute_io_action: %s_ml needs a function %s(ml, unit, experiment, source_of_event) in the script; none is defined", name, fn)
			if wired[name] {
				msg += fmt.Sprintf(" (%s is wired in [PWM]: its body can be return pump(%q, ml=ml))", name, name)
			}
			c.add(Diagnostic{Pos: pos.String(), Msg: msg})
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok {
			return true
		}
		id, ok := call.Fn.(*syntax.Ident)
		if !ok || !predeclared(id) {
			return true
		}
		switch id.Name {
		case "execute_io_action":
			for _, arg := range call.Args {
				kw, ok := arg.(*syntax.BinaryExpr)
				if !ok || kw.Op != syntax.EQ {
					continue
				}
				key := kw.X.(*syntax.Ident)
				name, isDose := strings.CutSuffix(key.Name, "_ml")
				if !isDose || name == "" || isZero(kw.Y) {
					continue
				}
				dose(key.NamePos, name)
			}
		case "pump":
			var device syntax.Expr
			for i, arg := range call.Args {
				if kw, ok := arg.(*syntax.BinaryExpr); ok && kw.Op == syntax.EQ {
					if kw.X.(*syntax.Ident).Name == "device" {
						device = kw.Y
					}
				} else if i == 0 {
					device = arg
				}
			}
			if name, ok := stringLit(device); ok && !wired[name] {
				pos, _ := device.Span()
				unwired(pos, fmt.Sprintf("pump(%q)", name), name)
			}
		case "add_media", "add_alt_media", "remove_waste":
			device := map[string]string{"add_media": "media", "add_alt_media": "alt_media", "remove_waste": "waste"}[id.Name]
			if !wired[device] {
				unwired(id.NamePos, id.Name+"()", device)
			}
		}
		return true
	})
}

// predeclared reports whether a resolved identifier is one of pio's
// builtins (not a local or global of the script that shadows it).
func predeclared(id *syntax.Ident) bool {
	b, ok := id.Binding.(*resolve.Binding)
	return ok && (b.Scope == resolve.Predeclared || b.Scope == resolve.Universal)
}

// isZero reports whether e is the literal 0 or 0.0 (a dose that is skipped).
func isZero(e syntax.Expr) bool {
	lit, ok := e.(*syntax.Literal)
	if !ok {
		return false
	}
	switch v := lit.Value.(type) {
	case int64:
		return v == 0
	case float64:
		return v == 0
	}
	return false
}

// topLevelNames are the names a script binds at its top level: functions,
// assignments and loads.
func topLevelNames(f *syntax.File) map[string]bool {
	names := map[string]bool{}
	var walk func([]syntax.Stmt)
	walk = func(stmts []syntax.Stmt) {
		for _, stmt := range stmts {
			switch s := stmt.(type) {
			case *syntax.DefStmt:
				names[s.Name.Name] = true
			case *syntax.AssignStmt:
				if id, ok := s.LHS.(*syntax.Ident); ok {
					names[id.Name] = true
				}
			case *syntax.LoadStmt:
				for _, id := range s.To {
					names[id.Name] = true
				}
			case *syntax.IfStmt:
				walk(s.True)
				walk(s.False)
			case *syntax.ForStmt:
				walk(s.Body)
			case *syntax.WhileStmt:
				walk(s.Body)
			}
		}
	}
	walk(f.Stmts)
	return names
}

// posPrefix is a message that starts with file:line:col.
var posPrefix = regexp.MustCompile(`^([^\s:]+:\d+:\d+): (.*)$`)

// diagnosticOf turns a load error into a diagnostic: its own position when
// it has one, else the top of the file.
func diagnosticOf(file string, err error) Diagnostic {
	var se *Error
	if errors.As(err, &se) && se.Pos != "" {
		return Diagnostic{Pos: se.Pos, Msg: se.Msg}
	}
	msg := strings.TrimPrefix(err.Error(), file+": ")
	if m := posPrefix.FindStringSubmatch(msg); m != nil {
		return Diagnostic{Pos: m[1], Msg: m[2]}
	}
	return Diagnostic{Pos: file + ":1:1", Msg: msg}
}

// sorted returns the diagnostics by position (line, then column), without
// duplicates.
func (c *checker) sorted() []Diagnostic {
	type key struct {
		line, col int
	}
	at := func(d Diagnostic) key {
		parts := strings.Split(d.Pos, ":")
		if len(parts) < 3 {
			return key{}
		}
		line, _ := strconv.Atoi(parts[len(parts)-2])
		col, _ := strconv.Atoi(parts[len(parts)-1])
		return key{line, col}
	}
	sort.SliceStable(c.diags, func(i, j int) bool {
		a, b := at(c.diags[i]), at(c.diags[j])
		if a != b {
			return a.line < b.line || a.line == b.line && a.col < b.col
		}
		return c.diags[i].Msg < c.diags[j].Msg
	})
	var out []Diagnostic
	seen := map[Diagnostic]bool{}
	for _, d := range c.diags {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// baseName is the file name positions carry.
func baseName(path string) string { return filepath.Base(path) }
