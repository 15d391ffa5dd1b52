package outbox_test

import (
	"database/sql"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/dbstream"
	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/sched"
)

// leaderStream is the leader's database stream on the embedded broker, as
// pio leader runs it: dbstream with a Confirmer, its $state ready.
type leaderStream struct {
	client  pubsub.Client
	stream  *dbstream.Stream
	confirm *dbstream.Confirmer
}

func startStream(t *testing.T, b *mqttnet.Embedded, db *sql.DB, name string) *leaderStream {
	t.Helper()
	c := b.Local(name)
	cf := dbstream.NewConfirmer(c, "leader", nil)
	s, err := dbstream.Start(db, c, dbstream.Options{OnCommitted: cf.Committed, StatsEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := cf.Ready(); err != nil {
		t.Fatal(err)
	}
	return &leaderStream{c, s, cf}
}

func (l *leaderStream) stop(t *testing.T) {
	if err := l.stream.Close(); err != nil {
		t.Error(err)
	}
	if err := l.confirm.Close(); err != nil {
		t.Error(err)
	}
	l.client.Close()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// End to end on the embedded broker: a unit's outbox, a stand-in for its
// monitor that confirms every event, and the leader's stream into SQLite.
// Events published while the stream is away are confirmed by the monitor
// alone, stay in the journal, and are published again when the stream is
// ready again: the database ends with every event exactly once.
func TestEventsPublishedWhileTheStreamIsAwayAreStoredOnce(t *testing.T) {
	b, err := mqttnet.StartEmbedded("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	db, err := dbstream.Open(filepath.Join(t.TempDir(), "pio.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dial := func(o pubsub.Options) (pubsub.Client, error) { return mqttnet.Dial(b.Addr(), o, 5*time.Second) }

	// The monitor: confirms every identified event it gets.
	mon, err := dial(pubsub.Options{ClientID: "monitor"})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	var mu sync.Mutex
	handled := map[string]int{}
	if err := mon.Subscribe("pioreactor/u1/+/dosing_events", 1, func(m pubsub.Message) {
		id, _ := outbox.CutID(m.Payload)
		mu.Lock()
		handled[id]++
		outcome := outbox.Applied
		if handled[id] > 1 {
			outcome = outbox.Duplicate
		}
		mu.Unlock()
		p, _ := json.Marshal(outbox.Handled{Experiment: "e1", EventID: id, Outcome: outcome})
		mon.Publish(outbox.HandledTopic("u1"), p, 1, false)
	}); err != nil {
		t.Fatal(err)
	}
	monitorHas := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) == n }
	}
	if err := mon.Publish("pioreactor/u1/$experiment/monitor/$state", []byte("ready"), 1, true); err != nil {
		t.Fatal(err)
	}

	stream := startStream(t, b, db, "db-1")
	s := sched.NewReal(clock.Real{})
	ob, err := outbox.Open(outbox.Options{Dir: t.TempDir(), Unit: "u1", Sched: s, Connect: dial, Retry: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ob.Close(time.Second)
		s.Wait()
	}()
	dose := func(n int) {
		for range n {
			if err := ob.Publish("pioreactor/u1/e1/dosing_events", []byte(`{"volume_change":0.5,"event":"add_media","source_of_event":"test","timestamp":"2026-01-01T00:00:00.000000Z"}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows := func() (n, distinct int) {
		if err := db.QueryRow("SELECT count(*), count(DISTINCT event_id) FROM dosing_events WHERE pioreactor_unit='u1'").Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		return n, distinct
	}

	dose(5)
	waitFor(t, "the first 5 events confirmed by both", func() bool { return ob.Pending() == 0 })

	// The stream goes away (the leader stops); the unit doses on.
	stream.stop(t)
	dose(5)
	waitFor(t, "the monitor confirmed the 5 events published while the stream was away", monitorHas(10))
	if n := ob.Pending(); n != 5 {
		t.Fatalf("%d events pending while the stream is away, want the 5 it has not stored", n)
	}
	if n, _ := rows(); n != 5 {
		t.Fatalf("%d rows while the stream is away, want 5", n)
	}

	// The stream comes back: the outbox publishes the 5 again, the
	// database stores them, and a replay stores nothing twice.
	stream = startStream(t, b, db, "db-2")
	defer stream.stop(t)
	waitFor(t, "every event confirmed by both after the stream came back", func() bool { return ob.Pending() == 0 })
	dose(3)
	waitFor(t, "3 more events confirmed by both", func() bool { return ob.Pending() == 0 })
	n, distinct := rows()
	if n != 13 || distinct != 13 {
		t.Errorf("dosing_events holds %d rows, %d distinct ids; want each of the 13 events once", n, distinct)
	}
	var ids []string
	r, err := db.Query("SELECT event_id FROM dosing_events WHERE pioreactor_unit='u1'")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var id string
		r.Scan(&id)
		ids = append(ids, id)
	}
	r.Close()
	sort.Slice(ids, func(i, j int) bool {
		_, a, _ := outbox.ParseID(ids[i])
		_, b, _ := outbox.ParseID(ids[j])
		return a < b
	})
	if want := outbox.FormatID(ob.Stream(), 1); len(ids) == 0 || ids[0] != want || !strings.HasSuffix(ids[len(ids)-1], "-13") {
		t.Errorf("stored ids %v, want %s to -13", ids, want)
	}
}
