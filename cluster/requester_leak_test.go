package cluster

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// countingClient counts the subscriptions its user holds, and can fail
// the next Subscribe.
type countingClient struct {
	pubsub.Client
	mu      sync.Mutex
	subs    map[string]int
	failSub error
}

func (c *countingClient) Subscribe(filter string, qos byte, h pubsub.Handler) error {
	c.mu.Lock()
	if err := c.failSub; err != nil {
		c.failSub = nil
		c.mu.Unlock()
		return err
	}
	c.mu.Unlock()
	if err := c.Client.Subscribe(filter, qos, h); err != nil {
		return err
	}
	c.mu.Lock()
	if c.subs == nil {
		c.subs = map[string]int{}
	}
	c.subs[filter]++
	c.mu.Unlock()
	return nil
}

func (c *countingClient) Unsubscribe(filter string) error {
	c.mu.Lock()
	if c.subs[filter]--; c.subs[filter] <= 0 {
		delete(c.subs, filter)
	}
	c.mu.Unlock()
	return c.Client.Unsubscribe(filter)
}

func (c *countingClient) held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

// A failed $state subscription (the broker was away for a moment) must
// not stay behind: the next Send to the unit subscribes again.
func TestSendAfterFailedStateSubscription(t *testing.T) {
	b := pubsub.NewMemory()
	fakeDaemon(t, b.Connect(pubsub.Options{ClientID: "daemon"}), "u1", echo)
	c := &countingClient{Client: b.Connect(pubsub.Options{ClientID: "leader"}), failSub: errors.New("not connected")}
	r := NewRequester(c, time.Minute)
	rep := r.Send(context.Background(), "u1", Request{Argv: []string{"status"}})
	if rep.Error == nil || rep.Error.Kind != "internal" {
		t.Fatalf("first send = %+v", rep)
	}
	rep = r.Send(context.Background(), "u1", Request{Argv: []string{"run", "stirring"}})
	if !rep.OK {
		t.Fatalf("second send, the broker back = %+v %+v", rep, rep.Error)
	}
	if n := c.held(); n != 0 {
		t.Fatalf("%d subscriptions left after the sends: %v", n, c.subs)
	}
}

// A thousand sends through a real broker leave no subscription and no
// goroutine behind, answered or timed out; a daemon whose retained $state
// says ready but which is gone (no will yet) times out within the timeout.
func TestSendsLeaveNothingBehind(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	dial := func(id string) pubsub.Client {
		c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: id}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	fakeDaemon(t, dial("daemon-w1"), "w1", echo)
	dial("gone").Publish(StateTopic("w2"), []byte("ready"), 1, true) // ready, but nobody answers
	c := &countingClient{Client: dial("leader")}
	r := NewRequester(c, 5*time.Second)
	send := func() {
		if rep := r.Send(context.Background(), "w1", Request{Argv: []string{"run", "stirring"}}); !rep.OK {
			t.Fatalf("%+v %+v", rep, rep.Error)
		}
	}
	send() // the client's own goroutines are up
	before := runtime.NumGoroutine()
	for range 1000 {
		send()
	}
	short := NewRequester(c, 50*time.Millisecond)
	for range 5 {
		rep := short.Send(context.Background(), "w2", Request{Argv: []string{"status"}})
		if rep.Error == nil || rep.Error.Kind != "timeout" {
			t.Fatalf("a gone daemon: %+v %+v", rep, rep.Error)
		}
	}
	if n := c.held(); n != 0 {
		t.Fatalf("%d subscriptions left after the sends: %v", n, c.subs)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after 1005 sends, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
