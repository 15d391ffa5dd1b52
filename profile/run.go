package profile

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/piolab/pio/clock"
)

// Cluster is what a running profile acts on. Every call names the unit;
// the experiment is the Runner's.
type Cluster interface {
	// Start starts job on unit with options (names as in the profile:
	// target_rpm) and args.
	Start(ctx context.Context, unit, job string, options map[string]string, args []string) error
	// Set publishes value to the job's setting (its /set topic).
	Set(ctx context.Context, unit, job, setting, value string) error
	// State asks the job for a state: sleeping, ready or disconnected.
	State(ctx context.Context, unit, job, state string) error
	// Log writes a line of the profile's log, about unit.
	Log(ctx context.Context, unit, level, msg string) error
	// Read returns the job's retained setting, if it has one.
	Read(ctx context.Context, unit, job, setting string) (string, bool)
}

// DefaultPoll is how often a when's condition is evaluated while false.
const DefaultPoll = 15 * time.Second

// Runner runs one profile.
type Runner struct {
	Profile    *Profile
	Cluster    Cluster
	Clock      clock.Clock // sched.Virtual in tests, sched.Real for the command
	Experiment string
	// Workers are the units of common: the experiment's active workers.
	Workers []string
	// Poll is how often a false when is evaluated again (DefaultPoll).
	Poll time.Duration
	// Random is random()'s source (nil: always 0.5).
	Random func() float64
	// Logf reports what the profile does and skips, one line each.
	Logf func(format string, args ...any)
	// OnAction is called with the count of actions done so far.
	OnAction func(done int)

	start   time.Time
	queue   itemHeap
	seq     int
	done    int
	started []unitJob // jobs started and not stopped, in start order
}

type unitJob struct{ unit, job string }

type item struct {
	at        time.Time
	seq       int
	unit, job string
	a         *Action
	loopStart time.Time // a repeat's first loop; zero before it
	ifChecked bool      // a repeat's or when's `if` was true already
}

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	if h[i].a.Kind != h[j].a.Kind {
		return h[i].a.Kind < h[j].a.Kind
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(*item)) }
func (h *itemHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (r *Runner) push(it *item) {
	r.seq++
	it.seq = r.seq
	heap.Push(&r.queue, it)
}

func (r *Runner) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}

// Run executes the profile from now until its last action, or until ctx
// ends: then it asks every job it started, and did not stop, to disconnect
// (with a context of its own) and returns ctx's error. Failed actions are
// logged and the profile goes on, as upstream's does.
func (r *Runner) Run(ctx context.Context) error {
	if r.Poll <= 0 {
		r.Poll = DefaultPoll
	}
	r.start = r.Clock.Now()
	for _, jb := range r.Profile.Common {
		for _, u := range r.Workers {
			r.schedule(r.start, u, jb.Job, jb.Actions)
		}
	}
	for _, ub := range r.Profile.Units {
		for _, jb := range ub.Jobs {
			r.schedule(r.start, ub.Unit, jb.Job, jb.Actions)
		}
	}
	for r.queue.Len() > 0 {
		next := r.queue[0]
		if err := r.Clock.SleepUntil(ctx, next.at); err != nil {
			r.stopStarted()
			return err
		}
		heap.Pop(&r.queue)
		r.do(ctx, next)
		if ctx.Err() != nil {
			r.stopStarted()
			return ctx.Err()
		}
	}
	return nil
}

func (r *Runner) schedule(base time.Time, unit, job string, as []*Action) {
	for _, a := range as {
		r.push(&item{at: base.Add(a.At), unit: unit, job: job, a: a})
	}
}

func (r *Runner) env(unit, job string, ctx context.Context) *Env {
	return &Env{
		Unit: unit, Job: job, Experiment: r.Experiment,
		HoursElapsed: r.Clock.Now().Sub(r.start).Hours(),
		Inputs:       r.Profile.Inputs,
		Random:       r.Random,
		Read: func(u, j, s string) (string, bool) {
			return r.Cluster.Read(ctx, u, j, s)
		},
	}
}

func (r *Runner) where(it *item) string {
	return fmt.Sprintf("%s %s/%s %s (%s)", FormatTime(r.Clock.Now().Sub(r.start)), it.unit, it.job, it.a.Kind, it.a.Path)
}

func (r *Runner) do(ctx context.Context, it *item) {
	a := it.a
	env := r.env(it.unit, it.job, ctx)
	if a.If != nil && !it.ifChecked {
		ok, err := a.If.EvalBool(env)
		if err != nil {
			r.logf("%s: skipped: if %s: %v", r.where(it), a.If.Src, err)
			return
		}
		if !ok {
			r.logf("%s: skipped: if %s is false", r.where(it), a.If.Src)
			return
		}
		it.ifChecked = true
	}
	switch a.Kind {
	case Repeat:
		r.repeat(ctx, it, env)
		return
	case When:
		r.when(ctx, it, env)
		return
	}
	err := r.basic(ctx, it, env)
	r.done++
	if err != nil {
		r.logf("%s: %v", r.where(it), err)
	}
	if r.OnAction != nil {
		r.OnAction(r.done)
	}
}

func (r *Runner) basic(ctx context.Context, it *item, env *Env) error {
	a := it.a
	switch a.Kind {
	case Start:
		opts := map[string]string{}
		for _, o := range a.Options {
			v, err := o.Value.Eval(env)
			if err != nil {
				return fmt.Errorf("not started: option %s: %v", o.Name, err)
			}
			opts[o.Name] = v
		}
		if err := r.Cluster.Start(ctx, it.unit, it.job, opts, a.Args); err != nil {
			return err
		}
		r.started = append(r.started, unitJob{it.unit, it.job})
	case Update:
		for _, o := range a.Options {
			v, err := o.Value.Eval(env)
			if err != nil {
				return fmt.Errorf("%s not set: %v", o.Name, err)
			}
			if err := r.Cluster.Set(ctx, it.unit, it.job, o.Name, v); err != nil {
				return err
			}
		}
	case Pause:
		return r.Cluster.State(ctx, it.unit, it.job, "sleeping")
	case Resume:
		return r.Cluster.State(ctx, it.unit, it.job, "ready")
	case Stop:
		r.forget(it.unit, it.job)
		return r.Cluster.State(ctx, it.unit, it.job, "disconnected")
	case Log:
		msg, err := a.Message.Eval(env)
		if err != nil {
			return fmt.Errorf("log: %v", err)
		}
		return r.Cluster.Log(ctx, it.unit, a.Level, msg)
	}
	return nil
}

func (r *Runner) forget(unit, job string) {
	for i, uj := range r.started {
		if uj == (unitJob{unit, job}) {
			r.started = append(r.started[:i], r.started[i+1:]...)
			return
		}
	}
}

// repeat runs one loop: it ends past max_time or when while is false,
// else schedules its actions after now and itself every later.
func (r *Runner) repeat(ctx context.Context, it *item, env *Env) {
	a := it.a
	now := r.Clock.Now()
	if it.loopStart.IsZero() {
		it.loopStart = now
	}
	if a.MaxTime > 0 && now.Sub(it.loopStart) >= a.MaxTime {
		r.logf("%s: ends after max_time %s", r.where(it), FormatTime(a.MaxTime))
		return
	}
	if a.While != nil {
		ok, err := a.While.EvalBool(env)
		if err != nil {
			r.logf("%s: ends: while %s: %v", r.where(it), a.While.Src, err)
			return
		}
		if !ok {
			r.logf("%s: ends: while %s is false", r.where(it), a.While.Src)
			return
		}
	}
	r.schedule(now, it.unit, it.job, a.Actions)
	next := *it
	next.at = now.Add(a.Every)
	r.push(&next)
}

// when evaluates its condition; true schedules its actions after now,
// false (or not yet readable) tries again after Poll.
func (r *Runner) when(ctx context.Context, it *item, env *Env) {
	ok, err := it.a.WaitUntil.EvalBool(env)
	if err == nil && ok {
		r.logf("%s: %s is true", r.where(it), it.a.WaitUntil.Src)
		r.schedule(r.Clock.Now(), it.unit, it.job, it.a.Actions)
		return
	}
	next := *it
	next.at = r.Clock.Now().Add(r.Poll)
	r.push(&next)
}

// stopStarted asks the jobs the profile started to disconnect, last
// started first, with a context that outlives the cancelled one.
func (r *Runner) stopStarted() {
	ctx := context.Background()
	for i := len(r.started) - 1; i >= 0; i-- {
		uj := r.started[i]
		if err := r.Cluster.State(ctx, uj.unit, uj.job, "disconnected"); err != nil {
			r.logf("stopping %s/%s: %v", uj.unit, uj.job, err)
		}
	}
	r.started = nil
}

// Started lists the unit/job pairs the profile started and has not stopped.
func (r *Runner) Started() []string {
	out := make([]string, len(r.started))
	for i, uj := range r.started {
		out[i] = uj.unit + "/" + uj.job
	}
	sort.Strings(out)
	return out
}

// ActionCount is how many basic actions the profile schedules before any
// repeat or when: upstream's action_count.
func ActionCount(p *Profile, workers int) int {
	n := 0
	for _, jb := range p.Common {
		n += len(jb.Actions) * workers
	}
	for _, ub := range p.Units {
		for _, jb := range ub.Jobs {
			n += len(jb.Actions)
		}
	}
	return n
}
