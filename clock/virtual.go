package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Virtual is a discrete-event clock. Time moves only when someone waits: a
// SleepUntil jumps to its deadline at once. Callbacks registered with At run, in
// time order, when a wait passes their time, before the waiter returns, so a
// callback that cancels the waiter's context is seen by that wait. A callback
// due exactly at a wait's deadline runs after that waiter has returned (at the
// start of the next wait): what was due at t happens, then the event at t.
//
// Virtual is meant for one actor at a time (the simulated unit's automation
// goroutine, or a test): two goroutines waiting concurrently each jump the clock
// forward, which keeps time monotonic but not meaningful. Deterministic runs
// come from keeping all work on one goroutine, as pio simulate does.
type Virtual struct {
	mu      sync.Mutex
	now     time.Time
	limit   time.Time // zero: no limit
	pending []scheduled
	seq     int
}

type scheduled struct {
	at  time.Time
	seq int
	fn  func()
}

// NewVirtual returns a virtual clock that starts at start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// SetLimit makes waits that would pass t stop at t with ErrEndOfTime.
func (v *Virtual) SetLimit(t time.Time) {
	v.mu.Lock()
	v.limit = t
	v.mu.Unlock()
}

// Now implements Clock.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// At schedules fn to run when the clock reaches t. fn runs on the goroutine that
// moves the clock, with no lock held, so it may use the clock itself.
func (v *Virtual) At(t time.Time, fn func()) {
	v.mu.Lock()
	v.seq++
	v.pending = append(v.pending, scheduled{at: t, seq: v.seq, fn: fn})
	sort.Slice(v.pending, func(i, j int) bool {
		if v.pending[i].at.Equal(v.pending[j].at) {
			return v.pending[i].seq < v.pending[j].seq
		}
		return v.pending[i].at.Before(v.pending[j].at)
	})
	v.mu.Unlock()
}

// Advance moves the clock forward by d, running due callbacks. It ignores the
// limit; it is for tests that drive time by hand.
func (v *Virtual) Advance(d time.Duration) {
	v.mu.Lock()
	target := v.now.Add(d)
	limit := v.limit
	v.limit = time.Time{}
	v.mu.Unlock()
	_ = v.sleepUntil(context.Background(), target, true)
	v.mu.Lock()
	v.limit = limit
	v.mu.Unlock()
}

// SleepUntil implements Clock.
func (v *Virtual) SleepUntil(ctx context.Context, t time.Time) error {
	return v.sleepUntil(ctx, t, false)
}

func (v *Virtual) sleepUntil(ctx context.Context, t time.Time, inclusive bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		v.mu.Lock()
		if len(v.pending) > 0 && (v.pending[0].at.Before(t) || inclusive && v.pending[0].at.Equal(t) || !v.pending[0].at.After(v.now)) &&
			(v.limit.IsZero() || !v.pending[0].at.After(v.limit)) {
			next := v.pending[0]
			v.pending = v.pending[1:]
			if next.at.After(v.now) {
				v.now = next.at
			}
			v.mu.Unlock()
			next.fn()
			continue
		}
		if !v.limit.IsZero() && t.After(v.limit) {
			if v.limit.After(v.now) {
				v.now = v.limit
			}
			v.mu.Unlock()
			return ErrEndOfTime
		}
		if t.After(v.now) {
			v.now = t
		}
		v.mu.Unlock()
		return ctx.Err()
	}
}
