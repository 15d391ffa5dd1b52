package dosing

import (
	"context"
	"time"

	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// Triggered is a Program that runs on readings instead of a timer, as
// upstream's turbidostat does: each live reading of the selected kind runs
// execute() once. Retained and empty messages, readings of other kinds, and
// readings that arrive while the job is not ready or is settling are
// ignored (dropped, not queued); readings that arrive during a run collapse
// into exactly one run after it.
type Triggered interface {
	// RunsOnReadings reports whether the program is event-driven (a
	// program may implement Triggered and still run on a timer).
	RunsOnReadings() bool
	// TriggerKind is the kind of reading that runs execute() now (it may
	// follow a setting); false: none.
	TriggerKind(a *Automation) (readings.Kind, bool)
	// Settling is how long, after a run that moved liquid, readings are
	// ignored (upstream's SETTLING_TIME_SECONDS).
	Settling() time.Duration
}

// trigger is the state of a Triggered program's runs.
type trigger struct {
	prog    Triggered
	wake    sched.Signal
	pending bool      // a reading arrived since the last run began; under a.mu
	settle  time.Time // readings before this are ignored; under a.mu
}

// startTrigger listens for the program's readings. Call it before job.Start.
func (a *Automation) startTrigger(p Triggered) {
	a.trig = &trigger{prog: p, wake: a.Env().Sched.NewSignal()}
	a.readings.OnUpdate(func(k readings.Kind, _ readings.Reading) {
		want, ok := p.TriggerKind(a)
		if !ok || k != want || a.State() != runtime.Ready {
			return
		}
		a.mu.Lock()
		if a.Env().Sched.Now().Before(a.trig.settle) {
			a.mu.Unlock()
			return
		}
		a.trig.pending = true
		a.mu.Unlock()
		a.trig.wake.Notify()
	})
}

// runTriggered runs execute() for each reading that triggers it, until ctx
// ends or the clock does.
func (a *Automation) runTriggered(ctx context.Context) error {
	for {
		a.mu.Lock()
		run := a.trig.pending
		a.trig.pending = false
		a.mu.Unlock()
		if run && a.State() == runtime.Ready {
			a.beginRun()
			ev, err := a.prog.Execute(ctx, a)
			if a.publishOutcome(ctx, "execute()", ev, err) {
				return nil
			}
			if ev == nil && err == nil {
				a.SetValue("latest_event", nil) // upstream: a run that returns None clears it
			}
			a.mu.Lock()
			if len(a.runMoved) > 0 {
				a.trig.settle = a.Env().Sched.Now().Add(a.trig.prog.Settling())
			}
			a.mu.Unlock()
			continue
		}
		if err := a.trig.wake.Wait(ctx); err != nil {
			return nil
		}
	}
}
