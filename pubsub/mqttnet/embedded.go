package mqttnet

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Embedded is a mochi-mqtt broker running inside this process.
type Embedded struct {
	srv   *mqtt.Server
	ln    *trackedListener
	addr  string
	log   *slog.Logger
	wills *willTracker
	drops *dropCounter
	subID atomic.Int64 // the last inline subscription identifier (Local)

	stop     chan struct{} // closed by Close: ends the drop reporter
	reported chan struct{} // closed when the drop reporter has ended
	once     sync.Once
}

// embeddedConfig is how StartEmbedded sets up mochi; tests shrink it.
type embeddedConfig struct {
	// writesPending is mochi's MaximumClientWritesPending: the packets that
	// may wait for one subscriber's connection. Mochi never blocks a
	// publisher; when the queue is full it drops the message (QoS 0) or
	// refuses it (QoS > 0). The queue is a Go channel made at connect, so it
	// costs 8 bytes a slot per client, used or not.
	writesPending int32
	// writeBuffer is mochi's ClientNetWriteBufferSize: while packets are
	// waiting, mochi gathers them into one write of up to this many bytes
	// (a buffer that exists only while a backlog does).
	writeBuffer int
	// reportEvery is how often new drops are logged.
	reportEvery time.Duration
}

// embeddedDefaults. Four publishers sending 20,000 small QoS 0 messages each
// back to back to one pio subscriber (TestEmbeddedKeepsUpWithFourPublishers)
// build a backlog of some 30,000 packets for it: the subscriber reads about
// half as fast as they publish. Mochi's default of 8 Ki pending writes lost
// about a quarter of the messages, 16 Ki still some 11,000, 32 Ki none; 64 Ki
// (512 KiB of channel per client) leaves twice that margin. The write buffer
// (mochi's default is 2 KiB) made no measurable difference to drops, since
// the reader, not the broker's writes, is the bottleneck; 16 KiB cuts the
// syscalls of a backlog 8-fold at little cost.
var embeddedDefaults = embeddedConfig{
	writesPending: 64 * 1024,
	writeBuffer:   16 * 1024,
	reportEvery:   30 * time.Second,
}

// dropCounter counts, per client, the messages mochi dropped because the
// client's write queue was full, since the last report.
type dropCounter struct {
	mqtt.HookBase
	mu    sync.Mutex
	count map[string]int64
}

func (d *dropCounter) ID() string { return "pio-drop-counter" }

func (d *dropCounter) Provides(b byte) bool { return b == mqtt.OnPublishDropped }

func (d *dropCounter) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	d.mu.Lock()
	d.count[cl.ID]++
	d.mu.Unlock()
}

// take returns the counts since the last take, busiest client first.
func (d *dropCounter) take() string {
	d.mu.Lock()
	counts := d.count
	d.count = map[string]int64{}
	d.mu.Unlock()
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if counts[ids[i]] != counts[ids[j]] {
			return counts[ids[i]] > counts[ids[j]]
		}
		return ids[i] < ids[j]
	})
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", id, counts[id])
	}
	return b.String()
}

// willTracker counts the connected clients that carry a last will, from the
// broker's own connect and disconnect hooks.
type willTracker struct {
	mqtt.HookBase
	mu  sync.Mutex
	ids map[string]bool
}

func (w *willTracker) ID() string { return "pio-will-tracker" }

func (w *willTracker) Provides(b byte) bool { return b == mqtt.OnConnect || b == mqtt.OnDisconnect }

func (w *willTracker) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	if pk.Connect.WillFlag {
		w.mu.Lock()
		w.ids[cl.ID] = true
		w.mu.Unlock()
	}
	return nil
}

func (w *willTracker) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	w.mu.Lock()
	delete(w.ids, cl.ID)
	w.mu.Unlock()
}

func (w *willTracker) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ids)
}

// StartEmbedded starts a broker listening on addr ("host:port"; port 0 picks a
// free one). It accepts every client, as a lone machine's broker on loopback
// does; point pio at a real broker for anything wider.
//
// A subscriber that reads slower than messages come in gets a queue of up
// to 65,536 packets; past that the broker drops messages to it rather than
// slow the publishers (mochi never pushes back). Drops are counted (Dropped)
// and logged at WARN through log, with the clients they were meant for,
// every 30 s while they happen and at Close.
func StartEmbedded(addr string, log *slog.Logger) (*Embedded, error) {
	return startEmbedded(addr, log, embeddedDefaults, EmbeddedOptions{})
}

func startEmbedded(addr string, log *slog.Logger, cfg embeddedConfig, o EmbeddedOptions) (*Embedded, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen on %s: %w", addr, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = cfg.writesPending
	srv := mqtt.New(&mqtt.Options{
		Logger:                   slog.New(brokerLog{log.Handler()}),
		InlineClient:             true, // Local's subscriptions and publishes
		Capabilities:             caps,
		ClientNetWriteBufferSize: cfg.writeBuffer,
	})
	if err := srv.AddHook(accessHook(o), nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if o.Audit != nil {
		if err := srv.AddHook(&auditHook{audit: o.Audit, skip: o.AuditSkip, verified: o.Users != nil}, nil); err != nil {
			ln.Close()
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
	}
	wills := &willTracker{ids: map[string]bool{}}
	if err := srv.AddHook(wills, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	drops := &dropCounter{count: map[string]int64{}}
	if err := srv.AddHook(drops, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	// Close cuts the TCP connections under TLS, so that a write blocked on
	// one fails at once (see Close).
	tl := &trackedListener{Listener: ln, conns: map[*trackedConn]struct{}{}}
	var served net.Listener = tl
	if o.TLS != nil {
		served = tls.NewListener(tl, o.TLS)
	}
	tcp := listeners.NewNet("pio", served)
	if err := srv.AddListener(tcp); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	e := &Embedded{
		srv: srv, ln: tl, addr: ln.Addr().String(), log: log, wills: wills, drops: drops,
		stop: make(chan struct{}), reported: make(chan struct{}),
	}
	go e.reportDrops(cfg.reportEvery)
	return e, nil
}

// nextSub returns a new inline subscription identifier.
func (e *Embedded) nextSub() int { return int(e.subID.Add(1)) }

// Addr is the address the broker listens on.
func (e *Embedded) Addr() string { return e.addr }

// Dropped is the number of messages the broker has not delivered to a
// subscriber because the subscriber fell behind: QoS 0 messages dropped from
// a full write queue, and QoS 1 and 2 messages refused for a full inflight
// store.
func (e *Embedded) Dropped() int64 {
	return atomic.LoadInt64(&e.srv.Info.MessagesDropped) + atomic.LoadInt64(&e.srv.Info.InflightDropped)
}

// reportDrops logs the drops since the previous report, every period and
// once more when the broker closes.
func (e *Embedded) reportDrops(period time.Duration) {
	defer close(e.reported)
	t := time.NewTicker(period)
	defer t.Stop()
	var last int64
	report := func() {
		total := e.Dropped()
		if total == last {
			return
		}
		e.log.Warn("embedded broker: dropped messages to subscribers that fell behind",
			"dropped", total-last, "total", total, "clients", e.drops.take())
		last = total
	}
	for {
		select {
		case <-t.C:
			report()
		case <-e.stop:
			report()
			return
		}
	}
}

// Close stops the broker. It first gives clients that carry a last will
// (jobs that are shutting down) a moment to finish their clean disconnect, so
// that closing the broker does not fire the wills of jobs that just ended,
// and the messages still in flight to the other clients (a job's last
// $state, on its way to pio mqtt) a moment to be delivered.
// A client that has stopped reading would hold mochi's shutdown until its
// keepalive ran out (mochi's write to it blocks, holding the client's lock);
// after closeGrace Close cuts such connections. Last, it logs the drops not
// yet reported. Closing again does nothing.
func (e *Embedded) Close() error {
	var err error
	e.once.Do(func() {
		deadline := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(deadline) && (e.wills.count() > 0 || e.inflight() > 0) {
			time.Sleep(5 * time.Millisecond)
		}
		done := make(chan error, 1)
		go func() { done <- e.srv.Close() }()
		select {
		case err = <-done:
		case <-time.After(closeGrace):
			n := e.ln.cutAll()
			e.log.Warn("embedded broker: clients not reading at shutdown; connections cut", "connections", n)
			err = <-done
		}
		close(e.stop)
		<-e.reported
	})
	return err
}

// closeGrace is how long Close lets mochi disconnect its clients before it
// cuts their connections.
const closeGrace = time.Second

// trackedListener remembers the connections it has accepted and not yet seen
// closed, so that Close can cut them.
type trackedListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// cutAll closes every open connection and returns how many there were; a
// write blocked on one of them then fails.
func (l *trackedListener) cutAll() int {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

type trackedConn struct {
	net.Conn
	l *trackedListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// Reachable reports whether something accepts TCP connections at addr.
func Reachable(addr string, timeout time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// inflight counts the QoS 1 and 2 messages the broker has sent, or queued,
// to its clients and not yet seen acknowledged.
func (e *Embedded) inflight() int {
	n := 0
	for _, cl := range e.srv.Clients.GetAll() {
		if !cl.Closed() {
			n += cl.State.Inflight.Len()
		}
	}
	return n
}
