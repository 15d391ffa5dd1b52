package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

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
