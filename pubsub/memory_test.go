package pubsub

import "testing"

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
