package dosing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/scriptnet"
	"github.com/piolab/pio/topic"
)

// MessageHandler is a Program that also reacts to MQTT messages: other jobs'
// readings, a person's command. Its handler runs on the automation's work
// actor, one message at a time, in the broker's order, between scheduled
// runs of execute() (never during one), and only while the job is ready.
type MessageHandler interface {
	// Subscriptions are topic filters; one that does not start with
	// "pioreactor/" is relative to pioreactor/<unit>/<experiment>/.
	Subscriptions() []string
	// Handle handles one message; its event, if any, becomes latest_event.
	Handle(ctx context.Context, a *Automation, m pubsub.Message) (*payload.Event, error)
}

// FullFilter expands a relative filter under the unit and experiment.
func FullFilter(unit, experiment, f string) string {
	if strings.HasPrefix(f, topic.Root+"/") {
		return f
	}
	return topic.Join(unit, experiment, f)
}

// checkHandlerGrants refuses a program whose handler filters reach outside
// pioreactor/<unit>/<experiment>/ without a [scripts.mqtt] subscribe grant.
// Start calls it before the job exists, so a refused automation publishes
// nothing.
func checkHandlerGrants(env *runtime.Env, h MessageHandler) error {
	g, err := scriptnet.ReadGrants(env.Config)
	if err != nil {
		return err
	}
	for _, f := range h.Subscriptions() {
		if err := g.CheckSubscribe(env.Unit, env.Experiment, f); err != nil {
			return fmt.Errorf("handlers: %w", err)
		}
	}
	return nil
}

// subscribeHandlers routes the program's subscriptions into the work
// actor's inbox (checkHandlerGrants has checked them).
func (a *Automation) subscribeHandlers(h MessageHandler) error {
	env := a.Env()
	a.msgs = sched.NewInbox[pubsub.Message](env.Sched)
	for _, f := range h.Subscriptions() {
		if err := a.Subscribe(FullFilter(env.Unit, a.Experiment, f), 2, func(m pubsub.Message) { a.msgs.Put(m) }); err != nil {
			return err
		}
	}
	return nil
}

// handleUntil handles messages as they arrive until the clock reaches until.
func (a *Automation) handleUntil(ctx context.Context, until time.Time) error {
	h := a.prog.(MessageHandler)
	for {
		for {
			m, ok := a.msgs.TryGet()
			if !ok {
				break
			}
			if a.State() != runtime.Ready {
				continue // upstream's automations ignore events while asleep
			}
			a.beginRun()
			ev, err := h.Handle(ctx, a, m)
			if a.publishOutcome(ctx, "the handler of "+m.Topic, ev, err) {
				return err
			}
		}
		notified, err := a.msgs.WaitUntil(ctx, until)
		if err != nil {
			return err
		}
		if !notified {
			return nil
		}
	}
}
