package clock

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// failAfter is how long a test waits for something that should take
// microseconds before it gives up: generous, so that a slow or loaded machine
// cannot make the tests flaky; a hang still fails.
const failAfter = 10 * time.Second

func TestRealSleepNeverReturnsEarly(t *testing.T) {
	for _, spin := range []time.Duration{0, -1, 100 * time.Microsecond, 10 * time.Millisecond} {
		r := Real{Spin: spin}
		for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 5 * time.Millisecond} {
			deadline := time.Now().Add(d)
			if err := r.SleepUntil(context.Background(), deadline); err != nil {
				t.Fatalf("Spin %v, wait %v: %v", spin, d, err)
			}
			if now := time.Now(); now.Before(deadline) {
				t.Fatalf("Spin %v, wait %v: returned %v early", spin, d, deadline.Sub(now))
			}
		}
	}
}

func TestRealSleepNeverReturnsEarlyOnTheWallClock(t *testing.T) {
	// A deadline without a monotonic reading (parsed, or built with
	// time.Date) is compared on the wall clock.
	deadline := time.Now().Add(3 * time.Millisecond).Round(0)
	if err := (Real{}).SleepUntil(context.Background(), deadline); err != nil {
		t.Fatal(err)
	}
	if now := time.Now().Round(0); now.Before(deadline) {
		t.Fatalf("returned %v early", deadline.Sub(now))
	}
}

func TestRealSleepConcurrentWaitersNeverReturnEarly(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 {
				deadline := time.Now().Add(time.Duration(1+(g+i)%4) * time.Millisecond)
				if err := (Real{}).SleepUntil(context.Background(), deadline); err != nil {
					t.Error(err)
					return
				}
				if now := time.Now(); now.Before(deadline) {
					t.Errorf("returned %v early", deadline.Sub(now))
				}
			}
		})
	}
	wg.Wait()
}

func TestRealSleepPastDeadlineReturnsAtOnce(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Nanosecond, -time.Hour} {
		start := time.Now()
		if err := (Real{}).SleepUntil(context.Background(), start.Add(d)); err != nil {
			t.Fatalf("t = now%+v: %v", d, err)
		}
		if took := time.Since(start); took > failAfter {
			t.Fatalf("t = now%+v: took %v", d, took)
		}
	}
}

func TestRealSleepCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, d := range []time.Duration{-time.Second, time.Millisecond, time.Hour} {
		if err := (Real{}).SleepUntil(ctx, time.Now().Add(d)); !errors.Is(err, context.Canceled) {
			t.Fatalf("t = now%+v: err = %v, want context.Canceled", d, err)
		}
	}
}

// sleepInBackground starts SleepUntil(ctx, t) and returns a channel that gets
// its result.
func sleepInBackground(ctx context.Context, r Real, t time.Time) <-chan error {
	done := make(chan error, 1)
	go func() { done <- r.SleepUntil(ctx, t) }()
	return done
}

func waitResult(t *testing.T, done <-chan error, want error) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, want) {
			t.Fatalf("err = %v, want %v", err, want)
		}
	case <-time.After(failAfter):
		t.Fatalf("SleepUntil did not return %v after cancel", failAfter)
	}
}

func TestRealSleepReturnsOnCancel(t *testing.T) {
	// A far deadline is first waited on a Go timer; a near one (within Spin
	// plus 20 ms, on Linux) on the locked thread's timerfd. Both must end on
	// cancel.
	for _, d := range []time.Duration{time.Hour, 15 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		deadline := time.Now().Add(d)
		done := sleepInBackground(ctx, Real{}, deadline)
		time.Sleep(time.Millisecond)
		cancel()
		waitResult(t, done, context.Canceled)
	}
}

func TestRealSleepReturnsAtContextDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
	defer cancel()
	waitResult(t, sleepInBackground(ctx, Real{}, time.Now().Add(time.Hour)), context.DeadlineExceeded)
}

func TestRealSleepCancelRacingTheDeadline(t *testing.T) {
	// Cancel lands before, near or after the deadline: the result is either
	// nil no earlier than the deadline or context.Canceled. Run with -race:
	// the cancel path and the wait share a file descriptor.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		ctx, cancel := context.WithCancel(context.Background())
		deadline := time.Now().Add(2 * time.Millisecond)
		time.AfterFunc(time.Duration(rng.IntN(3000))*time.Microsecond, cancel)
		err := (Real{}).SleepUntil(ctx, deadline)
		switch {
		case err == nil:
			if now := time.Now(); now.Before(deadline) {
				t.Fatalf("returned %v early", deadline.Sub(now))
			}
		case !errors.Is(err, context.Canceled):
			t.Fatalf("err = %v", err)
		}
		cancel()
	}
}
