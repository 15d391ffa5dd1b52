package profile

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Check is what Parse checks a profile against. A nil field is not checked.
type Check struct {
	// Jobs are the jobs pio can start, each with the options its start
	// takes, written as in a profile (target_rpm). A nil Options is not
	// checked.
	Jobs map[string][]string
	// Units is the inventory: every unit a profile may name.
	Units []string
}

// Error is one problem of a profile, at its line and column.
type Error struct {
	File      string
	Line, Col int
	Path      string // pioreactors.u1.jobs.stirring.actions[2].t
	Msg       string
}

func (e Error) Error() string {
	s := fmt.Sprintf("%s:%d:%d: ", e.File, e.Line, e.Col)
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Msg
}

// Errors is every problem of a profile, sorted by line and column.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads and checks the profile in file.
func Load(file string, c Check) (*Profile, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data, c)
}

// Parse checks the profile in data, named file in messages. Its error is
// an Errors listing every problem found.
func Parse(file string, data []byte, c Check) (*Profile, error) {
	l := &loader{file: file, check: c, p: &Profile{File: file, Inputs: map[string]any{}}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{File: file, Line: 1, Col: 1, Msg: "empty file: a profile needs at least version and experiment_profile_name"}}
	}
	l.top(doc.Content[0])
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool {
			a, b := l.errs[i], l.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, l.errs
	}
	return l.p, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlError(file string, err error) Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	return Error{File: file, Line: line, Col: 1, Msg: "not valid YAML: " + msg}
}

type loader struct {
	file  string
	check Check
	p     *Profile
	errs  Errors
}

func (l *loader) errorf(n *yaml.Node, path, format string, args ...any) {
	l.errs = append(l.errs, Error{File: l.file, Line: n.Line, Col: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// fields reads a mapping, reporting keys not in allowed and duplicates.
func (l *loader) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return out
		}
		l.errorf(n, path, "want a mapping with fields %s, got %s", strings.Join(allowed, ", "), describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			l.errorf(k, path, "unknown field %q%s", k.Value, suggest(k.Value, allowed))
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.errorf(k, join(path, k.Value), "given twice")
			continue
		}
		out[k.Value] = v
	}
	return out
}

// pairs reads a mapping with free keys, in file order.
func (l *loader) pairs(n *yaml.Node, path, what string) [][2]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		if n.Tag != "!!null" {
			l.errorf(n, path, "want a mapping of %s, got %s", what, describe(n))
		}
		return nil
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			l.errorf(k, join(path, k.Value), "given twice")
			continue
		}
		seen[k.Value] = true
		out = append(out, [2]*yaml.Node{k, n.Content[i+1]})
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	if n.Tag == "!!str" {
		return strconv.Quote(n.Value)
	}
	return n.Value
}

// str reads a scalar as a string; numbers and booleans are written as given.
func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(n, path, "want a value, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (l *loader) top(n *yaml.Node) {
	f := l.fields(n, "", "version", "experiment_profile_name", "metadata", "plugins", "inputs", "common", "pioreactors")
	if n.Kind != yaml.MappingNode {
		return
	}
	if v, ok := f["version"]; !ok {
		l.errorf(n, "version", `missing: a profile starts with version: "1.0"`)
	} else if v.Kind != yaml.ScalarNode || v.Tag != "!!str" || v.Value != Version {
		l.errorf(v, "version", `want the quoted string "1.0", got %s`, describe(v))
	}
	if v, ok := f["experiment_profile_name"]; !ok {
		l.errorf(n, "experiment_profile_name", "missing: name the profile")
	} else if s, ok := l.str(v, "experiment_profile_name"); ok {
		if strings.TrimSpace(s) == "" {
			l.errorf(v, "experiment_profile_name", "empty")
		}
		l.p.Name = s
	}
	if v, ok := f["metadata"]; ok {
		m := l.fields(v, "metadata", "author", "description")
		if a, ok := m["author"]; ok {
			l.p.Author, _ = l.str(a, "metadata.author")
		}
		if d, ok := m["description"]; ok {
			l.p.Description, _ = l.str(d, "metadata.description")
		}
	}
	if v, ok := f["plugins"]; ok {
		l.plugins(v)
	}
	if v, ok := f["inputs"]; ok {
		for _, kv := range l.pairs(v, "inputs", "input names to values") {
			k, val := kv[0], kv[1]
			if !nameRe.MatchString(k.Value) || nameRe.FindString(k.Value) != k.Value || functions[k.Value] || slices.Contains([]string{"and", "or", "not", "true", "false"}, strings.ToLower(k.Value)) {
				l.errorf(k, "inputs", "input name %q: want a name of letters, digits and _ that is not a keyword", k.Value)
				continue
			}
			if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
				l.errorf(val, join("inputs", k.Value), "want a number, a boolean or a string, got %s", describe(val))
				continue
			}
			l.p.Inputs[k.Value] = scalarValue(val)
		}
	}
	if v, ok := f["common"]; ok {
		c := l.fields(v, "common", "jobs")
		if j, ok := c["jobs"]; ok {
			l.p.Common = l.jobs(j, "common.jobs", "")
		}
	}
	if v, ok := f["pioreactors"]; ok {
		for _, kv := range l.pairs(v, "pioreactors", "unit names to their jobs") {
			k, val := kv[0], kv[1]
			path := "pioreactors." + k.Value
			l.unitName(k, path)
			ub := UnitBlock{Unit: k.Value}
			u := l.fields(val, path, "label", "jobs")
			if lb, ok := u["label"]; ok {
				ub.Label, _ = l.str(lb, path+".label")
			}
			if j, ok := u["jobs"]; ok {
				ub.Jobs = l.jobs(j, path+".jobs", k.Value)
			}
			l.p.Units = append(l.p.Units, ub)
		}
	}
}

func scalarValue(n *yaml.Node) any {
	switch n.Tag {
	case "!!int", "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	}
	return n.Value
}

func (l *loader) plugins(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "plugins", "want a list of {name, version}, got %s", describe(n))
		return
	}
	for i, e := range n.Content {
		path := fmt.Sprintf("plugins[%d]", i)
		f := l.fields(e, path, "name", "version")
		var p Plugin
		if v, ok := f["name"]; ok {
			p.Name, _ = l.str(v, path+".name")
		} else {
			l.errorf(e, path, "missing name")
		}
		if v, ok := f["version"]; ok {
			p.Version, _ = l.str(v, path+".version")
		}
		l.p.Plugins = append(l.p.Plugins, p)
		l.p.Warnings = append(l.p.Warnings, fmt.Sprintf("%s:%d:%d: plugin %s %s: pio does not check plugins; the profile runs without this check", l.file, e.Line, e.Column, p.Name, p.Version))
	}
}

var unitNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (l *loader) unitName(k *yaml.Node, path string) {
	if !unitNameRe.MatchString(k.Value) {
		l.errorf(k, path, "unit name %q: want letters, digits, '-', '_' or '.'", k.Value)
		return
	}
	if l.check.Units != nil && !slices.Contains(l.check.Units, k.Value) {
		l.errorf(k, path, "unit %q is not in the inventory%s", k.Value, suggest(k.Value, l.check.Units))
	}
}

func (l *loader) jobs(n *yaml.Node, path, unit string) []JobBlock {
	var out []JobBlock
	for _, kv := range l.pairs(n, path, "job names to their actions") {
		k, v := kv[0], kv[1]
		jpath := join(path, k.Value)
		if l.check.Jobs != nil {
			if _, ok := l.check.Jobs[k.Value]; !ok {
				names := make([]string, 0, len(l.check.Jobs))
				for name := range l.check.Jobs {
					names = append(names, name)
				}
				sort.Strings(names)
				l.errorf(k, jpath, "pio has no job %q%s", k.Value, suggest(k.Value, names))
			}
		}
		f := l.fields(v, jpath, "actions", "description")
		jb := JobBlock{Job: k.Value}
		if a, ok := f["actions"]; ok {
			jb.Actions = l.actions(a, jpath+".actions", k.Value, unit, nil)
		}
		out = append(out, jb)
	}
	return out
}

var actionFields = map[string][]string{
	"start":  {"options", "args", "config_overrides"},
	"update": {"options"},
	"pause":  {},
	"resume": {},
	"stop":   {},
	"log":    {"options"},
	"repeat": {"every", "while", "max_time", "actions", "repeat_every_hours", "max_hours"},
	"when":   {"wait_until", "condition", "actions"},
}

var basicKinds = []string{"start", "update", "pause", "resume", "stop", "log"}

// actions reads a list of actions. within is the repeat they are nested
// in, or nil.
func (l *loader) actions(n *yaml.Node, path, job, unit string, within *Action) []*Action {
	if n.Kind != yaml.SequenceNode {
		if n.Tag != "!!null" {
			l.errorf(n, path, "want a list of actions, got %s", describe(n))
		}
		return nil
	}
	var out []*Action
	for i, e := range n.Content {
		if a := l.action(e, fmt.Sprintf("%s[%d]", path, i), job, unit, within); a != nil {
			out = append(out, a)
		}
	}
	return out
}

func (l *loader) action(n *yaml.Node, path, job, unit string, within *Action) *Action {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "want an action (a mapping with type and t), got %s", describe(n))
		return nil
	}
	var tn *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" {
			tn = n.Content[i+1]
		}
	}
	if tn == nil {
		l.errorf(n, path, "missing type (one of %s)", strings.Join(kindNames, ", "))
		return nil
	}
	kinds := kindNames
	if within != nil && within.Kind == Repeat {
		kinds = basicKinds
	}
	if !slices.Contains(kinds, tn.Value) {
		if within != nil && slices.Contains(kindNames, tn.Value) {
			l.errorf(tn, path+".type", "a %s cannot be inside a repeat (only %s)", tn.Value, strings.Join(basicKinds, ", "))
		} else {
			l.errorf(tn, path+".type", "unknown action %q%s", tn.Value, suggest(tn.Value, kindNames))
		}
		return nil
	}
	a := &Action{Kind: Kind(slices.Index(kindNames, tn.Value)), Line: n.Line, Col: n.Column, Path: path}
	f := l.fields(n, path, append([]string{"type", "t", "hours_elapsed", "if"}, actionFields[tn.Value]...)...)

	// t, or upstream's older hours_elapsed.
	tv, hasT := f["t"]
	if he, ok := f["hours_elapsed"]; ok {
		if hasT {
			l.errorf(he, path+".hours_elapsed", "give t or hours_elapsed, not both")
		}
		tv, hasT = he, true
	}
	if !hasT {
		l.errorf(n, path+".t", `missing: when to act, in hours (1.5) or as "30m"/"2h"`)
	} else {
		a.At = l.hours(tv, path+"."+keyOf(n, tv))
		if within != nil && within.Kind == Repeat && within.Every > 0 && a.At >= within.Every {
			l.errorf(tv, path+".t", "%s is not before the repeat's every (%s): an action inside a repeat runs once per loop", FormatTime(a.At), FormatTime(within.Every))
		}
	}
	if v, ok := f["if"]; ok {
		a.If = l.expr(v, path+".if", unit)
	}
	switch a.Kind {
	case Start, Update:
		if v, ok := f["options"]; ok {
			a.Options = l.options(v, path+".options", job, unit, a.Kind == Start)
		}
		if v, ok := f["args"]; ok {
			if v.Kind != yaml.SequenceNode {
				l.errorf(v, path+".args", "want a list, got %s", describe(v))
			} else {
				for i, e := range v.Content {
					if s, ok := l.str(e, fmt.Sprintf("%s.args[%d]", path, i)); ok {
						a.Args = append(a.Args, s)
					}
				}
			}
		}
		if v, ok := f["config_overrides"]; ok {
			l.errorf(v, path+".config_overrides", "not supported: pio's jobs take no config section overrides; give the values as options")
		}
	case Log:
		l.logOptions(a, f["options"], n, path, unit)
	case Repeat:
		a.Every = time.Hour // upstream's default
		for _, key := range []string{"every", "repeat_every_hours"} {
			if v, ok := f[key]; ok {
				a.Every = l.hours(v, path+"."+key)
				if a.Every < time.Second {
					l.errorf(v, path+"."+key, "want at least 1s between loops, got %s", describe(v))
				}
			}
		}
		for _, key := range []string{"max_time", "max_hours"} {
			if v, ok := f[key]; ok {
				a.MaxTime = l.hours(v, path+"."+key)
			}
		}
		if v, ok := f["while"]; ok {
			a.While = l.expr(v, path+".while", unit)
		}
		if v, ok := f["actions"]; ok {
			a.Actions = l.actions(v, path+".actions", job, unit, a)
		}
	case When:
		cond, key := f["wait_until"], "wait_until"
		if c, ok := f["condition"]; ok {
			if cond != nil {
				l.errorf(c, path+".condition", "give wait_until or condition, not both")
			}
			cond, key = c, "condition"
		}
		if cond == nil {
			l.errorf(n, path+".wait_until", "missing: the condition to wait for")
		} else {
			a.WaitUntil = l.expr(cond, path+"."+key, unit)
		}
		if v, ok := f["actions"]; ok {
			a.Actions = l.actions(v, path+".actions", job, unit, a)
		}
	}
	return a
}

func keyOf(m, v *yaml.Node) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i+1] == v {
			return m.Content[i].Value
		}
	}
	return "t"
}

func (l *loader) hours(n *yaml.Node, path string) time.Duration {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" {
		l.errorf(n, path, `want hours as a number or "30m"/"2h", got %s`, describe(n))
		return 0
	}
	d, err := ParseHours(n.Value, n.Tag == "!!int" || n.Tag == "!!float")
	if err != nil {
		l.errorf(n, path, "%v", err)
	}
	return d
}

// expr reads an if, while or wait_until: a boolean, or an expression with
// or without ${{ }}.
func (l *loader) expr(n *yaml.Node, path, unit string) *Expr {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(n, path, "want an expression like ${{ unit1:stirring:target_rpm > 400 }}, got %s", describe(n))
		return nil
	}
	e, err := ParseExpr(n.Value)
	if err != nil {
		l.errorf(n, path, "expression %q: %v", strings.TrimSpace(n.Value), err)
		return nil
	}
	l.lookups(n, path, e)
	return e
}

func (l *loader) lookups(n *yaml.Node, path string, e *Expr) {
	for _, lk := range e.Lookups() {
		if lk.Unit == "" || lk.Unit == "unit()" || l.check.Units == nil {
			continue
		}
		if !slices.Contains(l.check.Units, lk.Unit) {
			l.errorf(n, path, "%s: unit %q is not in the inventory%s", lk, lk.Unit, suggest(lk.Unit, l.check.Units))
		}
	}
}

func (l *loader) template(n *yaml.Node, path string) (Template, bool) {
	s, ok := l.str(n, path)
	if !ok {
		return Template{}, false
	}
	t, err := ParseTemplate(s)
	if err != nil {
		l.errorf(n, path, "%v", err)
		return t, false
	}
	for _, e := range t.Exprs() {
		l.lookups(n, path, e)
	}
	return t, true
}

var optionNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func (l *loader) options(n *yaml.Node, path, job, unit string, start bool) []Option {
	var out []Option
	var known []string
	if start && l.check.Jobs != nil {
		known = l.check.Jobs[job]
	}
	for _, kv := range l.pairs(n, path, "option names to values") {
		k, v := kv[0], kv[1]
		if !optionNameRe.MatchString(k.Value) {
			l.errorf(k, path, "option name %q: want letters, digits and _", k.Value)
			continue
		}
		name := strings.ReplaceAll(k.Value, "-", "_")
		if known != nil && !slices.Contains(known, name) {
			l.errorf(k, path, "%s takes no option %q%s", job, k.Value, suggest(name, known))
			continue
		}
		t, ok := l.template(v, join(path, k.Value))
		if ok {
			out = append(out, Option{Name: name, Value: t})
		}
	}
	return out
}

var logLevels = []string{"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"}

func (l *loader) logOptions(a *Action, n, action *yaml.Node, path, unit string) {
	a.Level = "NOTICE"
	if n == nil {
		l.errorf(action, path+".options.message", "missing: a log action needs options.message")
		return
	}
	f := l.fields(n, path+".options", "message", "level")
	if v, ok := f["message"]; ok {
		a.Message, _ = l.template(v, path+".options.message")
	} else {
		l.errorf(n, path+".options.message", "missing: the line to log")
	}
	if v, ok := f["level"]; ok {
		if s, ok := l.str(v, path+".options.level"); ok {
			if !slices.Contains(logLevels, strings.ToUpper(s)) {
				l.errorf(v, path+".options.level", "unknown level %q (one of %s)", s, strings.Join(logLevels, ", "))
			}
			a.Level = strings.ToUpper(s)
		}
	}
}

// suggest names the closest of valid to s, or lists valid when none is close.
func suggest(s string, valid []string) string {
	best, bestD := "", 1<<30
	for _, v := range valid {
		if d := distance(strings.ToLower(s), strings.ToLower(v)); d < bestD {
			best, bestD = v, d
		}
	}
	if best != "" && bestD <= max(2, len(s)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(valid) > 0 && len(valid) <= 12 {
		return " (valid: " + strings.Join(valid, ", ") + ")"
	}
	return ""
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
