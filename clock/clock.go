// Package clock is the time source every pio component takes by injection.
//
// Three implementations share one small interface:
//
//   - Real follows the wall clock. Its waits finish with a short spin so that a
//     pump switched off at a deadline overshoots by microseconds, not by the
//     millisecond granularity of the Go timer.
//   - Virtual is a discrete-event clock for simulation and tests: a wait jumps
//     straight to its deadline, so a simulated day takes as long as the CPU
//     needs. Callbacks scheduled with At run at their exact virtual time, which
//     is how a simulation or a test injects "stop the pump at t=0.25 s".
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

// ErrEndOfTime is returned by a Virtual clock's SleepUntil when the wait would
// pass the clock's limit: the simulated run is over.
var ErrEndOfTime = errors.New("clock: end of simulated time")

// Sleep waits d on c. A zero or negative d only checks ctx.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	return c.SleepUntil(ctx, c.Now().Add(d))
}
