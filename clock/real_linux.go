//go:build linux

package clock

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultSpin is Real's spin margin on Linux. It must stay inside one
// scheduler slice (sched_base_slice: 0.7 ms × (1 + log2 CPUs), so 1.4 ms on 2
// CPUs and 2.1 ms on a 4-core Pi): under EEVDF a busy thread is protected from
// preemption for about one slice, whatever its nice value, and a 2 ms spin at
// nice -20 was preempted for a whole 4 ms tick with both cores loaded.
const DefaultSpin = time.Millisecond

const (
	// coarseMargin: a wait longer than Spin+coarseMargin first sleeps on a Go
	// timer (which holds no thread) until that far before t. A Go timer is
	// late by a few ms at worst, even on a loaded system.
	coarseMargin = 20 * time.Millisecond
	// ladder and ladderStep: the kernel wait first aims at Spin+ladder before
	// t, then walks the rest of the way to t-Spin in sleeps of ladderStep. A
	// long sleep can wake late by 1 to 3 ms now and then (seen in a virtual
	// machine, whose idle vCPU the host must wake); the ladder absorbs that,
	// and short sleeps wake late by tens of µs, not ms, so the spin is not
	// eaten into. On a Raspberry Pi the ladder costs ten cheap syscalls.
	ladder     = 2 * time.Millisecond
	ladderStep = 200 * time.Microsecond
	// restoreLead: the thread's priority is put back this long before t, so
	// that the cost of the syscalls (a few µs on a Pi, 15 to 60 µs in a VM)
	// lands in the spin and not after the deadline.
	restoreLead = 50 * time.Microsecond
	// boostNice is the waiting thread's nice value.
	boostNice = -20
)

// niceDenied records that the system refused boostNice once (EPERM): it is not
// tried again.
var niceDenied atomic.Bool

// sleepUntil waits for t in three steps:
//
//  1. Until Spin+20 ms before t, an ordinary Go timer (a select that also
//     watches ctx). A long wait holds no thread and no raised priority.
//  2. The goroutine locks itself to its OS thread, raises that thread's
//     priority (below), sets its timer slack to 1 ns, and blocks in read(2) on
//     a timerfd (CLOCK_MONOTONIC) armed for t-Spin-2ms, then in 200 µs steps
//     up to t-Spin (see ladder). The kernel wakes this thread itself: no hop
//     through the Go scheduler's netpoller or another thread. ctx is watched
//     by a context.AfterFunc that re-arms the timerfd to expire at once; the
//     wait then returns ctx.Err().
//  3. It spins on time.Now (checking ctx) until 50 µs before t, restores the
//     thread's nice value and timer slack, spins the last 50 µs and unlocks
//     the thread. The final spin is what guarantees SleepUntil never returns
//     before t, whatever woke it.
//
// Priority: the thread runs at nice -20 (SCHED_OTHER) while it waits and
// spins, so that under load its wake-ups preempt ordinary tasks and its spin
// keeps the CPU. This needs CAP_SYS_NICE or an RLIMIT_NICE of 40 (systemd:
// AmbientCapabilities=CAP_SYS_NICE or LimitNICE=-20). Where the system refuses
// (an ordinary user, as for a Raspberry Pi service by default, or a container),
// the thread keeps its priority, silently, and the refusal is remembered for
// the life of the process: the wait is then as precise as an idle system
// allows and degrades under load. A thread that already runs under another
// policy (real-time, batch, idle) or at nice -20 is left as it is.
//
// SCHED_FIFO was measured and rejected: it wakes and spins well, but the
// switch back to SCHED_OTHER forces a reschedule, and with both cores busy the
// competing task won it often enough to make p99 a full 4 ms tick.
func sleepUntil(ctx context.Context, t time.Time, spin time.Duration) error {
	if err := goTimerWait(ctx, t.Add(-spin-coarseMargin)); err != nil {
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restore := boost()
	end := t.Add(-spin)
	wakes := make([]time.Time, 0, ladder/ladderStep+1)
	for w := end.Add(-ladder); w.Before(end); w = w.Add(ladderStep) {
		wakes = append(wakes, w)
	}
	err := kernelWait(ctx, append(wakes, end)...)
	if err == nil {
		err = spinUntil(ctx, t.Add(-restoreLead))
	}
	restore()
	if err != nil {
		return err
	}
	return spinUntil(ctx, t)
}

// boost raises the calling (locked) thread's priority as far as allowed and
// sets its timer slack to 1 ns. It returns the function that undoes both.
func boost() (restore func()) {
	slack, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	slackSet := err == nil && unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) == nil
	saved := raiseNice()
	return func() {
		if saved != nil {
			restoreNice(saved)
		}
		if slackSet {
			_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack), 0, 0, 0)
		}
	}
}

// raiseNice sets the calling thread to nice boostNice and returns its previous
// attributes, or nil if it left the thread alone.
func raiseNice() *unix.SchedAttr {
	if niceDenied.Load() {
		return nil
	}
	saved, err := unix.SchedGetAttr(0, 0)
	if err != nil || saved.Policy != unix.SCHED_NORMAL || saved.Nice <= boostNice {
		return nil
	}
	attr := unix.SchedAttr{
		Policy: unix.SCHED_NORMAL,
		Nice:   boostNice,
		// A child forked from this thread starts at nice 0.
		Flags: unix.SCHED_FLAG_RESET_ON_FORK,
		// Runtime 0: the default slice. sched_getattr reports the slice in
		// use, custom or not, and setting it back would pin it as custom.
	}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			niceDenied.Store(true)
		}
		return nil
	}
	return saved
}

// restoreNice puts back the policy and nice value raiseNice saved. (A custom
// slice set on the thread by the program itself, which Go's threads do not
// have, would come back as the default one.)
func restoreNice(saved *unix.SchedAttr) {
	attr := unix.SchedAttr{
		Policy: saved.Policy,
		Nice:   saved.Nice,
		Flags:  saved.Flags & unix.SCHED_FLAG_RESET_ON_FORK,
	}
	if unix.SchedSetAttr(0, &attr, 0) == nil {
		return
	}
	// Lowering a priority is always allowed; should it fail all the same, do
	// not hand a nice -20 thread back to the Go scheduler: one more lock
	// outlives the caller's unlock, so the runtime ends the thread with this
	// goroutine instead of reusing it.
	runtime.LockOSThread()
}

// kernelWait blocks the calling thread in read(2) on a timerfd until
// CLOCK_MONOTONIC reaches each of wakes in turn (those in the past are skipped)
// or ctx is done. Should a timerfd fail, it falls back to a Go timer.
//
// Cancellation: a context.AfterFunc re-arms the timerfd to expire at once. The
// timer is armed under the same lock after checking ctx, so a cancel between
// two waits is not overwritten by the next arming.
func kernelWait(ctx context.Context, wakes ...time.Time) error {
	last := wakes[len(wakes)-1]
	if time.Until(last) <= 0 {
		return ctx.Err()
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC)
	if err != nil {
		return goTimerWait(ctx, last)
	}
	var (
		mu     sync.Mutex // guards fd: arming, and the close below
		closed bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			_ = armTimerfd(fd, time.Time{})
		}
	})
	for _, wake := range wakes {
		if time.Until(wake) <= 0 {
			continue
		}
		mu.Lock()
		if ctx.Err() == nil {
			err = armTimerfd(fd, wake)
		}
		mu.Unlock()
		if err != nil || ctx.Err() != nil {
			break
		}
		var buf [8]byte
		for {
			_, err = unix.Read(fd, buf[:])
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err != nil {
			break
		}
	}
	stop()
	mu.Lock()
	closed = true
	unix.Close(fd)
	mu.Unlock()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if err != nil {
		return goTimerWait(ctx, last)
	}
	return nil
}

// armTimerfd sets fd to expire once when CLOCK_MONOTONIC reaches wake; a zero
// wake makes it expire at once.
func armTimerfd(fd int, wake time.Time) error {
	// An absolute time in the past expires at once.
	spec := unix.ItimerSpec{Value: unix.Timespec{Nsec: 1}}
	if !wake.IsZero() {
		// time.Until first, the clock second: the expiry can only come out
		// late (by the ns between the two reads), never early. Go's
		// monotonic clock is CLOCK_MONOTONIC, so the two agree.
		d := time.Until(wake)
		var now unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
			return err
		}
		spec.Value = unix.NsecToTimespec(now.Nano() + max(int64(d), 1))
	}
	return unix.TimerfdSettime(fd, unix.TFD_TIMER_ABSTIME, &spec, nil)
}
