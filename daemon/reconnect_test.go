package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

// proxy forwards TCP connections to a broker, and can cut them all at
// once, as a network failure does (no DISCONNECT: the broker publishes
// the client's will).
type proxy struct {
	ln     net.Listener
	broker string
	mu     sync.Mutex
	conns  []net.Conn
}

func startProxy(t *testing.T, broker string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, broker: broker}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", p.broker)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go func() { io.Copy(b, c); b.Close() }()
			go func() { io.Copy(c, b); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// stateWatcher records the daemon's $state as a client of the broker sees it.
func waitState(t *testing.T, c pubsub.Client, want string) {
	t.Helper()
	got := make(chan string, 16)
	if err := c.Subscribe(cluster.StateTopic("u1"), 1, func(m pubsub.Message) { got <- string(m.Payload) }); err != nil {
		t.Fatal(err)
	}
	defer c.Unsubscribe(cluster.StateTopic("u1"))
	deadline := time.After(15 * time.Second)
	for {
		select {
		case s := <-got:
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("the daemon's $state never became %s", want)
		}
	}
}

// After a broker restart (which forgets retained messages and wills) the
// daemon announces itself again, and its will is registered again: a
// connection cut afterwards makes it lost.
func TestBrokerRestartRepublishesStateAndWill(t *testing.T) {
	b, err := mqttnet.StartEmbedded("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	px := startProxy(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Unit: "u1", Experiment: "e1",
			Connect: func(o pubsub.Options) (pubsub.Client, error) {
				return mqttnet.Dial(px.ln.Addr().String(), o, 5*time.Second)
			},
			Exec: (&fakePio{}).exec, BrokerLostStop: time.Hour})
	}()
	defer func() { cancel(); <-done }()
	dial := func() pubsub.Client {
		c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "watch"}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	w := dial()
	waitState(t, w, "ready")
	w.Close()

	b.Close()
	if b, err = mqttnet.StartEmbedded(addr, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("restart the broker at %s: %v", addr, err)
	}
	defer b.Close()
	w = dial()
	defer w.Close()
	waitState(t, w, "ready") // republished: the new broker had no retained $state

	px.ln.Close() // no more reconnects
	px.cut()
	waitState(t, w, "lost") // the will, registered again on reconnect
}
