// Package sched runs the jobs of a unit. Every job, and every goroutine that
// works for one, is an actor started with Scheduler.Go; actors block only
// through the scheduler: on its clock (SleepUntil), on a Signal, or on an
// Inbox. Two schedulers share the interface:
//
//   - Real runs actors as ordinary goroutines on the wall clock: a unit on a
//     Raspberry Pi, or the simulated reactor in real time.
//   - Virtual runs them one at a time on a virtual clock: exactly one actor
//     holds the baton, and it hands it on only when it blocks. The clock
//     advances only when every actor is blocked, and then wakes the earliest
//     waiter (time, then a stable sequence). Which actor runs next is decided
//     by that order alone, never by the Go runtime, so a simulation is
//     reproducible byte for byte for a seed, whatever GOMAXPROCS is.
//
// The same job code runs on both; it never calls time.Sleep, time.Now or
// starts a bare goroutine.
package sched

import (
	"context"
	"sync"
	"time"

	"github.com/piolab/pio/clock"
)

// Scheduler runs actors on a clock.
type Scheduler interface {
	clock.Clock
	// Go starts fn as an actor. Under Virtual it first runs when the actor
	// that called Go blocks.
	Go(name string, fn func())
	// NewSignal returns a wake-up flag for one waiting actor.
	NewSignal() Signal
}

// Signal wakes one actor: Notify sets it (from anywhere, never blocking), Wait
// blocks until it is set (and clears it) or ctx ends.
type Signal interface {
	Notify()
	Wait(ctx context.Context) error
	// WaitUntil is Wait that also returns, with notified false, when the
	// clock reaches t.
	WaitUntil(ctx context.Context, t time.Time) (notified bool, err error)
}

// ErrEndOfTime is returned by a Virtual scheduler's waits that would pass its
// limit: the simulated run is over.
var ErrEndOfTime = clock.ErrEndOfTime

// Inbox is an unbounded FIFO with one consumer: handlers Put what they
// receive and return at once; the owning actor Gets it in order.
type Inbox[T any] struct {
	sig Signal
	mu  sync.Mutex
	q   fifo[T]
}

// NewInbox returns an empty inbox whose consumer runs on s.
func NewInbox[T any](s Scheduler) *Inbox[T] { return &Inbox[T]{sig: s.NewSignal()} }

// Put appends v. It never blocks.
func (b *Inbox[T]) Put(v T) {
	b.mu.Lock()
	b.q.push(v)
	b.mu.Unlock()
	b.sig.Notify()
}

// Get returns the oldest item, waiting for one until ctx ends.
func (b *Inbox[T]) Get(ctx context.Context) (T, error) {
	for {
		if v, ok := b.TryGet(); ok {
			return v, nil
		}
		if err := b.sig.Wait(ctx); err != nil {
			var zero T
			return zero, err
		}
	}
}

// TryGet returns the oldest item if there is one.
func (b *Inbox[T]) TryGet() (T, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.q.pop()
}

// Len is the number of items waiting.
func (b *Inbox[T]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.q.len()
}

// WaitUntil returns when an item may be waiting (true), or when the clock
// reaches t (false), or when ctx ends.
func (b *Inbox[T]) WaitUntil(ctx context.Context, t time.Time) (bool, error) {
	if b.Len() > 0 {
		return true, nil
	}
	return b.sig.WaitUntil(ctx, t)
}

// Real runs actors as goroutines on a real clock.
type Real struct {
	clock.Clock
	wg sync.WaitGroup
}

// NewReal returns a scheduler on c (normally clock.Real).
func NewReal(c clock.Clock) *Real { return &Real{Clock: c} }

// Go implements Scheduler.
func (r *Real) Go(_ string, fn func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn()
	}()
}

// Wait blocks until every actor started with Go has returned.
func (r *Real) Wait() { r.wg.Wait() }

// NewSignal implements Scheduler.
func (r *Real) NewSignal() Signal { return &realSignal{c: make(chan struct{}, 1), clk: r.Clock} }

type realSignal struct {
	c   chan struct{}
	clk clock.Clock
}

func (s *realSignal) Notify() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

func (s *realSignal) Wait(ctx context.Context) error {
	select {
	case <-s.c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *realSignal) WaitUntil(ctx context.Context, t time.Time) (bool, error) {
	select {
	case <-s.c:
		return true, nil
	default:
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	woke := make(chan struct{})
	go func() {
		defer close(woke)
		select {
		case <-s.c:
			cancel()
		case <-wctx.Done():
		}
	}()
	err := s.clk.SleepUntil(wctx, t)
	cancel()
	<-woke
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil && wctx.Err() != nil {
		return true, nil // woken by Notify
	}
	return false, err
}
