package clock

import (
	"context"
	"time"
)

// Real is the wall clock. Its zero value is ready to use.
//
// SleepUntil never returns nil before t: whatever wakes it, it finishes with
// a spin on time.Now up to t. How it gets close to t is up to the platform.
// On Linux (real_linux.go) the last stretch of the wait runs on the caller's
// own OS thread, blocked on a kernel timer (timerfd) with the thread raised to
// nice -20 where the system allows it, and the spin is Spin long (1 ms by
// default); elsewhere it is a Go timer and a 2 ms spin.
type Real struct {
	// Spin is how long before a deadline the wait stops sleeping and spins.
	// Zero means DefaultSpin; a negative value disables spinning (the timer
	// is aimed at the deadline itself and only the final check remains).
	Spin time.Duration
}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// SleepUntil implements Clock. It returns ctx.Err() if ctx is done before t
// (soon after it is cancelled), nil at once if t has passed, and otherwise nil
// no earlier than t.
func (r Real) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !time.Now().Before(t) {
		return nil
	}
	spin := r.Spin
	if spin == 0 {
		spin = DefaultSpin
	}
	if spin < 0 {
		spin = 0
	}
	return sleepUntil(ctx, t, spin)
}

// goTimerWait sleeps on a Go timer until wake or until ctx is done. A wake in
// the past returns at once.
func goTimerWait(ctx context.Context, wake time.Time) error {
	d := time.Until(wake)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// spinUntil busy-waits until t, checking ctx now and then.
func spinUntil(ctx context.Context, t time.Time) error {
	for i := 0; time.Now().Before(t); i++ {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
