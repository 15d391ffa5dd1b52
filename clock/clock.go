// Package clock is the time source every pio component takes by injection.
//
// Real follows the wall clock. Its waits finish with a short spin so that a
// pump switched off at a deadline overshoots by microseconds, not by the
// millisecond granularity of the Go timer. Virtual time belongs to the
// scheduler (package sched), whose Virtual implements Clock for every actor
// of a simulated unit at once.
//
// Code never calls time.Sleep or time.Now directly; it calls Now and
// SleepUntil (or the Sleep helper) on the Clock it was given.
package clock

import (
	"context"
	"errors"
	"time"
)

// Clock is the time source of the runtime.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// SleepUntil blocks until the clock reaches t or ctx is done. It returns
	// ctx's error if ctx ended first, ErrEndOfTime if the clock cannot reach t
	// (a virtual clock past its limit), and nil otherwise.
	SleepUntil(ctx context.Context, t time.Time) error
}

// ErrEndOfTime is returned by a virtual scheduler's SleepUntil when the wait
// would pass its limit: the simulated run is over.
var ErrEndOfTime = errors.New("clock: end of simulated time")

// Sleep waits d on c. A zero or negative d only checks ctx.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	return c.SleepUntil(ctx, c.Now().Add(d))
}
