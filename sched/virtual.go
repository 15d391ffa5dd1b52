package sched

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Virtual is a deterministic scheduler on a virtual clock.
//
// One actor runs at a time: it holds the baton until it blocks (SleepUntil,
// Signal.Wait, Inbox.Get) or returns, and then the scheduler picks the next:
//
//  1. waiting actors whose context has ended become runnable, in start order;
//  2. the runnable actor that became runnable first runs;
//  3. if none is runnable, the clock jumps to the earliest timer (ties in the
//     order they were set) and wakes its actor or runs its callback (At);
//  4. if there is no timer either, the run is quiescent and Run returns.
//
// Nothing else decides the order, so a run is the same on every machine.
// Waits must be called from actors; Now may be called from anywhere.
type Virtual struct {
	mu          sync.Mutex
	now         time.Time
	limit       time.Time // waits past it end with ErrEndOfTime; zero: none
	pause       time.Time // RunUntil stops the clock here; zero: none
	seq         uint64
	actors      []*actor       // live actors, in start order
	runq        fifo[runnable] // actors to wake and tasks to run, in order
	timers      timerHeap
	current     *actor
	running     bool // inside Run or RunUntil
	dispatching bool // a goroutine is choosing the next actor
	idle        chan struct{}
}

type actor struct {
	name    string
	wake    chan struct{}
	waiting bool
	gen     uint64
	ctx     context.Context
	sig     *vSignal
	result  error
	// timedOut is set when a wait ended by its timer.
	timedOut bool
}

// runnable is an actor to hand the baton to, or a task (a Queue's handler)
// to run on the dispatching goroutine.
type runnable struct {
	a  *actor
	fn func()
}

type timer struct {
	at  time.Time
	seq uint64
	a   *actor
	gen uint64
	fn  func()
}

// timerHeap is a binary min-heap of timers by (at, seq), written out rather
// than through container/heap so that no timer is boxed in an interface.
type timerHeap []timer

func (h timerHeap) less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = timer{}
	s = s[:last]
	*h = s
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}

// NewVirtual returns a virtual scheduler whose clock starts at start.
func NewVirtual(start time.Time) *Virtual {
	return &Virtual{now: start, idle: make(chan struct{}, 1)}
}

// SetLimit makes every wait that would pass t end, at t, with ErrEndOfTime.
func (v *Virtual) SetLimit(t time.Time) {
	v.mu.Lock()
	v.limit = t
	v.mu.Unlock()
}

// Now implements clock.Clock.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// At runs fn when the clock reaches t, after the actors that were due before
// it. fn runs between actors, on the scheduler, and must not wait.
func (v *Virtual) At(t time.Time, fn func()) {
	v.mu.Lock()
	v.seq++
	v.timers.push(timer{at: t, seq: v.seq, fn: fn})
	v.mu.Unlock()
}

// Go implements Scheduler.
func (v *Virtual) Go(name string, fn func()) {
	a := &actor{name: name, wake: make(chan struct{}, 1)}
	v.mu.Lock()
	v.actors = append(v.actors, a)
	v.runq.push(runnable{a: a})
	v.kickLocked()
	v.mu.Unlock()
	go func() {
		<-a.wake
		defer v.exit(a)
		fn()
	}()
}

// Run runs actors until nothing can run: every actor has returned or waits
// for something only another actor (or the outside) could give it, and no
// timer is left. If ctx ends first, the waits of actors whose contexts end
// with it return, and Run goes on until the actors are quiescent again.
func (v *Virtual) Run(ctx context.Context) { v.RunUntil(ctx, time.Time{}) }

// RunUntil is Run that also stops when the next timer is after t, leaving
// the clock at t and later timers pending. A zero t means no stop.
func (v *Virtual) RunUntil(ctx context.Context, t time.Time) {
	v.mu.Lock()
	v.pause = t
	v.running = true
	select { // drop a stale quiescence token
	case <-v.idle:
	default:
	}
	v.kickLocked()
	v.mu.Unlock()
	done := ctx.Done()
	for {
		select {
		case <-v.idle:
		case <-done:
			done = nil
			v.mu.Lock()
			v.kickLocked()
			v.mu.Unlock()
			continue
		}
		v.mu.Lock()
		if v.current == nil && !v.dispatching && v.runq.len() == 0 {
			v.running = false
			if !v.pause.IsZero() && v.now.Before(v.pause) && v.nextTimerAfterPauseLocked() {
				v.now = v.pause
			}
			v.pause = time.Time{}
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
	}
}

func (v *Virtual) nextTimerAfterPauseLocked() bool {
	return len(v.timers) == 0 || v.timers[0].at.After(v.pause)
}

// Actors returns the names of the live actors, in start order (for tests
// and for a stuck simulation's report).
func (v *Virtual) Actors() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, len(v.actors))
	for i, a := range v.actors {
		out[i] = a.name
	}
	return out
}

// kickLocked starts dispatching if nobody holds the baton.
func (v *Virtual) kickLocked() {
	if v.running && v.current == nil && !v.dispatching {
		v.dispatchLocked()
	}
}

// readyLocked makes a waiting actor runnable with the given wait result.
func (v *Virtual) readyLocked(a *actor, err error) {
	a.waiting = false
	a.gen++
	a.result = err
	if a.sig != nil {
		a.sig.waiter = nil
		a.sig = nil
	}
	a.ctx = nil
	v.runq.push(runnable{a: a})
}

// post queues fn to run between actors, in order with them. Called with
// v.mu held.
func (v *Virtual) postLocked(fn func()) {
	v.runq.push(runnable{fn: fn})
	v.kickLocked()
}

// dispatchLocked hands the baton to the next actor (see Virtual's doc). It
// is called with v.mu held and nobody holding the baton.
func (v *Virtual) dispatchLocked() {
	v.dispatching = true
	defer func() { v.dispatching = false }()
	for {
		for _, a := range v.actors {
			if a.waiting && a.ctx != nil && a.ctx.Err() != nil {
				v.readyLocked(a, a.ctx.Err())
			}
		}
		if r, ok := v.runq.pop(); ok {
			if r.fn != nil {
				v.mu.Unlock()
				r.fn()
				v.mu.Lock()
				continue
			}
			v.current = r.a
			r.a.wake <- struct{}{}
			return
		}
		if len(v.timers) == 0 || !v.running {
			v.signalIdle()
			return
		}
		t := v.timers[0]
		if t.a != nil && (!t.a.waiting || t.a.gen != t.gen) {
			v.timers.pop() // a timer of a wait that ended otherwise
			continue
		}
		if !v.pause.IsZero() && t.at.After(v.pause) {
			if v.pause.After(v.now) {
				v.now = v.pause
			}
			v.signalIdle()
			return
		}
		v.timers.pop()
		if !v.limit.IsZero() && t.at.After(v.limit) {
			if v.limit.After(v.now) {
				v.now = v.limit
			}
			if t.a != nil {
				v.readyLocked(t.a, ErrEndOfTime)
			}
			continue
		}
		if t.at.After(v.now) {
			v.now = t.at
		}
		if t.a != nil {
			v.readyLocked(t.a, nil)
			t.a.timedOut = true
			continue
		}
		v.mu.Unlock()
		t.fn()
		v.mu.Lock()
	}
}

func (v *Virtual) signalIdle() {
	select {
	case v.idle <- struct{}{}:
	default:
	}
}

func (v *Virtual) exit(a *actor) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, x := range v.actors {
		if x == a {
			v.actors = append(v.actors[:i], v.actors[i+1:]...)
			break
		}
	}
	if v.current == a {
		v.current = nil
		v.dispatchLocked()
	}
}

// ErrNotActor is returned by a Virtual wait called outside an actor.
var ErrNotActor = errors.New("sched: a virtual wait was called outside an actor (start the work with Go)")

// block hands the baton on and waits to get it back. Called with v.mu held
// by the current actor, after it registered what it waits for.
func (v *Virtual) block(a *actor) error {
	v.current = nil
	v.dispatchLocked()
	v.mu.Unlock()
	<-a.wake
	return a.result
}

// SleepUntil implements clock.Clock. A deadline that has passed still hands
// the baton to the actors that are runnable (a yield).
func (v *Virtual) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	a := v.current
	if a == nil {
		v.mu.Unlock()
		return ErrNotActor
	}
	if !t.After(v.now) {
		a.result = nil
		v.runq.push(runnable{a: a})
		err := v.block(a)
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
	a.waiting = true
	a.ctx = ctx
	a.gen++
	v.seq++
	v.timers.push(timer{at: t, seq: v.seq, a: a, gen: a.gen})
	return v.block(a)
}

// NewSignal implements Scheduler.
func (v *Virtual) NewSignal() Signal { return &vSignal{v: v} }

type vSignal struct {
	v        *Virtual
	notified bool
	waiter   *actor
}

func (s *vSignal) Notify() {
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if w := s.waiter; w != nil {
		v.readyLocked(w, nil)
		v.kickLocked()
		return
	}
	s.notified = true
}

func (s *vSignal) Wait(ctx context.Context) error {
	v := s.v
	v.mu.Lock()
	if s.notified {
		s.notified = false
		v.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		v.mu.Unlock()
		return err
	}
	a := v.current
	if a == nil {
		v.mu.Unlock()
		return ErrNotActor
	}
	a.waiting = true
	a.ctx = ctx
	a.sig = s
	a.gen++
	s.waiter = a
	return v.block(a)
}

func (s *vSignal) WaitUntil(ctx context.Context, t time.Time) (bool, error) {
	v := s.v
	v.mu.Lock()
	if s.notified {
		s.notified = false
		v.mu.Unlock()
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		v.mu.Unlock()
		return false, err
	}
	a := v.current
	if a == nil {
		v.mu.Unlock()
		return false, ErrNotActor
	}
	a.waiting = true
	a.ctx = ctx
	a.sig = s
	a.gen++
	s.waiter = a
	v.seq++
	v.timers.push(timer{at: t, seq: v.seq, a: a, gen: a.gen})
	a.timedOut = false
	err := v.block(a)
	if err != nil {
		return false, err
	}
	return !a.timedOut, nil
}
