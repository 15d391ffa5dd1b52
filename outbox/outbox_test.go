package outbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const evTopic = "pioreactor/u1/e1/dosing_events"

// bench is an outbox on the in-memory broker and the virtual clock, and a
// stand-in for the monitor that records the events and confirms them when
// told to.
type bench struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	ctl    pubsub.Client
	dir    string

	mu   sync.Mutex
	seen []string // event ids, in arrival order
}

func newBench(t *testing.T, dir string) *bench {
	b := &bench{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory(), dir: dir}
	b.ctl = b.broker.Connect(pubsub.Options{ClientID: "monitor"})
	if err := b.ctl.Subscribe("pioreactor/u1/+/dosing_events", 2, func(m pubsub.Message) {
		id, _ := CutID(m.Payload)
		b.mu.Lock()
		b.seen = append(b.seen, id)
		b.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bench) open() *Outbox {
	b.t.Helper()
	o, err := Open(Options{Dir: b.dir, Unit: "u1", Sched: b.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return b.broker.Connect(o), nil }})
	if err != nil {
		b.t.Fatal(err)
	}
	return o
}

// run lets the actors run for d of virtual time.
func (b *bench) run(d time.Duration) { b.clk.RunUntil(context.Background(), b.clk.Now().Add(d)) }

func (b *bench) close(o *Outbox, wait time.Duration) {
	b.clk.Go("close", func() { o.Close(wait) })
	b.run(wait + time.Second)
}

func (b *bench) ids() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.seen...)
}

func (b *bench) confirm(ids ...string) {
	for _, id := range ids {
		p, _ := json.Marshal(Handled{Experiment: "e1", EventID: id, Outcome: Applied})
		if err := b.ctl.Publish(HandledTopic("u1"), p, 1, false); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *bench) monitorState(s string) {
	if err := b.ctl.Publish("pioreactor/u1/$experiment/monitor/$state", []byte(s), 2, true); err != nil {
		b.t.Fatal(err)
	}
}

func event(v string) []byte {
	return []byte(`{"volume_change":` + v + `,"event":"add_media","source_of_event":"test","timestamp":"t"}`)
}

func publish(t *testing.T, o *Outbox, vs ...string) {
	t.Helper()
	for _, v := range vs {
		if err := o.Publish(evTopic, event(v)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEventsWaitInTheJournalUntilConfirmed(t *testing.T) {
	b := newBench(t, t.TempDir())
	o := b.open()
	publish(t, o, "1.0", "0.5", "-0.25")
	b.run(time.Second)
	s := o.Stream()
	ids := b.ids()
	if strings.Join(ids, ",") != s+"-1,"+s+"-2,"+s+"-3" {
		t.Fatalf("published ids %v, want %s-1 to -3 in order", ids, s)
	}
	b.confirm(s+"-1", s+"-3")
	if n := o.Pending(); n != 1 {
		t.Errorf("%d events pending after two of three were confirmed", n)
	}
	b.close(o, time.Second)
	// What is unconfirmed stays in the journal; the rest is marked done.
	j, err := os.ReadFile(filepath.Join(b.dir, s+journalExt))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(j)), "\n")
	if len(lines) != 5 || lines[3] != `{"done":0}` || lines[4] != `{"done":2}` {
		t.Errorf("journal:\n%s", j)
	}
	if !strings.Contains(lines[1], `"event_id":"`+s+`-2"`) {
		t.Errorf("second event line %s lacks its id", lines[1])
	}
}

func TestAnEmptyJournalIsRemovedAtClose(t *testing.T) {
	b := newBench(t, t.TempDir())
	o := b.open()
	publish(t, o, "1.0")
	b.run(time.Second)
	b.confirm(o.Stream() + "-1")
	b.close(o, time.Second)
	if paths, _ := journalsIn(b.dir); len(paths) != 0 {
		t.Errorf("journals left: %v", paths)
	}
}

// The next process publishes what a process that ended left unconfirmed,
// with the same ids, before its own events; a journal whose process is alive
// is left alone.
func TestTheNextProcessPublishesWhatWasLeft(t *testing.T) {
	dir := t.TempDir()
	b := newBench(t, dir)
	first := b.open()
	publish(t, first, "1.0", "2.0", "3.0")
	b.run(time.Second)
	old := first.Stream()
	b.confirm(old + "-1")

	alive := b.open() // a second process, running: its journal is its own
	publish(t, alive, "9.0")
	b.run(time.Second)

	// The first process dies without closing: its lock goes with it.
	first.mu.Lock()
	first.own.f.Close()
	first.mu.Unlock()

	b2 := newBench(t, dir)
	next := b2.open()
	publish(t, next, "4.0")
	b2.run(time.Second)
	want := old + "-2," + old + "-3," + next.Stream() + "-1"
	if got := strings.Join(b2.ids(), ","); got != want {
		t.Fatalf("the next process published %s, want %s", got, want)
	}
	// Once confirmed, the dead process's journal is gone; the live one stays.
	b2.confirm(old+"-2", old+"-3")
	if _, err := os.Stat(filepath.Join(dir, old+journalExt)); !os.IsNotExist(err) {
		t.Errorf("the adopted journal is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, alive.Stream()+journalExt)); err != nil {
		t.Errorf("the live process's journal: %v", err)
	}
}

// A crash while a line was written leaves a torn last line, which was never
// published: it is skipped.
func TestATornLastLineIsSkipped(t *testing.T) {
	dir := t.TempDir()
	stream := "00112233445566ff"
	body := `{"volume_change":1.0,"event":"add_media","source_of_event":"test","timestamp":"t","event_id":"` + stream + `-1"}`
	text := `{"topic":"` + evTopic + `","event":` + body + "}\n" + `{"topic":"` + evTopic + `","event":{"volume_ch`
	if err := os.WriteFile(filepath.Join(dir, stream+journalExt), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBench(t, dir)
	o := b.open()
	b.run(time.Second)
	if got := b.ids(); len(got) != 1 || got[0] != stream+"-1" {
		t.Fatalf("published %v, want the one whole event", got)
	}
	b.close(o, 0)
}

// Unconfirmed events go again after the client reconnects, when the monitor
// comes back, and after Retry while a monitor that confirms is up; never
// while it is down.
func TestUnconfirmedEventsArePublishedAgain(t *testing.T) {
	b := newBench(t, t.TempDir())
	o := b.open()
	s := o.Stream()
	publish(t, o, "1.0", "2.0")
	b.run(time.Second)
	b.confirm(s + "-2") // the monitor confirms: it is one that does
	b.run(time.Minute)
	count := func() int { return strings.Count(strings.Join(b.ids(), ",")+",", s+"-1,") }
	if n := count(); n != 1 {
		t.Fatalf("published %d times with no monitor, want once", n)
	}
	pubsub.Reconnect(o.client)
	b.run(time.Second)
	if n := count(); n != 2 {
		t.Fatalf("published %d times after a reconnect, want twice", n)
	}
	b.monitorState("ready")
	b.run(time.Second)
	if n := count(); n != 3 {
		t.Fatalf("published %d times after the monitor came back, want 3", n)
	}
	b.run(DefaultRetry)
	if n := count(); n != 4 {
		t.Fatalf("published %d times after Retry with the monitor up, want 4", n)
	}
	b.confirm(s + "-1")
	b.run(time.Hour)
	if n := count(); n != 4 || o.Pending() != 0 {
		t.Fatalf("published %d times, %d pending after the confirmation", n, o.Pending())
	}
	b.close(o, time.Second)
}

// A monitor that is up and confirms nothing does not know event ids: each
// event is published once, and taken as delivered once the broker took it
// and the monitor had Retry to confirm it.
func TestAMonitorThatDoesNotConfirm(t *testing.T) {
	b := newBench(t, t.TempDir())
	b.monitorState("ready")
	o := b.open()
	publish(t, o, "1.0", "2.0")
	b.run(time.Hour)
	if got := b.ids(); len(got) != 2 || o.Pending() != 0 {
		t.Errorf("published %v, %d pending; want each once, none pending", got, o.Pending())
	}
	b.close(o, time.Second)
	if paths, _ := journalsIn(b.dir); len(paths) != 0 {
		t.Errorf("journals left: %v", paths)
	}
}

func TestIDs(t *testing.T) {
	body, err := appendID(event("1.0"), "00112233445566ff-7")
	if err != nil {
		t.Fatal(err)
	}
	id, rest := CutID(body)
	if id != "00112233445566ff-7" || string(rest) != string(event("1.0")) {
		t.Errorf("CutID(%s) = %q, %s", body, id, rest)
	}
	if s, n, err := ParseID(id); err != nil || s != "00112233445566ff" || n != 7 {
		t.Errorf("ParseID(%q) = %q, %d, %v", id, s, n, err)
	}
	// Elsewhere in the object, the id is found by decoding it.
	if id, _ := CutID([]byte(`{"event_id":"x-1","volume_change":1}`)); id != "x-1" {
		t.Errorf("id %q", id)
	}
	if id, rest := CutID(event("1.0")); id != "" || string(rest) != string(event("1.0")) {
		t.Errorf("an event without an id: %q %s", id, rest)
	}
	for _, bad := range []string{"x-1", "00112233445566ff-0", "00112233445566ff", "00112233445566FF-1", "00112233445566ff-1e3", `00112233445566ff-1"`} {
		if _, _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

// The leader's stream, as the units see it: its retained $state and its
// confirmations.

func (b *bench) leaderState(s string) {
	if err := b.ctl.Publish(LeaderState("leader"), []byte(s), 1, true); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bench) stored(ids ...string) {
	for _, id := range ids {
		p, _ := json.Marshal(Handled{Experiment: "e1", EventID: id, Outcome: Stored})
		if err := b.ctl.Publish(StoredTopic("u1"), p, 1, false); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *bench) openWith(o Options) *Outbox {
	b.t.Helper()
	o.Dir, o.Unit, o.Sched = b.dir, "u1", b.clk
	o.Connect = func(o pubsub.Options) (pubsub.Client, error) { return b.broker.Connect(o), nil }
	ob, err := Open(o)
	if err != nil {
		b.t.Fatal(err)
	}
	return ob
}

// count is how many times the event id was published.
func (b *bench) count(id string) int {
	n := 0
	for _, s := range b.ids() {
		if s == id {
			n++
		}
	}
	return n
}

// Who must confirm an event before it leaves the journal: the monitor
// alone without a leader (as before there were leaders), both once a
// leader's stream has announced itself or one is configured, in either
// order.
func TestWhoConfirms(t *testing.T) {
	for _, c := range []struct {
		name        string
		state       string // the leader stream's retained $state; "" none
		configured  string // Options.Leader
		monitor     bool
		leader      bool
		wantPending int
	}{
		{name: "no leader, monitor confirms", monitor: true, wantPending: 0},
		{name: "no leader, nobody confirms", wantPending: 1},
		{name: "leader ready, monitor only", state: "ready", monitor: true, wantPending: 1},
		{name: "leader ready, leader only", state: "ready", leader: true, wantPending: 1},
		{name: "leader ready, both", state: "ready", monitor: true, leader: true, wantPending: 0},
		{name: "leader lost, monitor only", state: "lost", monitor: true, wantPending: 1},
		{name: "leader disconnected, monitor only", state: "disconnected", monitor: true, wantPending: 1},
		{name: "leader configured, unseen, monitor only", configured: "leader", monitor: true, wantPending: 1},
		{name: "leader configured, both", configured: "leader", monitor: true, leader: true, wantPending: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBench(t, t.TempDir())
			if c.state != "" {
				b.leaderState(c.state)
			}
			o := b.openWith(Options{Leader: c.configured})
			publish(t, o, "1.0")
			b.run(time.Second)
			id := o.Stream() + "-1"
			if c.monitor {
				b.confirm(id)
			}
			if c.leader {
				b.stored(id)
			}
			b.run(time.Second)
			if n := o.Pending(); n != c.wantPending {
				t.Errorf("%d events pending, want %d", n, c.wantPending)
			}
			b.close(o, 0)
			if paths, _ := journalsIn(b.dir); (len(paths) > 0) != (c.wantPending > 0) {
				t.Errorf("journals left: %v, want them only with events pending", paths)
			}
		})
	}
}

// With a leader, an event stays in the journal until both have confirmed
// it, whichever confirms first; the journal marks it done only then.
func TestALeaderKeepsEventsUntilBothConfirm(t *testing.T) {
	b := newBench(t, t.TempDir())
	b.leaderState("ready")
	o := b.open()
	publish(t, o, "1.0", "2.0")
	b.run(time.Second)
	s := o.Stream()
	b.confirm(s + "-1") // the monitor first
	b.stored(s + "-2")  // the leader first
	if n := o.Pending(); n != 2 {
		t.Fatalf("%d pending after one confirmation each, want 2", n)
	}
	b.stored(s + "-1")
	b.confirm(s + "-2")
	if n := o.Pending(); n != 0 {
		t.Fatalf("%d pending after both confirmed both, want 0", n)
	}
	j, err := os.ReadFile(filepath.Join(b.dir, s+journalExt))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(j)), "\n"); len(lines) != 4 || lines[2] != `{"done":0}` || lines[3] != `{"done":1}` {
		t.Errorf("journal:\n%s", j)
	}
	b.close(o, time.Second)
}

// The leader's stream restarts: what it has not confirmed is published
// again when it is ready again (not what it has, though the monitor has
// not confirmed that yet), and every Retry while it is ready and silent.
func TestALeaderThatRestartsGetsWhatItMissed(t *testing.T) {
	b := newBench(t, t.TempDir())
	b.leaderState("ready")
	b.monitorState("ready")
	o := b.open()
	s := o.Stream()
	publish(t, o, "1.0", "2.0")
	b.run(time.Second)
	b.confirm(s+"-1", s+"-2")
	b.stored(s + "-1")
	b.leaderState("lost")
	publish(t, o, "3.0") // while the stream is away
	b.run(time.Second)
	b.confirm(s + "-3")
	b.run(time.Hour) // no retry while it is lost
	if a, b2, c := b.count(s+"-1"), b.count(s+"-2"), b.count(s+"-3"); a != 1 || b2 != 1 || c != 1 {
		t.Fatalf("published %d, %d, %d times while the leader was lost; want once each", a, b2, c)
	}
	b.leaderState("ready")
	b.run(time.Second)
	if a, b2, c := b.count(s+"-1"), b.count(s+"-2"), b.count(s+"-3"); a != 1 || b2 != 2 || c != 2 {
		t.Fatalf("published %d, %d, %d times after the leader came back; want 1, 2, 2", a, b2, c)
	}
	b.run(DefaultRetry)
	if n := b.count(s + "-2"); n != 3 {
		t.Fatalf("published %d times after Retry with the leader ready and silent, want 3", n)
	}
	b.stored(s+"-2", s+"-3")
	b.run(time.Hour)
	if n := b.count(s + "-2"); n != 3 || o.Pending() != 0 {
		t.Fatalf("published %d times, %d pending after the leader confirmed", n, o.Pending())
	}
	b.close(o, time.Second)
}

// A leader's stream that is lost keeps every event the monitor confirmed in
// the journal, with the warning at 1024 pending events; a leader cleared by
// hand (an empty retained $state) lets them go.
func TestALostLeaderKeepsEventsAndWarns(t *testing.T) {
	b := newBench(t, t.TempDir())
	b.leaderState("lost")
	var log strings.Builder
	var mu sync.Mutex
	o := b.openWith(Options{Console: slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil))})
	s := o.Stream()
	for i := range 1024 {
		publish(t, o, "0.1")
		b.run(time.Millisecond)
		b.confirm(FormatID(s, uint64(i+1)))
	}
	if n := o.Pending(); n != 1024 {
		t.Fatalf("%d pending, want all 1024 kept for the leader", n)
	}
	mu.Lock()
	text := log.String()
	mu.Unlock()
	if strings.Count(text, "the leader's confirmation") != 1 || !strings.Contains(text, "events=1024") {
		t.Errorf("want one warning at 1024 events; log:\n%s", text)
	}
	b.leaderState("")
	b.run(time.Second)
	if n := o.Pending(); n != 0 {
		t.Errorf("%d pending after the leader was cleared, want 0", n)
	}
	b.close(o, time.Second)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
