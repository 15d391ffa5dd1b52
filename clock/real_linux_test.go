//go:build linux

package clock

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestKernelWaitReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- kernelWait(ctx, time.Now().Add(time.Hour))
	}()
	time.Sleep(time.Millisecond)
	cancel()
	waitResult(t, done, context.Canceled)
}

func TestKernelWaitNeverWakesEarly(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, 3 * time.Millisecond} {
		start := time.Now()
		wakes := []time.Time{start.Add(d / 3), start.Add(d / 2), start.Add(d)}
		if err := kernelWait(context.Background(), wakes...); err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(wakes[2]) {
			t.Fatalf("timerfd woke %v early", wakes[2].Sub(now))
		}
	}
}

// threadState is what SleepUntil changes on the thread it runs on and must put
// back.
type threadState struct {
	policy uint32
	nice   int32
	slack  int
}

func currentThreadState(t *testing.T) threadState {
	t.Helper()
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Skipf("sched_getattr: %v", err)
	}
	slack, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Skipf("PR_GET_TIMERSLACK: %v", err)
	}
	return threadState{attr.Policy, attr.Nice, slack}
}

func TestRealSleepRestoresTheThread(t *testing.T) {
	// The test goroutine stays on one thread, so it sees what SleepUntil left
	// there; SleepUntil's own lock nests inside this one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := currentThreadState(t)
	for _, d := range []time.Duration{0, 2 * time.Millisecond, 3 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		if d == 0 {
			// The cancelled path too, within the last 20 ms so that the
			// wait is on the timerfd.
			time.AfterFunc(time.Millisecond, cancel)
			d = 15 * time.Millisecond
		}
		err := (Real{}).SleepUntil(ctx, time.Now().Add(d))
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if after := currentThreadState(t); after != before {
			t.Fatalf("thread before SleepUntil %+v, after %+v", before, after)
		}
	}
}

func TestBoostRaisesAndRestores(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := currentThreadState(t)
	restore := boost()
	during := currentThreadState(t)
	restore()
	if after := currentThreadState(t); after != before {
		t.Fatalf("thread before boost %+v, after restore %+v", before, after)
	}
	if during.slack != 1 {
		t.Errorf("timer slack while boosted = %d ns, want 1", during.slack)
	}
	if niceDenied.Load() || before.policy != unix.SCHED_NORMAL || before.nice <= boostNice {
		t.Skipf("nice %d not allowed or not applicable here (policy %d, nice %d)", boostNice, before.policy, before.nice)
	}
	if during.nice != boostNice {
		t.Errorf("nice while boosted = %d, want %d", during.nice, boostNice)
	}
}

func TestRealSleepWithoutPermissionToRaise(t *testing.T) {
	// Where nice -20 is refused, SleepUntil still waits, just unboosted.
	was := niceDenied.Swap(true)
	defer niceDenied.Store(was)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := currentThreadState(t)
	deadline := time.Now().Add(3 * time.Millisecond)
	if err := (Real{}).SleepUntil(context.Background(), deadline); err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); now.Before(deadline) {
		t.Fatalf("returned %v early", deadline.Sub(now))
	}
	if after := currentThreadState(t); after != before {
		t.Fatalf("thread before SleepUntil %+v, after %+v", before, after)
	}
}
