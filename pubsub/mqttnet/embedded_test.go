package mqttnet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
)

// recordLog is a slog handler that keeps the records it gets.
type recordLog struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recordLog) WithGroup(string) slog.Handler      { return l }

// dropWarnings returns the broker's WARN records about drops as
// "message key=value ..." lines.
func (l *recordLog) dropWarnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level != slog.LevelWarn || !strings.Contains(r.Message, "dropped") {
			continue
		}
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		out = append(out, b.String())
	}
	return out
}

// floodConfig is the broker set-up of TestEmbeddedKeepsUpWithFourPublishers:
// StartEmbedded's, unless PIO_TEST_WRITES_PENDING or PIO_TEST_WRITE_BUFFER
// say otherwise (to measure other settings, e.g. mochi's defaults 8192 and
// 2048).
func floodConfig(t *testing.T) embeddedConfig {
	cfg := embeddedDefaults
	if v := os.Getenv("PIO_TEST_WRITES_PENDING"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		cfg.writesPending = int32(n)
	}
	if v := os.Getenv("PIO_TEST_WRITE_BUFFER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		cfg.writeBuffer = n
	}
	return cfg
}

// TestEmbeddedKeepsUpWithFourPublishers: four clients publish 20,000 QoS 0
// messages each, back to back, to one subscriber whose handler keeps up.
// Nothing may be dropped, and each publisher's messages arrive in order.
func TestEmbeddedKeepsUpWithFourPublishers(t *testing.T) {
	const publishers, each = 4, 20000
	var logs recordLog
	cfg := floodConfig(t)
	b, err := startEmbedded("127.0.0.1:0", slog.New(&logs), cfg, EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dial := func(id string) pubsub.Client {
		c, err := Dial(b.Addr(), pubsub.Options{ClientID: id}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	sub := dial("logs")
	var (
		got   atomic.Int64
		mu    sync.Mutex
		next  [publishers]int
		wrong []string
	)
	all := make(chan struct{})
	payload := bytes.Repeat([]byte("x"), 60) // about a log line's size
	err = sub.Subscribe("pio/test/flood/+", 0, func(m pubsub.Message) {
		p, _ := strconv.Atoi(m.Topic[len("pio/test/flood/"):])
		seq := int(binary.BigEndian.Uint32(m.Payload))
		mu.Lock()
		// A gap is a drop, counted by the broker; going back is disorder.
		if p < 0 || p >= publishers || seq < next[p] {
			if len(wrong) < 5 {
				wrong = append(wrong, fmt.Sprintf("%s: %d after %d", m.Topic, seq, next[p]-1))
			}
		} else {
			next[p] = seq + 1
		}
		mu.Unlock()
		if got.Add(1) == publishers*each {
			close(all)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		pub := dial(fmt.Sprintf("job%d", p))
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := fmt.Sprintf("pio/test/flood/%d", p)
			msg := append([]byte(nil), payload...)
			for i := 0; i < each; i++ {
				binary.BigEndian.PutUint32(msg, uint32(i))
				if err := pub.Publish(topic, msg, 0, false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	published := time.Since(start)
	// Everything is either on its way or dropped by now, except what the
	// publishers' broker connections have not yet read.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
wait:
	for {
		select {
		case <-all:
			break wait
		case <-tick.C:
			// A drop means the subscriber will never see them all: stop
			// waiting once the broker has settled.
			if d := b.Dropped(); d > 0 && got.Load()+d >= publishers*each {
				break wait
			}
		case <-timeout:
			t.Fatalf("%d of %d delivered, %d dropped after 30 s", got.Load(), publishers*each, b.Dropped())
		}
	}
	t.Logf("writes pending %d, write buffer %d: %d published in %v, %d delivered in %v, %d dropped",
		cfg.writesPending, cfg.writeBuffer, publishers*each, published.Round(time.Millisecond),
		got.Load(), time.Since(start).Round(time.Millisecond), b.Dropped())
	if d := b.Dropped(); d != 0 || got.Load() != publishers*each {
		t.Errorf("%d dropped, %d of %d delivered", d, got.Load(), publishers*each)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(wrong) > 0 {
		t.Errorf("out of order: %v", wrong)
	}
	b.Close()
	if w := logs.dropWarnings(); len(w) != 0 {
		t.Errorf("warnings without drops: %q", w)
	}
}

// rawSubscriber is an MQTT 3.1.1 subscriber on a bare TCP connection, so that
// a test can stop reading.
type rawSubscriber struct {
	conn net.Conn
	r    *bufio.Reader
}

func mqttString(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func mqttPacket(header byte, body []byte) []byte {
	p := []byte{header}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		p = append(p, b)
		if n == 0 {
			break
		}
	}
	return append(p, body...)
}

func dialRaw(t *testing.T, addr, id, filter string) *rawSubscriber {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &rawSubscriber{conn: c, r: bufio.NewReader(c)}
	connect := mqttString("MQTT")
	connect = append(connect, 4, 0x02, 0, 60) // 3.1.1, clean session, keepalive 60 s
	connect = append(connect, mqttString(id)...)
	subscribe := binary.BigEndian.AppendUint16(nil, 1)
	subscribe = append(append(subscribe, mqttString(filter)...), 0)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(mqttPacket(0x10, connect)); err != nil {
		t.Fatal(err)
	}
	if typ, body := s.next(t); typ != 2 || len(body) != 2 || body[1] != 0 {
		t.Fatalf("CONNACK: type %d %v", typ, body)
	}
	if _, err := c.Write(mqttPacket(0x82, subscribe)); err != nil {
		t.Fatal(err)
	}
	if typ, body := s.next(t); typ != 9 || len(body) != 3 || body[2] != 0 {
		t.Fatalf("SUBACK: type %d %v", typ, body)
	}
	return s
}

// next reads one packet and returns its type and body.
func (s *rawSubscriber) next(t *testing.T) (byte, []byte) {
	t.Helper()
	h, err := s.r.ReadByte()
	if err != nil {
		t.Fatal(err)
	}
	n, mul := 0, 1
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		n += int(b&0x7f) * mul
		mul *= 128
		if b&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(s.r, body); err != nil {
		t.Fatal(err)
	}
	return h >> 4, body
}

// stall fills the write queue of a subscriber that reads nothing: n 1 KiB
// messages, more than the kernel's socket buffers and a 256-packet queue
// hold. It returns once the broker has handled them all.
func stall(t *testing.T, b *Embedded, n int) *rawSubscriber {
	t.Helper()
	stalled := dialRaw(t, b.Addr(), "stalled", "pio/test/stall")
	pub, err := Dial(b.Addr(), pubsub.Options{ClientID: "job"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	payload := make([]byte, 1024)
	for i := 0; i < n; i++ {
		if err := pub.Publish("pio/test/stall", payload, 0, false); err != nil {
			t.Fatal(err)
		}
	}
	// The broker handles one client's packets in order: once this is
	// acknowledged, every message above is queued or dropped.
	if err := pub.Publish("pio/test/sync", nil, 1, false); err != nil {
		t.Fatal(err)
	}
	if b.Dropped() == 0 {
		t.Fatal("nothing dropped for a subscriber that stopped reading")
	}
	return stalled
}

func stallConfig() embeddedConfig {
	return embeddedConfig{writesPending: 256, writeBuffer: embeddedDefaults.writeBuffer, reportEvery: time.Hour}
}

// TestEmbeddedCountsDrops: a subscriber that stops reading loses messages,
// and the broker counts every one: what it finally reads plus what was
// dropped is what was sent. The drops are logged at Close.
func TestEmbeddedCountsDrops(t *testing.T) {
	const n = 20000
	var logs recordLog
	b, err := startEmbedded("127.0.0.1:0", slog.New(&logs), stallConfig(), EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stalled := stall(t, b, n)
	dropped := b.Dropped()
	// Read what the broker kept: with the drops, that must be everything.
	stalled.conn.SetDeadline(time.Now().Add(5 * time.Second))
	var read int64
	for read+dropped < n {
		if typ, _ := stalled.next(t); typ == 3 {
			read++
		}
	}
	t.Logf("%d sent: %d read after the stall, %d dropped", n, read, dropped)
	if d := b.Dropped(); d != dropped {
		t.Errorf("drops went on after the publisher was done: %d, then %d", dropped, d)
	}
	b.Close()
	w := logs.dropWarnings()
	want := fmt.Sprintf("dropped=%d total=%d clients=stalled=%d", dropped, dropped, dropped)
	if len(w) != 1 || !strings.Contains(w[0], want) {
		t.Errorf("warnings %q, want one with %q", w, want)
	}
}

// TestEmbeddedReportsDropsPeriodically: drops are logged while they happen,
// not only at Close, and only new ones.
func TestEmbeddedReportsDropsPeriodically(t *testing.T) {
	var logs recordLog
	cfg := stallConfig()
	cfg.reportEvery = 10 * time.Millisecond
	b, err := startEmbedded("127.0.0.1:0", slog.New(&logs), cfg, EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stall(t, b, 10000)
	deadline := time.Now().Add(5 * time.Second)
	for len(logs.dropWarnings()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no drop warning within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Close()
	w := logs.dropWarnings()
	want := fmt.Sprintf("total=%d ", b.Dropped())
	if !strings.Contains(w[len(w)-1], want) {
		t.Errorf("warnings %q: the last should have %q", w, want)
	}
}

// TestEmbeddedCloseWithStalledSubscriber: Close returns although mochi's
// write to a subscriber that stopped reading is blocked.
func TestEmbeddedCloseWithStalledSubscriber(t *testing.T) {
	var logs recordLog
	b, err := startEmbedded("127.0.0.1:0", slog.New(&logs), stallConfig(), EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stall(t, b, 10000)
	closed := make(chan struct{})
	go func() {
		b.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still blocked after 5 s by a subscriber that reads nothing")
	}
}
