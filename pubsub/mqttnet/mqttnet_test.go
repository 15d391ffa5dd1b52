package mqttnet

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
)

// waitFor polls cond until it holds or a generous deadline passes; it waits
// on network delivery, not on time passing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type collector struct {
	mu   sync.Mutex
	msgs []pubsub.Message
}

func (c *collector) add(m pubsub.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) all() []pubsub.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]pubsub.Message(nil), c.msgs...)
}

func testClients(t *testing.T) (pubsub.Client, pubsub.Client, func() pubsub.Client) {
	t.Helper()
	b, err := StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	n := 0
	dial := func() pubsub.Client {
		n++
		c, err := Dial(b.Addr(), pubsub.Options{ClientID: fmt.Sprintf("c%d", n)}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return dial(), dial(), dial
}

func TestEmbeddedBrokerPublishSubscribe(t *testing.T) {
	pub, sub, _ := testClients(t)
	var got collector
	if err := sub.Subscribe("pioreactor/+/e/#", 2, got.add); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := pub.Publish(fmt.Sprintf("pioreactor/u/e/job/n%d", i), []byte("x"), 2, false); err != nil {
			t.Fatal(err)
		}
	}
	pub.Publish("pioreactor/u/other/job/x", []byte("y"), 2, false)
	waitFor(t, "50 messages", func() bool { return len(got.all()) >= 50 })
	for _, m := range got.all() {
		if m.Retained || string(m.Payload) != "x" {
			t.Errorf("unexpected %+v", m)
		}
	}
}

func TestEmbeddedBrokerRetainedAndClear(t *testing.T) {
	pub, _, dial := testClients(t)
	pub.Publish("pioreactor/u/e/job/setting", []byte("20.0"), 2, true)
	pub.Publish("pioreactor/u/e/job/cleared", []byte("1"), 2, true)
	pub.Publish("pioreactor/u/e/job/cleared", nil, 2, true)
	// Mochi acknowledges before it delivers: a later publish's ack means the
	// clear is done, and cannot reach the late subscriber live.
	pub.Publish("pioreactor/u/barrier", nil, 1, false)
	late := dial()
	var got collector
	late.Subscribe("pioreactor/u/e/job/+", 1, got.add)
	waitFor(t, "the retained message", func() bool { return len(got.all()) >= 1 })
	time.Sleep(20 * time.Millisecond) // let a wrongly kept "cleared" arrive, if any
	msgs := got.all()
	if len(msgs) != 1 || msgs[0].Topic != "pioreactor/u/e/job/setting" || !msgs[0].Retained || string(msgs[0].Payload) != "20.0" {
		t.Errorf("retained delivery %+v", msgs)
	}
}

func TestDialFailsClearly(t *testing.T) {
	_, err := Dial("127.0.0.1:1", pubsub.Options{ClientID: "x"}, time.Second)
	if err == nil {
		t.Fatal("dialled a closed port")
	}
	if Reachable("127.0.0.1:1", 100*time.Millisecond) {
		t.Error("Reachable says yes for a closed port")
	}
}

// TestUnroutedMessagesAreAcknowledged: a QoS 1 message that reaches the
// client for no current subscription (one just unsubscribed) is still
// acknowledged. Left unacknowledged, its packet id stays in flight at the
// broker, and mochi then refuses a later SUBSCRIBE that carries the same id.
func TestUnroutedMessagesAreAcknowledged(t *testing.T) {
	b, err := StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c, err := Dial(b.Addr(), pubsub.Options{ClientID: "unrouted"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pub, err := Dial(b.Addr(), pubsub.Options{ClientID: "pub"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })

	// A subscription with no route in paho: what arrives for it is what
	// arrives after an Unsubscribe.
	pc := c.(*pahoClient).pc
	if tok := pc.Subscribe("pio/test/unrouted", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for i := 0; i < 20; i++ {
		if err := pub.Publish("pio/test/unrouted", []byte("x"), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the broker to see every message acknowledged", func() bool { return b.inflight() == 0 })

	// And a subscription after it works.
	got := make(chan struct{})
	if err := c.Subscribe("pio/test/after", 1, func(pubsub.Message) { close(got) }); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("pio/test/after", []byte("x"), 1, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the message after the unrouted ones never arrived")
	}
}
