package mqttnet

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Embedded is a mochi-mqtt broker running inside this process.
type Embedded struct {
	srv   *mqtt.Server
	addr  string
	wills *willTracker
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
func StartEmbedded(addr string, log *slog.Logger) (*Embedded, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen on %s: %w", addr, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := mqtt.New(&mqtt.Options{Logger: log, InlineClient: false})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	wills := &willTracker{ids: map[string]bool{}}
	if err := srv.AddHook(wills, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	tcp := listeners.NewNet("pio", ln)
	if err := srv.AddListener(tcp); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Embedded{srv: srv, addr: ln.Addr().String(), wills: wills}, nil
}

// Addr is the address the broker listens on.
func (e *Embedded) Addr() string { return e.addr }

// Close stops the broker. It first gives clients that carry a last will
// (jobs that are shutting down) a moment to finish their clean disconnect, so
// that closing the broker does not fire the wills of jobs that just ended.
func (e *Embedded) Close() error {
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) && e.wills.count() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return e.srv.Close()
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
