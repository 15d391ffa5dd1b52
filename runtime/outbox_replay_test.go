package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
)

// deafClient is a broker connection that never hears the monitor's
// confirmations, and whose publishes fail while down is set.
type deafClient struct {
	pubsub.Client
	down *atomic.Bool
}

func (c deafClient) Subscribe(f string, qos byte, h pubsub.Handler) error {
	if f == outbox.HandledTopic("unit1") {
		return nil
	}
	return c.Client.Subscribe(f, qos, h)
}

func (c deafClient) Publish(t string, p []byte, qos byte, retained bool) error {
	if c.down.Load() {
		return errors.New("not connected")
	}
	return c.Client.Publish(t, p, qos, retained)
}

// A process dies after its dosing events reached the monitor but before it
// heard that they had, and with one event it never got out. Its journal is
// left behind. The next process publishes everything in it again, and the
// monitor, restarted too, applies the one new event and counts the others
// once.
func TestAJournalLeftByACrashIsReplayedAndCountedOnce(t *testing.T) {
	h := newHarness(t)
	h.env.Liquid = &liquid.FileStore{Path: filepath.Join(t.TempDir(), "bioreactor.json")}
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := m.Liquid("exp1")

	// The first process: its outbox never hears a confirmation.
	var down atomic.Bool
	firstDir := t.TempDir()
	first, err := outbox.Open(outbox.Options{Dir: firstDir, Unit: "unit1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return deafClient{h.broker.Connect(o), &down}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	h.env.Outbox = first
	defer func() { h.env.Outbox = nil }()
	var pumped float64
	var events int
	// Two seconds of virtual time: the pump runs, its events reach the
	// monitor, and nothing is published again yet (Retry is 10 s).
	h.clk.Go("test", func() {
		ml, err := RunPump(context.Background(), h.env, PumpRequest{Device: "media", ML: ptr(1.5), Experiment: "exp1", Client: h.ctl,
			Log: newLogger(h.env, h.ctl, "exp1", "add_media"), OnEvent: func(float64) { events++ }})
		if err != nil {
			t.Error(err)
		}
		pumped = ml
	})
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(2*time.Second))
	delivered, _ := m.Counts()
	if delivered != events || first.Pending() != events {
		t.Fatalf("the monitor applied %d events, %d pending; want both %d", delivered, first.Pending(), events)
	}
	down.Store(true)
	if err := h.env.PublishDosingEvent(h.ctl, "exp1", payload.DosingEvent{VolumeChange: 0.25, Event: "add_media", Timestamp: "t"}); err != nil {
		t.Fatal(err)
	}
	h.settle()

	// The crash: the journal stays as it was, held by nobody. (It is copied
	// to the next process's home: the first process, still alive in this
	// test, is stopped without confirming anything.)
	b, err := os.ReadFile(filepath.Join(firstDir, first.Stream()+".journal"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	left := filepath.Join(dir, first.Stream()+".journal")
	if err := os.WriteFile(left, b, 0o644); err != nil {
		t.Fatal(err)
	}
	h.do(func() { first.Close(0) })
	h.env.Outbox = nil
	m.Close()
	h.settle()

	// The next process: a new monitor and an outbox on the same home.
	m, err = StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	next, err := outbox.Open(outbox.Options{Dir: dir, Unit: "unit1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil }})
	if err != nil {
		t.Fatal(err)
	}
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(time.Second))

	got, _ := m.Liquid("exp1")
	if d := got.CumMediaML - start.CumMediaML; d != pumped+0.25 {
		t.Errorf("the model booked %v mL of media; %v went in", d, pumped+0.25)
	}
	if applied, dropped := m.Counts(); applied != 1 || dropped != 0 || m.Duplicates() != events {
		t.Errorf("the new monitor applied %d, refused %d, saw %d duplicates; want 1, 0, %d", applied, dropped, m.Duplicates(), events)
	}
	if next.Pending() != 0 {
		t.Errorf("%d events still pending", next.Pending())
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the journal left by the crash is still there (%v)", err)
	}
	h.do(func() { next.Close(time.Second) })
}
