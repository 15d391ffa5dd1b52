//go:build !linux

package clock

import (
	"context"
	"time"
)

// DefaultSpin is Real's spin margin where there is no kernel timer to wait
// on: Go timers overshoot by 0.3 to 1 ms, so a 2 ms margin absorbs them.
const DefaultSpin = 2 * time.Millisecond

// sleepUntil waits on a Go timer until spin before t, then spins.
func sleepUntil(ctx context.Context, t time.Time, spin time.Duration) error {
	if err := goTimerWait(ctx, t.Add(-spin)); err != nil {
		return err
	}
	return spinUntil(ctx, t)
}
