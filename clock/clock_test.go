package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestVirtualJumpsToDeadline(t *testing.T) {
	v := NewVirtual(t0)
	if err := Sleep(context.Background(), v, 90*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := v.Now().Sub(t0); got != 90*time.Minute {
		t.Fatalf("now = t0+%v, want t0+90m", got)
	}
	// Sleeping into the past does not move the clock back.
	if err := v.SleepUntil(context.Background(), t0); err != nil || v.Now().Sub(t0) != 90*time.Minute {
		t.Fatalf("SleepUntil(past) moved the clock to %v (err %v)", v.Now(), err)
	}
}

func TestVirtualRunsCallbacksInOrderAtTheirTime(t *testing.T) {
	v := NewVirtual(t0)
	var seen []time.Duration
	for _, d := range []time.Duration{3 * time.Second, time.Second, 2 * time.Second, time.Second} {
		v.At(t0.Add(d), func() { seen = append(seen, v.Now().Sub(t0)) })
	}
	v.At(t0.Add(time.Hour), func() { t.Error("callback past the wait ran") })
	if err := Sleep(context.Background(), v, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, time.Second, 2 * time.Second, 3 * time.Second}
	if len(seen) != len(want) {
		t.Fatalf("callbacks ran at %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("callbacks ran at %v, want %v", seen, want)
		}
	}
}

func TestVirtualCallbackCancelsTheWait(t *testing.T) {
	v := NewVirtual(t0)
	ctx, cancel := context.WithCancel(context.Background())
	v.At(t0.Add(250*time.Millisecond), cancel)
	err := v.SleepUntil(ctx, t0.Add(500*time.Millisecond))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := v.Now().Sub(t0); got != 250*time.Millisecond {
		t.Fatalf("woke at +%v, want +250ms", got)
	}
}

func TestVirtualLimit(t *testing.T) {
	v := NewVirtual(t0)
	v.SetLimit(t0.Add(time.Hour))
	if err := Sleep(context.Background(), v, 59*time.Minute); err != nil {
		t.Fatal(err)
	}
	err := Sleep(context.Background(), v, 2*time.Minute)
	if !errors.Is(err, ErrEndOfTime) {
		t.Fatalf("err = %v, want ErrEndOfTime", err)
	}
	if !v.Now().Equal(t0.Add(time.Hour)) {
		t.Fatalf("now = %v, want the limit", v.Now())
	}
	v.Advance(time.Minute) // Advance ignores the limit
	if !v.Now().Equal(t0.Add(61 * time.Minute)) {
		t.Fatalf("Advance: now = %v", v.Now())
	}
}

func TestRealSleepReturnsNoEarlierThanDeadline(t *testing.T) {
	r := Real{}
	deadline := time.Now().Add(3 * time.Millisecond)
	if err := r.SleepUntil(context.Background(), deadline); err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); now.Before(deadline) {
		t.Fatalf("returned %v early", deadline.Sub(now))
	}
}

func TestRealSleepHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Real{}.SleepUntil(ctx, time.Now().Add(time.Hour))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
