package dbstream

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

func TestStreamStoresCountsAndRejects(t *testing.T) {
	db := openTemp(t)
	broker := pubsub.NewMemory()
	var logBuf bytes.Buffer
	s, err := Start(db, broker.Connect(pubsub.Options{ClientID: "leader"}), Options{
		Log: slog.New(slog.NewTextHandler(&logBuf, nil)), BatchRows: 7, BatchDelay: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	unit := broker.Connect(pubsub.Options{ClientID: "u1"})
	var want []string
	at := time.Date(2026, 5, 6, 7, 8, 9, 123_456_000, time.UTC)
	for i := 0; i < 40; i++ {
		m := simulate("u1", "exp", i%8, i, at.Add(time.Duration(i)*time.Second))
		if err := unit.Publish(m.topic, m.payload, 1, false); err != nil {
			t.Fatal(err)
		}
		want = append(want, key(m.table, m.values))
	}
	unit.Publish("pioreactor/u1/exp/growth_rate_calculating/growth_rate", []byte(`{"growth_rate":"fast"}`), 1, false)
	unit.Publish("pioreactor/u1/exp/od_reading/$state", []byte("ready"), 1, false)
	unit.Publish("pioreactor/u1/exp/bioreactor/current_volume_ml", []byte("14"), 1, true) // retained: live copy delivered
	// The BatchDelay of an hour holds the last partial batch: Close must flush it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Stored != 41 || st.Rejected != 1 || st.Received != st.Stored+st.Rejected+st.Ignored {
		t.Errorf("stats %+v: want 41 stored (40 + a volume), 1 rejected, every message accounted for", st)
	}
	got := storedRows(t, db)
	if len(got) != 41 {
		t.Fatalf("%d rows stored, want 41", len(got))
	}
	var noVolume []string
	for _, r := range got {
		if !strings.HasPrefix(r, "liquid_volumes|") {
			noVolume = append(noVolume, r)
		}
	}
	sort.Strings(want)
	if !reflect.DeepEqual(noVolume, want) {
		t.Errorf("stored rows differ from published:\ngot  %q\nwant %q", noVolume, want)
	}
	if lines := strings.Count(logBuf.String(), "rejected a message"); lines != 1 ||
		!strings.Contains(logBuf.String(), "growth_rate_calculating/growth_rate") || !strings.Contains(logBuf.String(), "timestamp") {
		t.Errorf("want one WARN line naming the topic and the reason, got:\n%s", logBuf.String())
	}
}

func TestCloseFlushesAPartialBatchAtOnce(t *testing.T) {
	db := openTemp(t)
	broker := pubsub.NewMemory()
	s, err := Start(db, broker.Connect(pubsub.Options{ClientID: "leader"}), Options{BatchDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	unit := broker.Connect(pubsub.Options{ClientID: "u"})
	for i := 0; i < 3; i++ {
		m := simulate("u", "e", kindOD, i, time.Now())
		unit.Publish(m.topic, m.payload, 1, false)
	}
	time.Sleep(20 * time.Millisecond) // the writer is waiting for its batch to fill
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if st := s.Stats(); st.Stored != 3 {
		t.Errorf("stats %+v: want 3 stored", st)
	}
}

func TestStreamIgnoresRetainedCopies(t *testing.T) {
	db := openTemp(t)
	broker := pubsub.NewMemory()
	broker.Connect(pubsub.Options{ClientID: "u"}).Publish("pioreactor/u/e/bioreactor/current_volume_ml", []byte("14"), 1, true)
	s, err := Start(db, broker.Connect(pubsub.Options{ClientID: "leader"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st := s.Stats(); st.Received != 1 || st.Ignored != 1 || st.Stored != 0 {
		t.Errorf("stats %+v: want the retained copy received and ignored", st)
	}
}

// TestStreamOnEmbeddedBroker publishes from several clients through the real
// embedded broker and checks every stored row against what was published.
func TestStreamOnEmbeddedBroker(t *testing.T) {
	broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	db := openTemp(t)
	leader, err := mqttnet.Dial(broker.Addr(), pubsub.Options{ClientID: "leader"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	var logBuf syncBuffer
	s, err := Start(db, leader, Options{Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const units, perUnit = 6, 300
	var mu sync.Mutex
	var want []string
	var wg sync.WaitGroup
	at := time.Now().UTC()
	for u := 0; u < units; u++ {
		c, err := mqttnet.Dial(broker.Addr(), pubsub.Options{ClientID: fmt.Sprintf("unit%d", u)}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func(u int, c pubsub.Client) {
			defer wg.Done()
			unit := fmt.Sprintf("worker%02d", u)
			for i := 0; i < perUnit; i++ {
				m := simulate(unit, "exp1", i%8, i, at.Add(time.Duration(i)*time.Millisecond))
				if err := c.Publish(m.topic, m.payload, 1, false); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want = append(want, key(m.table, m.values))
				mu.Unlock()
			}
			c.Publish("pioreactor/"+unit+"/exp1/dosing_events", []byte(`{"volume_change":"lots"}`), 1, false)
		}(u, c)
	}
	wg.Wait()
	total := int64(units * (perUnit + 1))
	if !waitFor(10*time.Second, func() bool { return s.Stats().Received >= total }) {
		t.Fatalf("received %d of %d messages", s.Stats().Received, total)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Stored != units*perUnit || st.Rejected != units || st.Received != total {
		t.Errorf("stats %+v: want %d stored, %d rejected, %d received", st, units*perUnit, units, total)
	}
	if d := broker.Dropped(); d != 0 {
		t.Errorf("the broker dropped %d messages", d)
	}
	sort.Strings(want)
	if got := storedRows(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("stored %d rows, published %d; they differ", len(got), len(want))
	}
	if n := strings.Count(logBuf.String(), "rejected a message"); n != units {
		t.Errorf("%d rejection lines, want %d", n, units)
	}
}

// syncBuffer is a bytes.Buffer safe for the stream's handler and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStatsLine drives the stats clock by hand: each tick logs one line
// with the rows stored since the last.
func TestStatsLine(t *testing.T) {
	db := openTemp(t)
	broker := pubsub.NewMemory()
	ticks := make(chan time.Time)
	var logBuf syncBuffer
	s, err := Start(db, broker.Connect(pubsub.Options{ClientID: "leader"}), Options{
		Log: slog.New(slog.NewTextHandler(&logBuf, nil)), BatchDelay: time.Millisecond,
		After: func(d time.Duration) <-chan time.Time {
			if d != time.Minute {
				t.Errorf("stats period %v, want 1m", d)
			}
			return ticks
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	unit := broker.Connect(pubsub.Options{ClientID: "u"})
	for i := 0; i < 3; i++ {
		m := simulate("u", "e", kindOD, i, time.Now())
		unit.Publish(m.topic, m.payload, 1, false)
	}
	if !waitFor(5*time.Second, func() bool { return s.Stats().Stored == 3 }) {
		t.Fatalf("stats %+v", s.Stats())
	}
	ticks <- time.Now()
	ticks <- time.Now() // the first line is written before the second tick is taken
	s.Close()
	out := logBuf.String()
	if !strings.Contains(out, "stored_last_period=3 ") || !strings.Contains(out, "stored_last_period=0 ") ||
		strings.Count(out, "dbstream: stats") != 2 {
		t.Errorf("want two stats lines, 3 then 0 stored in the period:\n%s", out)
	}
}

// TestBackpressure: with MaxQueued rows waiting, the handler (here, the
// publisher's own goroutine, as with mqttnet's Local client) waits for the
// writer; when the writer takes rows, it goes on, and nothing is lost.
func TestBackpressure(t *testing.T) {
	broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	db := openTemp(t)
	gate := make(chan struct{})
	var once sync.Once
	s, err := Start(db, broker.Local("leader-db"), Options{BatchRows: 2, MaxQueued: 2, BatchDelay: time.Hour,
		OnCommit: func([]Row, time.Time) { once.Do(func() { <-gate }) }})
	if err != nil {
		t.Fatal(err)
	}
	unit := broker.Local("unit") // publishes on this goroutine, into the handler
	var returned sync.WaitGroup
	var published atomicInt
	returned.Add(1)
	go func() {
		defer returned.Done()
		for i := 0; i < 10; i++ {
			m := simulate("u", "e", kindOD, i, time.Now())
			if err := unit.Publish(m.topic, m.payload, 1, false); err != nil {
				t.Error(err)
			}
			published.add()
		}
	}()
	// The writer holds its first batch (2 rows) in OnCommit; 2 more fill
	// the queue; the fifth publish is received and waits for room.
	if !waitFor(10*time.Second, func() bool { return s.Stats().Received == 5 }) {
		t.Fatalf("received %d, want 5", s.Stats().Received)
	}
	if p, q := published.get(), s.Queued(); p != 4 || q != 2 {
		t.Fatalf("%d publishes returned with %d rows queued; want 4 and 2 (the fifth held back)", p, q)
	}
	close(gate)
	returned.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Received != 10 || st.Stored != 10 {
		t.Errorf("stats %+v: want 10 received and stored", st)
	}
}

// TestCloseReleasesAWaitingHandler: Close lets a handler waiting for room
// queue its row, then stores it.
func TestCloseReleasesAWaitingHandler(t *testing.T) {
	broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	db := openTemp(t)
	gate := make(chan struct{})
	var once sync.Once
	s, err := Start(db, broker.Local("leader-db"), Options{BatchRows: 1, MaxQueued: 1, BatchDelay: time.Millisecond,
		OnCommit: func([]Row, time.Time) { once.Do(func() { <-gate }) }})
	if err != nil {
		t.Fatal(err)
	}
	unit := broker.Local("unit")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3; i++ {
			m := simulate("u", "e", kindOD, i, time.Now())
			unit.Publish(m.topic, m.payload, 1, false)
		}
	}()
	if !waitFor(10*time.Second, func() bool { return s.Stats().Received == 3 }) {
		t.Fatalf("received %d, want 3", s.Stats().Received)
	}
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	<-done // Close released the third publish while the writer is still held
	close(gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Stored != 3 {
		t.Errorf("stats %+v: want 3 stored", st)
	}
}

type atomicInt struct {
	mu sync.Mutex
	n  int
}

func (a *atomicInt) add() { a.mu.Lock(); a.n++; a.mu.Unlock() }
func (a *atomicInt) get() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}
