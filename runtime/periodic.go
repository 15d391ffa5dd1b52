package runtime

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/sched"
)

// Periodic is the schedule of a periodic job, as upstream's automations run
// theirs: the first run FirstRunDelay after ready, then on a fixed grid every
// period (a late run skips grid points rather than drifting); runs that fall
// while the job is not active (sleeping) are skipped. A period change
// reschedules as upstream's new timer does: one new period after the last
// run, or now if that has passed or nothing ran yet, and the grid restarts
// there. A zero period means one run.
type Periodic struct {
	sched         sched.Scheduler
	firstRunDelay time.Duration
	// Between, if set, is how the schedule waits for its next run: it must
	// return nil when the clock reaches until. A job that also handles
	// messages handles them there, on the same actor as its runs.
	Between func(ctx context.Context, until time.Time) error

	mu         sync.Mutex
	period     time.Duration
	reschedule bool
	wake       context.CancelFunc
	lastRun    time.Time
	ranOnce    bool
}

// NewPeriodic returns a schedule on s.
func NewPeriodic(s sched.Scheduler, firstRunDelay, period time.Duration) *Periodic {
	return &Periodic{sched: s, firstRunDelay: firstRunDelay, period: period}
}

// Period is the current period (zero: one run).
func (p *Periodic) Period() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.period
}

// SetPeriod changes the period and reschedules. A schedule created without a
// period runs once and has nothing to reschedule.
func (p *Periodic) SetPeriod(d time.Duration) {
	p.mu.Lock()
	had := p.period > 0
	p.period = d
	p.reschedule = true
	wake := p.wake
	p.mu.Unlock()
	if had && wake != nil {
		wake()
	}
}

// Run runs the schedule until ctx ends, the clock ends (a simulation's
// limit), or, without a period, after its one run. run is called when a run
// is due and active() holds.
func (p *Periodic) Run(ctx context.Context, active func() bool, run func(ctx context.Context)) error {
	clk := p.sched
	next := clk.Now().Add(p.firstRunDelay)
	var anchor time.Time
	for {
		waitCtx, wake := context.WithCancel(ctx)
		p.mu.Lock()
		p.wake = wake
		p.mu.Unlock()
		var err error
		if p.Between != nil {
			err = p.Between(waitCtx, next)
		} else {
			err = clk.SleepUntil(waitCtx, next)
		}
		wake()
		if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
			return nil
		}
		p.mu.Lock()
		resched, period, last, ran := p.reschedule, p.period, p.lastRun, p.ranOnce
		p.reschedule = false
		p.mu.Unlock()
		if err != nil {
			if !resched {
				return nil
			}
			next = clk.Now()
			if ran && last.Add(period).After(next) {
				next = last.Add(period)
			}
			anchor = next
			continue
		}
		if active() {
			p.mu.Lock()
			p.lastRun, p.ranOnce = clk.Now(), true
			p.mu.Unlock()
			run(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		p.mu.Lock()
		period, resched, last = p.period, p.reschedule, p.lastRun
		p.reschedule = false
		p.mu.Unlock()
		if period <= 0 {
			return nil
		}
		if resched {
			next = last.Add(period)
			if now := clk.Now(); next.Before(now) {
				next = now
			}
			anchor = next
			continue
		}
		if anchor.IsZero() {
			anchor = next
		}
		k := clk.Now().Sub(anchor)/period + 1
		next = anchor.Add(k * period)
	}
}
