package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
)

// pyFloat is payload.PyFloat, short for log lines.
func pyFloat(f float64) string { return payload.PyFloat(f) }

// PublishDosingEvent publishes one dosing event of experiment: through the
// outbox if env has one (it never waits for the broker then), else on
// client, waiting for the broker (the in-memory one never fails).
func (e *Env) PublishDosingEvent(client pubsub.Client, experiment string, ev payload.DosingEvent) error {
	topic := e.DosingEventsTopic(experiment)
	b := ev.AppendJSON(make([]byte, 0, 160))
	if o := e.Outbox; o != nil {
		return o.Publish(topic, b)
	}
	if err := client.Publish(topic, b, 2, false); err != nil {
		return fmt.Errorf("dosing event not published on %s: %w", topic, err)
	}
	return nil
}

// eventPublisher publishes a pump's dosing events in order: through the
// Env's outbox if it has one; else inline on the virtual scheduler (the
// in-memory broker never blocks), and from an unbounded queue on a real
// broker (Env.AsyncPublish), so that neither a slow broker nor a full queue
// can hold a pump on past its off time.
type eventPublisher struct {
	env     *Env
	client  pubsub.Client
	topic   string
	event   string
	source  *string
	onEvent func(float64)
	outbox  *outbox.Outbox

	async   bool
	mu      sync.Mutex
	queue   [][]byte
	wake    sched.Signal
	closing bool
	drained bool
	done    sched.Signal
}

func newEventPublisher(env *Env, client pubsub.Client, experiment, event, source string, onEvent func(float64)) *eventPublisher {
	p := &eventPublisher{env: env, client: client, topic: env.DosingEventsTopic(experiment), event: event, onEvent: onEvent}
	if source != "" {
		p.source = &source
	}
	if p.outbox = env.Outbox; p.outbox != nil {
		return p
	}
	if env.AsyncPublish {
		p.async = true
		p.wake = env.Sched.NewSignal()
		p.done = env.Sched.NewSignal()
		env.Sched.Go("dosing events "+event, p.drain)
	}
	return p
}

func (p *eventPublisher) drain() {
	defer func() {
		p.mu.Lock()
		p.drained = true
		p.mu.Unlock()
		p.done.Notify()
	}()
	for {
		p.mu.Lock()
		batch := p.queue
		p.queue = nil
		closing := p.closing
		p.mu.Unlock()
		for _, b := range batch {
			p.send(b)
		}
		if closing && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			_ = p.wake.Wait(context.Background())
		}
	}
}

func (p *eventPublisher) send(b []byte) {
	if p.outbox != nil {
		if err := p.outbox.Publish(p.topic, b); err != nil {
			p.env.console().Error("dosing event not recorded", "topic", p.topic, "err", err, "payload", string(b))
		}
		return
	}
	if err := p.client.Publish(p.topic, b, 2, false); err != nil {
		p.env.console().Error("dosing event not published", "topic", p.topic, "err", err, "payload", string(b))
	}
}

func (p *eventPublisher) publish(ml float64) {
	b := payload.DosingEvent{VolumeChange: payload.Float(ml), Event: p.event, SourceOfEvent: p.source,
		Timestamp: payload.StructTimestamp(p.env.Sched.Now())}.AppendJSON(make([]byte, 0, 160))
	if p.onEvent != nil {
		p.onEvent(ml)
	}
	if !p.async {
		p.send(b)
		return
	}
	p.mu.Lock()
	p.queue = append(p.queue, b)
	p.mu.Unlock()
	p.wake.Notify()
}

// close waits, for a bounded time, until queued events are out. Events in
// the outbox are its to deliver.
func (p *eventPublisher) close() {
	if !p.async {
		return
	}
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.wake.Notify()
	deadline := p.env.Sched.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		drained := p.drained
		p.mu.Unlock()
		if drained {
			return
		}
		if notified, err := p.done.WaitUntil(context.Background(), deadline); err != nil || !notified {
			p.env.console().Error("dosing events still queued after 5 s; the broker is not answering", "topic", p.topic)
			return
		}
	}
}
