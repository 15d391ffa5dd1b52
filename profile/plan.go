package profile

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Step is one line of a profile's timeline.
type Step struct {
	At        time.Duration // after the start; for nested steps, after their repeat's loop or when's trigger
	Nested    int           // 0 for a top-level action
	Unit, Job string
	Action    *Action
}

// Plan lists p's actions in the order Run would take them at their times:
// by t, then priority, then file order, each nested action under its
// repeat or when. Common actions are listed once per worker, or once under
// the unit "(each worker)" when workers is empty.
func Plan(p *Profile, workers []string) []Step {
	if len(workers) == 0 {
		workers = []string{"(each worker)"}
	}
	type top struct {
		Step
		seq int
	}
	var tops []top
	add := func(unit, job string, as []*Action) {
		for _, a := range as {
			tops = append(tops, top{Step{At: a.At, Unit: unit, Job: job, Action: a}, len(tops)})
		}
	}
	for _, jb := range p.Common {
		for _, u := range workers {
			add(u, jb.Job, jb.Actions)
		}
	}
	for _, ub := range p.Units {
		for _, jb := range ub.Jobs {
			add(ub.Unit, jb.Job, jb.Actions)
		}
	}
	sort.SliceStable(tops, func(i, j int) bool {
		a, b := tops[i], tops[j]
		if a.At != b.At {
			return a.At < b.At
		}
		return a.Action.Kind < b.Action.Kind
	})
	var out []Step
	var nest func(depth int, unit, job string, as []*Action)
	nest = func(depth int, unit, job string, as []*Action) {
		sorted := append([]*Action(nil), as...)
		sort.SliceStable(sorted, func(i, j int) bool {
			if sorted[i].At != sorted[j].At {
				return sorted[i].At < sorted[j].At
			}
			return sorted[i].Kind < sorted[j].Kind
		})
		for _, a := range sorted {
			out = append(out, Step{At: a.At, Nested: depth, Unit: unit, Job: job, Action: a})
			nest(depth+1, unit, job, a.Actions)
		}
	}
	for _, t := range tops {
		out = append(out, t.Step)
		nest(1, t.Unit, t.Job, t.Action.Actions)
	}
	return out
}

// Describe writes what a does, as the timeline shows it.
func Describe(a *Action) string {
	var b strings.Builder
	b.WriteString(a.Kind.String())
	switch a.Kind {
	case Start:
		for _, o := range a.Options {
			fmt.Fprintf(&b, " --%s %s", strings.ReplaceAll(o.Name, "_", "-"), quoteIfNeeded(o.Value.Raw))
		}
		for _, s := range a.Args {
			b.WriteString(" " + quoteIfNeeded(s))
		}
	case Update:
		for _, o := range a.Options {
			fmt.Fprintf(&b, " %s=%s", o.Name, quoteIfNeeded(o.Value.Raw))
		}
	case Log:
		fmt.Fprintf(&b, " %s %s", a.Level, strconv.Quote(a.Message.Raw))
	case Repeat:
		fmt.Fprintf(&b, " every %s", FormatTime(a.Every))
		if a.While != nil {
			fmt.Fprintf(&b, " while %s", a.While.Src)
		}
		if a.MaxTime > 0 {
			fmt.Fprintf(&b, " for at most %s", FormatTime(a.MaxTime))
		}
	case When:
		fmt.Fprintf(&b, " %s", a.WaitUntil.Src)
	}
	if a.If != nil {
		fmt.Fprintf(&b, " if %s", a.If.Src)
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"'") {
		return strconv.Quote(s)
	}
	return s
}

// WritePlan writes the timeline of p for workers to w: one line a step,
// nested steps indented with their time after their repeat's loop or
// when's trigger (+0h10m00s).
func WritePlan(w io.Writer, p *Profile, workers []string) {
	for _, s := range Plan(p, workers) {
		at := fmt.Sprintf("%10s", FormatTime(s.At))
		if s.Nested > 0 {
			at = fmt.Sprintf("%10s", "+"+FormatTime(s.At))
		}
		fmt.Fprintf(w, "%s%s  %s  %s  %s\n", at, strings.Repeat("  ", s.Nested), s.Unit, s.Job, Describe(s.Action))
	}
}
