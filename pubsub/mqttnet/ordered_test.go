package mqttnet_test

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// brokers are the brokers every test of this file runs against.
var brokers = []struct {
	name  string
	start func(testing.TB) string
}{
	{"embedded", mqtttest.StartEmbedded},
	{"mosquitto", mqtttest.StartMosquitto},
}

func dial(t *testing.T, addr, id string) pubsub.Client {
	t.Helper()
	c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: id}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// await waits for done, failing the test after limit: a deadlock ends the
// test instead of hanging it.
func await(t *testing.T, done <-chan struct{}, limit time.Duration, what func() string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("no end after %v: %s", limit, what())
	}
}

// TestOrderedDelivery: 2,000 numbered messages published back to back reach
// the subscriber's handler in order, none missing, at every QoS.
func TestOrderedDelivery(t *testing.T) {
	const n = 2000
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t)
			for qos := byte(0); qos <= 2; qos++ {
				t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
					pub := dial(t, addr, "pub")
					sub := dial(t, addr, "sub")
					topic := fmt.Sprintf("pio/test/order/%d", qos)
					var (
						mu      sync.Mutex
						next    int
						bad     []string
						retains int
					)
					done := make(chan struct{})
					err := sub.Subscribe(topic, qos, func(m pubsub.Message) {
						runtime.Gosched() // give a reordering a chance to show
						seq, err := strconv.Atoi(string(m.Payload))
						mu.Lock()
						defer mu.Unlock()
						if m.Retained {
							retains++
						}
						if m.Topic != topic {
							bad = append(bad, "topic "+m.Topic)
						}
						if err != nil || seq != next {
							if len(bad) < 10 {
								bad = append(bad, fmt.Sprintf("got %q where %d was due", m.Payload, next))
							}
							next = seq
						}
						next++
						if next == n {
							close(done)
						}
					})
					if err != nil {
						t.Fatal(err)
					}
					for i := 0; i < n; i++ {
						if err := pub.Publish(topic, []byte(strconv.Itoa(i)), qos, false); err != nil {
							t.Fatal(err)
						}
					}
					await(t, done, 30*time.Second, func() string {
						mu.Lock()
						defer mu.Unlock()
						return fmt.Sprintf("%d of %d delivered, out of order: %v", next, n, bad)
					})
					mu.Lock()
					defer mu.Unlock()
					if len(bad) > 0 || retains > 0 {
						t.Errorf("out of order or wrong: %v; %d flagged retained", bad, retains)
					}
				})
			}
		})
	}
}

// TestHandlerMayPublishAndWait: a handler publishes at QoS 2, to a topic its
// own client subscribes to, and waits for the broker's PUBCOMP. With paho's
// ordered mode calling handlers on its router goroutine this deadlocks: the
// echo of the handler's own message queues behind the handler, and the
// PUBCOMP behind the echo.
func TestHandlerMayPublishAndWait(t *testing.T) {
	const n = 200
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t)
			job := dial(t, addr, "job")
			ui := dial(t, addr, "ui")
			var (
				echoes   atomic.Int64
				errMu    sync.Mutex
				pubErrs  []error
				order    []int
				finished = make(chan struct{})
			)
			if err := job.Subscribe("pio/test/echo/out/+", 2, func(m pubsub.Message) {
				seq, _ := strconv.Atoi(string(m.Payload))
				errMu.Lock()
				order = append(order, seq)
				errMu.Unlock()
				if echoes.Add(1) == n {
					close(finished)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if err := job.Subscribe("pio/test/echo/in/+", 2, func(m pubsub.Message) {
				if err := job.Publish("pio/test/echo/out/x", m.Payload, 2, false); err != nil {
					errMu.Lock()
					pubErrs = append(pubErrs, err)
					errMu.Unlock()
				}
			}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if err := ui.Publish("pio/test/echo/in/x", []byte(strconv.Itoa(i)), 2, false); err != nil {
					t.Fatal(err)
				}
			}
			await(t, finished, 30*time.Second, func() string {
				errMu.Lock()
				defer errMu.Unlock()
				return fmt.Sprintf("%d of %d echoes handled; publish errors in handlers: %v", echoes.Load(), n, pubErrs)
			})
			errMu.Lock()
			defer errMu.Unlock()
			if len(pubErrs) > 0 {
				t.Errorf("publish from a handler failed: %v", pubErrs)
			}
			for i, seq := range order {
				if seq != i {
					t.Fatalf("echo %d carries %d: out of order", i, seq)
				}
			}
		})
	}
}

// barrier returns once the broker has fully handled c's earlier publishes.
// Mochi acknowledges a QoS 1 or 2 publish before it hands the message to
// subscribers, so a subscription made just after the ack may get the message
// twice, retained and live; but it handles one client's packets in order, so
// the ack of a later publish means the earlier ones are done.
func barrier(t *testing.T, c pubsub.Client) {
	t.Helper()
	if err := c.Publish("pio/test/barrier", nil, 1, false); err != nil {
		t.Fatal(err)
	}
}

// TestRetainedFlagAndTopic: a retained message reaches a late subscriber
// flagged Retained, under its own topic; a live one arrives unflagged (in
// either order).
func TestRetainedFlagAndTopic(t *testing.T) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t)
			pub := dial(t, addr, "pub")
			if err := pub.Publish("pio/test/keep/setting", []byte("20.0"), 1, true); err != nil {
				t.Fatal(err)
			}
			barrier(t, pub)
			sub := dial(t, addr, "sub")
			got := make(chan pubsub.Message, 2)
			if err := sub.Subscribe("pio/test/keep/+", 1, func(m pubsub.Message) { got <- m }); err != nil {
				t.Fatal(err)
			}
			pub.Publish("pio/test/keep/live", []byte("1"), 1, false)
			var msgs []pubsub.Message
			for len(msgs) < 2 {
				select {
				case m := <-got:
					msgs = append(msgs, m)
				case <-time.After(10 * time.Second):
					t.Fatalf("got %+v only", msgs)
				}
			}
			// The retained message and the live one come from two clients:
			// a broker may deliver the live one first (mochi sends retained
			// messages after the SUBACK, beside the publisher's messages).
			if msgs[0].Topic == "pio/test/keep/live" {
				msgs[0], msgs[1] = msgs[1], msgs[0]
			}
			if m := msgs[0]; m.Topic != "pio/test/keep/setting" || !m.Retained || string(m.Payload) != "20.0" || m.QoS != 1 {
				t.Errorf("retained delivery %+v", m)
			}
			if m := msgs[1]; m.Topic != "pio/test/keep/live" || m.Retained || string(m.Payload) != "1" {
				t.Errorf("live delivery %+v", m)
			}
			pub.Publish("pio/test/keep/setting", nil, 1, true) // clear it
		})
	}
}

// TestCloseInHandlerAndUnsubscribe: a handler may Close its own client, and
// once Close or Unsubscribe has returned no queued message reaches a handler.
func TestCloseInHandlerAndUnsubscribe(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	pub := dial(t, addr, "pub")
	sub := dial(t, addr, "sub")

	var calls atomic.Int64
	closed := make(chan struct{})
	if err := sub.Subscribe("pio/test/close", 0, func(pubsub.Message) {
		if calls.Add(1) == 1 {
			sub.Close() // must return although this handler is running
			close(closed)
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		pub.Publish("pio/test/close", []byte("x"), 0, false)
	}
	await(t, closed, 10*time.Second, func() string { return "Close from a handler did not return" })
	if err := sub.Subscribe("pio/test/other", 0, func(pubsub.Message) {}); err != pubsub.ErrClosed {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
	// A last publish, acknowledged, then a look: nothing was handled after
	// the handler that closed.
	pub.Publish("pio/test/close", []byte("x"), 1, false)
	if got := calls.Load(); got != 1 {
		t.Errorf("%d handler calls, want 1 (none after Close)", got)
	}

	other := dial(t, addr, "other")
	var seen atomic.Int64
	gate := make(chan struct{})
	first := make(chan struct{})
	if err := other.Subscribe("pio/test/unsub", 1, func(pubsub.Message) {
		if seen.Add(1) == 1 {
			close(first)
			<-gate // hold the dispatcher while more messages queue up
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := pub.Publish("pio/test/unsub", []byte("x"), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	await(t, first, 10*time.Second, func() string { return "first message never handled" })
	if err := other.Unsubscribe("pio/test/unsub"); err != nil {
		t.Fatal(err)
	}
	close(gate)
	// An acknowledged round trip on the same client, after the queued ones.
	sync := make(chan struct{})
	other.Subscribe("pio/test/sync", 1, func(pubsub.Message) { close(sync) })
	pub.Publish("pio/test/sync", []byte("x"), 1, false)
	await(t, sync, 10*time.Second, func() string { return "sync message never handled" })
	if got := seen.Load(); got != 1 {
		t.Errorf("%d messages handled, want 1: the rest were queued for a filter since unsubscribed", got)
	}
}
