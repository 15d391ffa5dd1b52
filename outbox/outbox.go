// Package outbox keeps a unit's dosing events until the monitor has handled
// them: the lab's record of what went into a vial must survive a broker that
// restarts and a pio process that dies in the middle of a dose.
//
// Every event gets an id (eventid.go) and is written to an append-only
// journal under the unit's home (journal.go) before it is published. It
// stays there until the monitor confirms it on HandledTopic and, when the
// lab has a leader, until the leader's database stream confirms it too on
// StoredTopic (leader.go). It is published again, with the same id, after
// the outbox reconnects to the broker, when the monitor or the leader's
// stream (re)announces itself ready, and after Retry without a confirmation
// while the one that has not confirmed is up. The monitor applies an id
// once (liquid.Seen) and the leader stores it once (a unique index), and
// both confirm duplicates too, so each counts every event exactly once: at
// least once from here, at most once there. Events a
// process could not get confirmed stay in its journal, and the next process
// of the unit (the same home) publishes them when it opens its outbox.
//
// A monitor that is up and has confirmed nothing within Retry does not know
// event ids (not pio's): it would count every event published again, so
// events the broker took are then taken as delivered, as they would be
// without an outbox.
//
// The broker's acknowledgement is not enough for this: a broker that
// restarts (mochi, or Mosquitto with its default persistence false) forgets
// its sessions, and a message published before the monitor has subscribed
// again is acknowledged and delivered to nobody.
//
// Without a Dir the outbox keeps events in memory only (tests). pio simulate
// uses no outbox at all: its in-memory broker cannot lose a message.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/topic"
)

// DefaultRetry is how long an event waits for the monitor's confirmation
// before it is published again.
const DefaultRetry = 10 * time.Second

// Options configure an Outbox.
type Options struct {
	// Dir holds the journals: <home>/outbox. Empty keeps events in memory.
	Dir  string
	Unit string
	// Sched runs the outbox's actor; Close must be called before Sched
	// waits for its actors.
	Sched sched.Scheduler
	// Connect opens the outbox's own broker connection.
	Connect func(pubsub.Options) (pubsub.Client, error)
	Console *slog.Logger
	// Retry is how long a published event waits for the monitor's
	// confirmation before it is published again (DefaultRetry if zero).
	Retry time.Duration
	// Leader is the leader's unit name ([cluster.topology]
	// leader_hostname; empty: none configured). With one, events wait for
	// the leader stream's confirmation even before its $state is seen.
	Leader string
}

// Outbox publishes dosing events until the monitor confirms them.
type Outbox struct {
	o      Options
	stream string
	client pubsub.Client
	log    *slog.Logger
	wake   sched.Signal
	ended  sched.Signal

	mu           sync.Mutex
	own          *journal // nil without Dir
	seq          map[string]uint64
	queue        []*entry // not confirmed, oldest first
	byKey        map[key]*entry
	resend       bool // publish every pending event again
	resendMon    bool // publish again what the monitor has not confirmed
	resendLeader bool // publish again what the leader has not confirmed
	monitorReady bool
	confirmer    bool              // the monitor has confirmed an event
	leaders      map[string]string // leader unit → its stream's last $state
	closing      bool
	closeBy      time.Time
	stopped      bool
	down         bool // the last publish failed
	warnAt       int
}

type key struct{ experiment, id string }

type entry struct {
	j         *journal // nil without Dir
	index     int
	topic     string
	key       key
	body      []byte
	published bool // the broker acknowledged it
	tried     time.Time
	byMonitor bool // the monitor confirmed it (or took it, see takenAsDelivered)
	byLeader  bool // the leader's stream confirmed it
	confirmed bool // done: off the outbox, marked done in its journal
}

// Open opens the outbox: it creates this process's journal, adopts the
// journals of processes that are gone (their unconfirmed events are
// published first), connects and starts publishing.
func Open(o Options) (*Outbox, error) {
	if o.Retry <= 0 {
		o.Retry = DefaultRetry
	}
	b := &Outbox{o: o, stream: newStream(), log: o.Console, seq: map[string]uint64{}, byKey: map[key]*entry{},
		leaders: map[string]string{}, wake: o.Sched.NewSignal(), ended: o.Sched.NewSignal(), warnAt: 1024}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if o.Dir != "" {
		j, err := createJournal(o.Dir, b.stream)
		if err != nil {
			return nil, err
		}
		b.own = j
		if err := b.adopt(); err != nil {
			j.close(true)
			return nil, err
		}
	}
	// One connection per process: its stream makes the client id unique.
	c, err := o.Connect(pubsub.Options{ClientID: "dosing_outbox-" + o.Unit + "-" + b.stream, OnReconnect: b.reconnected})
	if err != nil {
		b.closeJournals()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	b.client = c
	// The leader's state first: its retained copy arrives before any
	// confirmation, so no event leaves on the monitor's word alone while a
	// leader exists.
	if err := c.Subscribe(LeaderStateFilter, 1, b.onLeaderState); err != nil {
		b.abort()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := c.Subscribe(StoredTopic(o.Unit), 1, b.onStored); err != nil {
		b.abort()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := c.Subscribe(HandledTopic(o.Unit), 1, b.onHandled); err != nil {
		b.abort()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := c.Subscribe(monitorState(o.Unit), 1, b.onMonitorState); err != nil {
		b.abort()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o.Sched.Go("dosing outbox", b.run)
	return b, nil
}

func (b *Outbox) abort() {
	b.client.Close()
	b.closeJournals()
}

// Stream is the name of this process's stream of event ids.
func (b *Outbox) Stream() string { return b.stream }

// adopt takes over the journals of processes that are gone.
func (b *Outbox) adopt() error {
	paths, err := journalsIn(b.o.Dir)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if p == b.own.path {
			continue
		}
		j, events, ok, err := adoptJournal(p)
		if err != nil {
			return err
		}
		if !ok {
			continue // its process is alive
		}
		if len(events) == 0 {
			j.close(true)
			continue
		}
		for _, ev := range events {
			id, _ := CutID(ev.body)
			exp, _ := topic.Experiment(ev.topic)
			e := &entry{j: j, index: ev.index, topic: ev.topic, key: key{exp, id}, body: ev.body}
			b.queue = append(b.queue, e)
			b.byKey[e.key] = e
		}
		b.log.Info("dosing events left by a process that ended are published again", "journal", p, "events", len(events))
	}
	return nil
}

// Publish records a dosing event (a JSON object) for topic and queues it.
// It never waits for the broker.
func (b *Outbox) Publish(topicName string, body []byte) error {
	exp, ok := topic.Experiment(topicName)
	if !ok {
		return fmt.Errorf("outbox: %q is not a dosing_events topic", topicName)
	}
	b.mu.Lock()
	n := b.seq[topicName] + 1
	id := FormatID(b.stream, n)
	body, err := appendID(body, id)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	e := &entry{j: b.own, topic: topicName, key: key{exp, id}, body: body}
	if b.own != nil {
		if e.index, err = b.own.appendEvent(topicName, body); err != nil {
			b.mu.Unlock()
			return err
		}
	}
	b.seq[topicName] = n
	b.queue = append(b.queue, e)
	b.byKey[e.key] = e
	pending := len(b.byKey)
	stopped := b.stopped
	warn := pending >= b.warnAt
	if warn {
		b.warnAt *= 2
	}
	leader := b.leaderNeeded()
	b.mu.Unlock()
	switch {
	case warn && leader:
		b.log.Warn("dosing events wait for the monitor's and the leader's confirmation; are the monitor and pio leader running?", "events", pending)
	case warn:
		b.log.Warn("dosing events wait for the monitor's confirmation; is the monitor running?", "events", pending)
	}
	if stopped {
		return fmt.Errorf("outbox: closed; event %s stays in its journal for the next start", id)
	}
	b.wake.Notify()
	return nil
}

// Pending is the number of events not yet confirmed (by the monitor, and by
// the leader's stream when there is one).
func (b *Outbox) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byKey)
}

func (b *Outbox) reconnected() {
	b.mu.Lock()
	b.resend = true
	b.mu.Unlock()
	b.wake.Notify()
}

func (b *Outbox) onMonitorState(m pubsub.Message) {
	ready := string(m.Payload) == "ready"
	b.mu.Lock()
	b.monitorReady = ready
	if ready {
		b.resendMon = true
	}
	b.mu.Unlock()
	if ready {
		b.wake.Notify()
	}
}

// onLeaderState follows the leader streams' $state: each ready publishes
// again what the leader has not confirmed (it may have missed it); an empty
// retained payload (cleared by hand) forgets that leader.
func (b *Outbox) onLeaderState(m pubsub.Message) {
	leader := leaderOf(m.Topic)
	if leader == "" {
		return
	}
	state := string(m.Payload)
	b.mu.Lock()
	if state == "" {
		delete(b.leaders, leader)
	} else {
		b.leaders[leader] = state
	}
	if state == "ready" {
		b.resendLeader = true
	}
	b.mu.Unlock()
	b.wake.Notify() // a leader gone may let events leave
}

func (b *Outbox) onHandled(m pubsub.Message) {
	b.onConfirmed(m, false)
}

func (b *Outbox) onStored(m pubsub.Message) {
	b.onConfirmed(m, true)
}

// onConfirmed records the monitor's or the leader's confirmation of an
// event; the event is done once everyone it waits for has confirmed it.
func (b *Outbox) onConfirmed(m pubsub.Message, leader bool) {
	var h Handled
	if json.Unmarshal(m.Payload, &h) != nil {
		return
	}
	b.mu.Lock()
	if !leader {
		b.confirmer = true
	}
	e := b.byKey[key{h.Experiment, h.EventID}]
	if e == nil {
		b.mu.Unlock()
		return
	}
	if leader {
		e.byLeader = true
	} else {
		e.byMonitor = true
	}
	var err error
	finished := b.finished(e)
	if finished {
		err = b.doneLocked(e)
	}
	b.mu.Unlock()
	if err != nil {
		b.log.Error("dosing event confirmed but not marked done; it will be published again and counted once", "event_id", h.EventID, "err", err)
	}
	if finished {
		b.wake.Notify()
	}
}

// leaderNeeded reports whether events wait for a leader's stream: one is
// configured, or one has announced itself (whatever its state now: a lost
// leader is waited for).
func (b *Outbox) leaderNeeded() bool { return b.o.Leader != "" || len(b.leaders) > 0 }

// leaderReady reports whether a leader's stream says it is ready.
func (b *Outbox) leaderReady() bool {
	for _, s := range b.leaders {
		if s == "ready" {
			return true
		}
	}
	return false
}

// finished reports whether e has every confirmation it waits for.
func (b *Outbox) finished(e *entry) bool {
	return e.byMonitor && (e.byLeader || !b.leaderNeeded())
}

// doneLocked takes e off the outbox and marks it done in its journal.
func (b *Outbox) doneLocked(e *entry) error {
	delete(b.byKey, e.key)
	e.confirmed = true
	if e.j == nil {
		return nil
	}
	return b.confirmed(e.j, e.index)
}

// confirmed marks an event done in its journal; an adopted journal with
// nothing left is deleted, this process's own is emptied when large.
func (b *Outbox) confirmed(j *journal, index int) error {
	err := j.appendDone(index)
	if j != b.own && j.pending == 0 {
		j.close(true)
		return err
	}
	if err == nil && j == b.own {
		err = j.compact()
	}
	return err
}

// run publishes events, in order, until Close.
func (b *Outbox) run() {
	defer b.ended.Notify()
	for {
		batch, journals, exit := b.pick()
		if exit {
			b.shutdown()
			return
		}
		for _, j := range journals {
			if err := j.sync(); err != nil {
				b.log.Error("dosing event journal not synced", "err", err)
			}
		}
		b.publish(batch)
		var err error
		if wakeAt := b.wakeAt(); wakeAt.IsZero() {
			err = b.wake.Wait(context.Background())
		} else {
			_, err = b.wake.WaitUntil(context.Background(), wakeAt)
		}
		if err != nil { // the end of a simulated run
			b.shutdown()
			return
		}
	}
}

// retries reports whether e is published again after Retry: if the broker
// did not take it, if a monitor that confirms is up and has not confirmed
// it, or if the leader's stream is up and has not confirmed it (either's
// confirmation, or the event itself, may have been lost).
func (b *Outbox) retries(e *entry) bool {
	return !e.published || !e.byMonitor && b.monitorReady && b.confirmer || !e.byLeader && b.leaderReady()
}

// takenAsDelivered reports whether the monitor is taken to have e, which
// the broker took, without a confirmation: the monitor is up, has confirmed
// nothing since this outbox opened, and has had Retry to confirm e. A
// monitor that does not confirm (one without event ids) would count every
// event published again, so the broker's acknowledgement is then all there
// is.
func (b *Outbox) takenAsDelivered(e *entry, now time.Time) bool {
	return e.published && !e.byMonitor && !b.confirmer && b.monitorReady && !now.Before(e.tried.Add(b.o.Retry))
}

// pick chooses what to publish now: events never tried; every pending event
// after a reconnect; what the monitor (the leader) has not confirmed when it
// comes back; events unconfirmed for Retry. It also says whether the outbox
// is done closing.
func (b *Outbox) pick() (batch []*entry, journals []*journal, exit bool) {
	now := b.o.Sched.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropConfirmed()
	if b.closing && (len(b.queue) == 0 || !now.Before(b.closeBy)) {
		return nil, nil, true
	}
	resend, resendMon, resendLeader := b.resend, b.resendMon, b.resendLeader
	b.resend, b.resendMon, b.resendLeader = false, false, false
	seen := map[*journal]bool{}
	taken := 0
	for _, e := range b.queue {
		if b.takenAsDelivered(e, now) {
			e.byMonitor = true
			taken++
		}
		if b.finished(e) { // also once a leader is forgotten
			if err := b.doneLocked(e); err != nil {
				b.log.Error("dosing event confirmed but not marked done; it will be published again and counted once", "event_id", e.key.id, "err", err)
			}
			continue
		}
		due := !e.tried.IsZero() && b.retries(e) && !now.Before(e.tried.Add(b.o.Retry))
		if e.tried.IsZero() || resend || resendMon && !e.byMonitor || resendLeader && !e.byLeader || due {
			batch = append(batch, e)
			if e.j != nil && !seen[e.j] {
				seen[e.j] = true
				if e.j.takeDirty() {
					journals = append(journals, e.j)
				}
			}
		}
	}
	if taken > 0 {
		b.log.Warn("the monitor has confirmed no dosing event: it does not confirm them (not pio's monitor?); events the broker took are taken as delivered",
			"events", taken, "waited", b.o.Retry)
	}
	return batch, journals, false
}

// wakeAt is when to look at the queue again without a signal: the earliest
// retry, or the end of Close's wait (zero: only on a signal).
func (b *Outbox) wakeAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	var t time.Time
	for _, e := range b.queue {
		if e.confirmed || e.tried.IsZero() || !b.retries(e) && !(e.published && !e.byMonitor && b.monitorReady && !b.confirmer) {
			continue
		}
		if r := e.tried.Add(b.o.Retry); t.IsZero() || r.Before(t) {
			t = r
		}
	}
	if b.closing && (t.IsZero() || b.closeBy.Before(t)) {
		t = b.closeBy
	}
	return t
}

// dropConfirmed removes confirmed events from the queue.
func (b *Outbox) dropConfirmed() {
	kept := b.queue[:0]
	for _, e := range b.queue {
		if !e.confirmed {
			kept = append(kept, e)
		}
	}
	clear(b.queue[len(kept):])
	b.queue = kept
}

// publish sends a batch in order. The first failure (the broker is down)
// stops it: the rest goes when the client reconnects.
func (b *Outbox) publish(batch []*entry) {
	for _, e := range batch {
		b.mu.Lock()
		skip := e.confirmed
		b.mu.Unlock()
		if skip {
			continue
		}
		err := b.client.Publish(e.topic, e.body, 2, false)
		now := b.o.Sched.Now()
		b.mu.Lock()
		e.tried = now
		wasDown := b.down
		b.down = err != nil
		if err == nil {
			e.published = true
		}
		b.mu.Unlock()
		if err != nil {
			if !wasDown {
				b.log.Warn("dosing events wait for the broker; they are kept and published when it answers", "err", err)
			}
			b.mu.Lock()
			for _, rest := range batch {
				if rest.tried.IsZero() {
					rest.tried = now // retried on reconnect, or after Retry
				}
			}
			b.mu.Unlock()
			return
		}
	}
}

// Close stops publishing once every event is confirmed or wait has passed.
// Events still unconfirmed stay in this process's journal for the next
// start. Under a virtual scheduler, call it from an actor.
func (b *Outbox) Close(wait time.Duration) {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return
	}
	b.closing = true
	b.closeBy = b.o.Sched.Now().Add(wait)
	b.mu.Unlock()
	b.wake.Notify()
	for {
		b.mu.Lock()
		stopped := b.stopped
		b.mu.Unlock()
		if stopped {
			return
		}
		if err := b.ended.Wait(context.Background()); err != nil {
			return
		}
	}
}

func (b *Outbox) shutdown() {
	b.mu.Lock()
	b.dropConfirmed()
	left := len(b.queue)
	b.stopped = true
	by := "the monitor"
	if b.leaderNeeded() {
		by = "the monitor and the leader"
	}
	b.mu.Unlock()
	b.client.Close()
	if left > 0 {
		where := "memory; they are lost"
		if b.own != nil {
			where = "the journals under " + b.o.Dir + "; the next start publishes them"
		}
		b.log.Warn(fmt.Sprintf("%d dosing events not confirmed by %s; kept in %s", left, by, where))
	}
	b.mu.Lock()
	b.closeJournals()
	b.mu.Unlock()
}

// closeJournals releases every journal; this process's own is deleted if
// nothing in it is pending.
func (b *Outbox) closeJournals() {
	seen := map[*journal]bool{}
	for _, e := range b.queue {
		if e.j != nil && e.j != b.own && !seen[e.j] {
			seen[e.j] = true
			e.j.close(false)
		}
	}
	if b.own != nil {
		if b.own.pending > 0 {
			b.own.sync()
		}
		b.own.close(b.own.pending == 0)
	}
}
