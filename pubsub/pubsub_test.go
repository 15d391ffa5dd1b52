package pubsub

import (
	"fmt"
	"sync"
	"testing"
	"time"
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
	msgs []Message
}

func (c *collector) add(m Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) all() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

func testClients(t *testing.T) (Client, Client, func() Client) {
	t.Helper()
	b, err := StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	n := 0
	dial := func() Client {
		n++
		c, err := Dial(b.Addr(), Options{ClientID: fmt.Sprintf("c%d", n)}, 5*time.Second)
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
	_, err := Dial("127.0.0.1:1", Options{ClientID: "x"}, time.Second)
	if err == nil {
		t.Fatal("dialled a closed port")
	}
	if Reachable("127.0.0.1:1", 100*time.Millisecond) {
		t.Error("Reachable says yes for a closed port")
	}
}

func TestMemoryBroker(t *testing.T) {
	b := NewMemory()
	var order []string
	b.Tap = func(id string, m Message) { order = append(order, "tap "+m.Topic) }
	a := b.Connect(Options{ClientID: "a", Will: &Message{Topic: "w", Payload: []byte("lost"), Retained: true}})
	c := b.Connect(Options{ClientID: "c"})
	c.Subscribe("x/#", 0, func(m Message) { order = append(order, "got "+m.Topic) })
	a.Publish("x/1", []byte("1"), 0, true)
	if len(order) != 2 || order[1] != "got x/1" {
		t.Errorf("synchronous delivery: %v", order)
	}
	var retained []Message
	c.Subscribe("x/1", 0, func(m Message) { retained = append(retained, m) })
	if len(retained) != 1 || !retained[0].Retained {
		t.Errorf("retained on subscribe: %+v", retained)
	}
	Crash(a)
	if m, ok := b.Retained("w"); !ok || string(m.Payload) != "lost" {
		t.Error("no will after a crash")
	}
	if err := a.Publish("x/2", nil, 0, false); err != ErrClosed {
		t.Errorf("publish after crash: %v", err)
	}
	c.Close()
	Crash(c) // a clean close leaves no will to fire
}
