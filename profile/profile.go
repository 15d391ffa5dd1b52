// Package profile reads, checks and runs experiment profiles: upstream
// Pioreactor's YAML schedules of job actions (start, update, pause, resume,
// stop, log, repeat, when) at times after the profile starts, for every
// worker of an experiment (common) and for named units (pioreactors).
//
// Parse and Load check a whole file before anything runs and report every
// problem at once, each with its line and column. Run executes a checked
// profile on an injected clock against a Cluster, so a test runs a week-long
// profile in virtual time and asserts its exact timeline. Plan lists what a
// profile would do without doing it (the --dry-run).
package profile

import (
	"fmt"
	"strings"
	"time"
)

// Version is the only profile version this package reads.
const Version = "1.0"

// Profile is a checked experiment profile.
type Profile struct {
	File        string // the name errors are reported under
	Name        string // experiment_profile_name
	Author      string
	Description string
	Plugins     []Plugin
	Inputs      map[string]any // float64, bool or string
	Common      []JobBlock     // applied to every worker of the experiment
	Units       []UnitBlock    // in file order
	// Warnings are things accepted but not acted on (plugins).
	Warnings []string
}

// Plugin is an entry of plugins: accepted, not checked (see Warnings).
type Plugin struct{ Name, Version string }

// UnitBlock is pioreactors.<unit>.
type UnitBlock struct {
	Unit, Label string
	Jobs        []JobBlock
}

// JobBlock is jobs.<job>.
type JobBlock struct {
	Job     string
	Actions []*Action
}

// Kind is an action's type. Kinds are ordered by their priority at equal
// times: a start before a stop, ..., a log last (upstream's order).
type Kind int

// The actions, in priority order.
const (
	Start Kind = iota
	Stop
	Pause
	Resume
	Update
	When
	Repeat
	Log
)

var kindNames = []string{"start", "stop", "pause", "resume", "update", "when", "repeat", "log"}

func (k Kind) String() string { return kindNames[k] }

// Option is one entry of an action's options, in file order.
type Option struct {
	Name  string
	Value Template
}

// Action is one scheduled action.
type Action struct {
	Kind Kind
	At   time.Duration // t: after the profile's start, or after its repeat's loop or its when's trigger
	If   *Expr         // nil: always
	// Start and Update: options; Start: args.
	Options []Option
	Args    []string
	// Log.
	Level   string
	Message Template
	// Repeat.
	Every, MaxTime time.Duration // MaxTime 0: no limit
	While          *Expr
	// When.
	WaitUntil *Expr
	// Repeat and When: the nested actions.
	Actions []*Action

	Line, Col int
	Path      string // where it is in the file, for messages
}

// Template is a string value that may hold ${{ expression }} parts.
type Template struct {
	Raw   string
	parts []tpart
}

type tpart struct {
	text string
	expr *Expr
}

// ParseTemplate splits s into text and ${{ }} expressions.
func ParseTemplate(s string) (Template, error) {
	t := Template{Raw: s}
	rest := s
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, tpart{text: rest})
			}
			return t, nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return t, fmt.Errorf("${{ without its closing }}")
		}
		if i > 0 {
			t.parts = append(t.parts, tpart{text: rest[:i]})
		}
		e, err := ParseExpr(rest[i+3 : i+j])
		if err != nil {
			return t, fmt.Errorf("expression %q: %v", strings.TrimSpace(rest[i+3:i+j]), err)
		}
		t.parts = append(t.parts, tpart{expr: e})
		rest = rest[i+j+2:]
	}
}

// Exprs lists the expressions of t.
func (t Template) Exprs() []*Expr {
	var out []*Expr
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	return out
}

// Eval evaluates t's expressions and joins the parts.
func (t Template) Eval(env *Env) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.expr.Eval(env)
		if err != nil {
			return "", err
		}
		b.WriteString(FormatValue(v))
	}
	return b.String(), nil
}

// Walk calls fn for every action of p, nested ones included, with the
// unit ("" for common) and job they belong to.
func (p *Profile) Walk(fn func(unit, job string, a *Action)) {
	var rec func(unit, job string, as []*Action)
	rec = func(unit, job string, as []*Action) {
		for _, a := range as {
			fn(unit, job, a)
			rec(unit, job, a.Actions)
		}
	}
	for _, jb := range p.Common {
		rec("", jb.Job, jb.Actions)
	}
	for _, ub := range p.Units {
		for _, jb := range ub.Jobs {
			rec(ub.Unit, jb.Job, jb.Actions)
		}
	}
}
