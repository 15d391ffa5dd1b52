package pubsub

import (
	"sort"
	"sync"

	"github.com/piolab/pio/topic"
)

// Memory is an in-process MQTT broker. Publish delivers to every matching
// subscriber synchronously, on the publisher's goroutine, before it returns;
// with all work on one goroutine that makes message order, and therefore a
// whole simulated run, deterministic.
//
// It keeps retained messages (an empty retained payload clears one), honours
// last wills on Crash, and lets a Tap observe every publish.
type Memory struct {
	mu       sync.Mutex
	retained map[string]Message
	subs     []*memSub
	seq      int
	// matches caches, per topic, the subscriptions that match it; any change
	// of subscriptions clears it.
	matches map[string][]*memSub
	// Tap, if set, sees every message published, before delivery.
	Tap func(clientID string, m Message)
}

type memSub struct {
	client *memClient
	filter string
	h      Handler
	seq    int
}

// NewMemory returns an empty broker.
func NewMemory() *Memory { return &Memory{retained: map[string]Message{}} }

// Connect returns a new client of the broker.
func (b *Memory) Connect(opts Options) Client { return &memClient{b: b, opts: opts} }

// Retained returns the retained message on t, if any.
func (b *Memory) Retained(t string) (Message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.retained[t]
	return m, ok
}

func (b *Memory) publish(clientID string, m Message) {
	b.mu.Lock()
	tap := b.Tap
	if m.Retained {
		if len(m.Payload) == 0 {
			delete(b.retained, m.Topic)
		} else {
			b.retained[m.Topic] = m
		}
	}
	targets, ok := b.matches[m.Topic]
	if !ok {
		for _, s := range b.subs {
			if topic.Match(s.filter, m.Topic) {
				targets = append(targets, s)
			}
		}
		if b.matches == nil {
			b.matches = map[string][]*memSub{}
		}
		b.matches[m.Topic] = targets
	}
	b.mu.Unlock()
	if tap != nil {
		tap(clientID, m)
	}
	// Delivery to live subscribers carries retained=false, as MQTT brokers do.
	live := m
	live.Retained = false
	for _, s := range targets {
		if !s.client.isClosed() {
			s.h(live)
		}
	}
}

type memClient struct {
	b      *Memory
	opts   Options
	mu     sync.Mutex
	closed bool
}

func (c *memClient) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *memClient) Publish(t string, payload []byte, qos byte, retained bool) error {
	if c.isClosed() {
		return ErrClosed
	}
	p := make([]byte, len(payload))
	copy(p, payload)
	c.b.publish(c.opts.ClientID, Message{Topic: t, Payload: p, QoS: qos, Retained: retained})
	return nil
}

func (c *memClient) Subscribe(filter string, qos byte, h Handler) error {
	if c.isClosed() {
		return ErrClosed
	}
	b := c.b
	b.mu.Lock()
	b.seq++
	b.subs = append(b.subs, &memSub{client: c, filter: filter, h: h, seq: b.seq})
	b.matches = nil
	var ret []Message
	for t, m := range b.retained {
		if topic.Match(filter, t) {
			ret = append(ret, m)
		}
	}
	b.mu.Unlock()
	sort.Slice(ret, func(i, j int) bool { return ret[i].Topic < ret[j].Topic })
	for _, m := range ret {
		h(m)
	}
	return nil
}

func (c *memClient) Unsubscribe(filter string) error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.subs[:0]
	for _, s := range b.subs {
		if !(s.client == c && s.filter == filter) {
			kept = append(kept, s)
		}
	}
	b.subs = kept
	b.matches = nil
	return nil
}

func (c *memClient) drop() bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	c.mu.Unlock()
	b := c.b
	b.mu.Lock()
	kept := b.subs[:0]
	for _, s := range b.subs {
		if s.client != c {
			kept = append(kept, s)
		}
	}
	if len(kept) != len(b.subs) {
		b.matches = nil // a client without subscriptions (a pump's) changes no match
	}
	b.subs = kept
	b.mu.Unlock()
	return true
}

func (c *memClient) Close() error {
	c.drop()
	return nil
}

// Crash ends a client of a Memory broker without a clean disconnect, so its
// last will is published: the in-memory twin of a killed process.
func Crash(c Client) {
	mc, ok := c.(*memClient)
	if !ok || !mc.drop() {
		return
	}
	if w := mc.opts.Will; w != nil {
		mc.b.publish(mc.opts.ClientID, *w)
	}
}

// LoseConnection tells a client of a Memory broker that its connection
// dropped (its OnLost runs), as a network fault would; the client keeps its
// subscriptions, as paho's auto-reconnect does. Reconnect ends the fault.
func LoseConnection(c Client, err error) {
	if mc, ok := c.(*memClient); ok && mc.opts.OnLost != nil {
		mc.opts.OnLost(err)
	}
}

// Reconnect tells a client of a Memory broker that it reconnected (its
// OnReconnect runs).
func Reconnect(c Client) {
	if mc, ok := c.(*memClient); ok && mc.opts.OnReconnect != nil {
		mc.opts.OnReconnect()
	}
}
