package dbstream

import (
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/pubsub"
)

// Held is a row the database holds after a commit: stored by it, or stored
// before (Duplicate: a replayed dosing event the unique index skipped).
type Held struct {
	Row
	Duplicate bool
}

// hold records a row of the writer's commit for OnCommitted.
func (s *Stream) hold(r Row, duplicate bool) {
	if s.opts.OnCommitted != nil {
		s.held = append(s.held, Held{r, duplicate})
	}
}

// DosingEventID returns the unit, experiment and outbox id of a dosing_events
// row; ok is false for another table's row or an event without an id.
func DosingEventID(r Row) (unit, experiment, id string, ok bool) {
	if r.table != &dosingEvents || len(r.Values) < 7 {
		return "", "", "", false
	}
	id, _ = r.Values[6].(string)
	experiment, _ = r.Values[0].(string)
	unit, _ = r.Values[1].(string)
	return unit, experiment, id, id != "" && unit != ""
}

// A Confirmer makes the leader's stream the units' second confirmer of
// dosing events (package outbox, leader.go). Its Committed is the stream's
// OnCommitted: after each commit it confirms every identified dosing event
// the database holds on outbox.StoredTopic(unit), in the monitor's format
// (outbox.Handled, outcome stored, or duplicate for a replay stored before;
// QoS 1, not retained). Ready publishes the stream's retained $state on
// outbox.LeaderState(leader), which tells the units that a leader's stream
// exists and has subscribed (again): they publish again what it has not
// confirmed.
//
// Confirmations go out from a goroutine of their own, so the writer never
// waits for the broker. One that cannot be published (the broker is away,
// or more than maxConfirmations wait) is dropped: the unit publishes the
// event again, the database skips it, and the Confirmer confirms it then.
type Confirmer struct {
	client pubsub.Client
	state  string
	log    *slog.Logger

	mu      sync.Mutex
	cond    sync.Cond
	queue   []pubsub.Message
	closing bool
	dropped bool // confirmations were dropped since the last warning
	done    chan struct{}
}

// maxConfirmations bounds the confirmations waiting for the broker.
const maxConfirmations = 100000

// NewConfirmer returns a Confirmer publishing with client for the leader
// unit leader. Close it before closing client.
func NewConfirmer(client pubsub.Client, leader string, log *slog.Logger) *Confirmer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Confirmer{client: client, state: outbox.LeaderState(leader), log: log, done: make(chan struct{})}
	c.cond.L = &c.mu
	go c.run()
	return c
}

// StreamWill is the last will of the stream's connection to an external
// broker: its $state becomes lost if the leader goes away without Close.
func StreamWill(leader string) *pubsub.Message {
	return &pubsub.Message{Topic: outbox.LeaderState(leader), Payload: []byte("lost"), QoS: 1, Retained: true}
}

// Ready publishes the stream's retained $state, ready. Call it once the
// stream has subscribed (after Start), and again after each reconnect (a
// broker that restarted has forgotten it, and the units publish again what
// the stream missed while it was away).
func (c *Confirmer) Ready() error {
	return c.client.Publish(c.state, []byte("ready"), 1, true)
}

// Committed queues the confirmations of the identified dosing events in
// held. It never waits for the broker.
func (c *Confirmer) Committed(held []Held) {
	var msgs []pubsub.Message
	for _, h := range held {
		unit, exp, id, ok := DosingEventID(h.Row)
		if !ok {
			continue
		}
		outcome := outbox.Stored
		if h.Duplicate {
			outcome = outbox.Duplicate
		}
		b, err := json.Marshal(outbox.Handled{Experiment: exp, EventID: id, Outcome: outcome})
		if err != nil {
			continue
		}
		msgs = append(msgs, pubsub.Message{Topic: outbox.StoredTopic(unit), Payload: b, QoS: 1})
	}
	if len(msgs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	if room := maxConfirmations - len(c.queue); len(msgs) > room {
		msgs = msgs[:max(room, 0)]
		c.dropped = true
	}
	c.queue = append(c.queue, msgs...)
	c.cond.Signal()
}

func (c *Confirmer) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closing {
			c.cond.Wait()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		m := c.queue[0]
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = nil
		}
		dropped := c.dropped
		c.dropped = false
		c.mu.Unlock()
		if dropped {
			c.log.Warn("dbstream: too many dosing event confirmations wait for the broker; the rest were dropped (the units publish those events again)")
		}
		if err := c.client.Publish(m.Topic, m.Payload, m.QoS, false); err != nil {
			c.log.Debug("dbstream: a dosing event confirmation was not published; the unit publishes the event again", "topic", m.Topic, "err", err.Error())
		}
	}
}

// Close publishes the confirmations already queued, then the stream's
// retained $state, disconnected: the units keep their events for the
// leader's next start. Call it after the stream's Close (which commits the
// last rows).
func (c *Confirmer) Close() error {
	c.mu.Lock()
	c.closing = true
	c.cond.Signal()
	c.mu.Unlock()
	<-c.done
	return c.client.Publish(c.state, []byte("disconnected"), 1, true)
}
