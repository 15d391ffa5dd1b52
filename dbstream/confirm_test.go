package dbstream

import (
	"slices"
	"sync"
	"testing"

	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/pubsub"
)

// The stream confirms each identified dosing event it holds, stored now or
// before (a replay), in the monitor's format; never an event without an id
// or one it could not parse; and its $state says ready, then disconnected.
func TestTheStreamConfirmsDosingEvents(t *testing.T) {
	db := openTemp(t)
	broker := pubsub.NewMemory()
	c := broker.Connect(pubsub.Options{ClientID: "leader"})
	cf := NewConfirmer(c, "leader", nil)
	s, err := Start(db, c, Options{OnCommitted: cf.Committed, StatsEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := cf.Ready(); err != nil {
		t.Fatal(err)
	}
	unit := broker.Connect(pubsub.Options{ClientID: "u1"})
	var mu sync.Mutex
	var got []string
	if err := unit.Subscribe(outbox.StoredTopic("u1"), 1, func(m pubsub.Message) {
		mu.Lock()
		got = append(got, string(m.Payload))
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	const ev = `{"volume_change":0.5,"event":"add_media","source_of_event":"t","timestamp":"2026-01-01T00:00:00.000000Z"`
	for _, p := range []string{
		ev + `,"event_id":"00112233445566ff-1"}`,
		ev + `}`,                                                // no id: stored, not confirmed
		ev + `,"event_id":"00112233445566ff-1"}`,                // a replay
		`{"volume_change":"x","event_id":"00112233445566ff-2"}`, // rejected
	} {
		if err := unit.Publish("pioreactor/u1/exp/dosing_events", []byte(p), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cf.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"experiment":"exp","event_id":"00112233445566ff-1","outcome":"stored"}`,
		`{"experiment":"exp","event_id":"00112233445566ff-1","outcome":"duplicate"}`,
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("confirmations %q, want %q", got, want)
	}
	var state string
	unit.Subscribe(outbox.LeaderState("leader"), 1, func(m pubsub.Message) { state = string(m.Payload) })
	if state != "disconnected" {
		t.Errorf("the stream's retained $state is %q after Close, want disconnected", state)
	}
}
