package sched

import (
	"context"
	"sync"
)

// Queue runs a handler for each item put, in order, one item at a time, and
// never blocks the putter. It is how a job handles its MQTT messages:
//
//   - under Virtual the handler runs between actors, on the scheduler, in
//     order with them (no goroutine switch per message), so it must not wait;
//   - under Real it runs on a goroutine of the queue's own.
//
// A queue is created held: items wait until Start, so that a job can
// subscribe before it is ready. Close drops what is still queued.
type Queue[T any] struct {
	s    Scheduler
	name string
	fn   func(T)

	mu      sync.Mutex
	items   fifo[T]
	started bool
	closed  bool
	posted  bool // Virtual: a drain task is queued

	sig     Signal // Real
	cancel  context.CancelFunc
	drainFn func() // q.drain, made once
}

// NewQueue returns a held queue whose items fn handles once started.
func NewQueue[T any](s Scheduler, name string, fn func(T)) *Queue[T] {
	q := &Queue[T]{s: s, name: name, fn: fn}
	q.drainFn = q.drain
	return q
}

// Start begins handling, first the items put so far.
func (q *Queue[T]) Start() {
	q.mu.Lock()
	if q.started || q.closed {
		q.mu.Unlock()
		return
	}
	q.started = true
	if _, virtual := q.s.(*Virtual); virtual {
		q.mu.Unlock()
		q.schedule()
		return
	}
	q.sig = q.s.NewSignal()
	ctx, cancel := context.WithCancel(context.Background())
	q.cancel = cancel
	q.mu.Unlock()
	q.s.Go(q.name, func() { q.loop(ctx) })
}

// Put appends v.
func (q *Queue[T]) Put(v T) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items.push(v)
	started, sig := q.started, q.sig
	q.mu.Unlock()
	if !started {
		return
	}
	if sig != nil {
		sig.Notify()
		return
	}
	q.schedule()
}

// Close stops handling and drops what is queued.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.items.drop()
	cancel := q.cancel
	q.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// schedule queues a drain task on the virtual scheduler, once.
func (q *Queue[T]) schedule() {
	v := q.s.(*Virtual)
	q.mu.Lock()
	if q.posted || q.closed || q.items.len() == 0 {
		q.mu.Unlock()
		return
	}
	q.posted = true
	q.mu.Unlock()
	v.mu.Lock()
	v.postLocked(q.drainFn)
	v.mu.Unlock()
}

func (q *Queue[T]) next() (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		var zero T
		q.posted = false
		return zero, false
	}
	v, ok := q.items.pop()
	if !ok {
		q.posted = false
	}
	return v, ok
}

// drain handles every queued item, including those put meanwhile.
func (q *Queue[T]) drain() {
	for {
		v, ok := q.next()
		if !ok {
			return
		}
		q.fn(v)
	}
}

func (q *Queue[T]) loop(ctx context.Context) {
	for {
		for {
			v, ok := q.next()
			if !ok {
				break
			}
			q.fn(v)
		}
		if q.sig.Wait(ctx) != nil {
			return
		}
	}
}
