package mqttnet

import (
	"fmt"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/piolab/pio/pubsub"
)

// Local returns a client of the embedded broker that lives in this process:
// no connection, no PUBACK, no in-flight table. It is for the leader's own
// consumers of the broker (the database stream), which would otherwise dial
// their own process over TCP.
//
// Its delivery contract differs from Dial's, and only a handler written for
// it may use it:
//
//   - a handler runs on the goroutine of the connection that published the
//     message (mochi's inline subscriptions), so handlers run concurrently,
//     one per publishing connection; each publisher's messages arrive in the
//     order it sent them;
//   - a handler that blocks holds back that publisher and no one else: the
//     broker stops reading its connection, TCP fills, and the publisher's
//     client waits. This is the only backpressure mochi has (it drops, rather
//     than queues, for a network subscriber that falls behind). A handler
//     must therefore never wait for anything a publisher's connection must
//     do first, and must be unblocked when its owner closes;
//   - a QoS 1 or 2 publisher has already had its PUBACK (mochi acknowledges
//     before it delivers), so what the handler has taken it must keep;
//   - the message's QoS is the lesser of the publisher's and the
//     subscription's, as MQTT delivers it; Retained is true only for the
//     retained copies Subscribe delivers (a live message is never flagged,
//     as MQTT 3.1.1 delivers to an existing subscription);
//   - the payload is shared with the broker's other deliveries: read it, do
//     not modify it.
//
// Publish goes through the broker as its inline client: the users and topic
// rules do not apply to it (it is the leader itself), the broker's publish
// hooks (the audit trail) do, with no user name. Subscribe applies no rules
// either. Close only removes the subscriptions; the broker keeps running.
func (e *Embedded) Local(id string) pubsub.Client {
	return &localClient{e: e, id: id, subs: map[string]int{}}
}

type localClient struct {
	e  *Embedded
	id string

	mu     sync.Mutex
	subs   map[string]int // filter → inline subscription identifier
	closed bool
}

func (c *localClient) Publish(topic string, payload []byte, qos byte, retained bool) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return pubsub.ErrClosed
	}
	if !mqtt.IsValidFilter(topic, true) {
		return fmt.Errorf("mqtt: publish %q from %s: not a valid topic", topic, c.id)
	}
	if err := c.e.srv.Publish(topic, payload, retained, qos); err != nil {
		return fmt.Errorf("mqtt: publish %s from %s: %w", topic, c.id, err)
	}
	return nil
}

func (c *localClient) Subscribe(filter string, qos byte, h pubsub.Handler) error {
	if h == nil {
		return fmt.Errorf("mqtt: subscribe %s from %s: no handler", filter, c.id)
	}
	if !mqtt.IsValidFilter(filter, false) {
		return fmt.Errorf("mqtt: subscribe %q from %s: not a valid topic filter", filter, c.id)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return pubsub.ErrClosed
	}
	old, had := c.subs[filter]
	sid := c.e.nextSub()
	c.subs[filter] = sid
	c.mu.Unlock()
	// Live messages, never flagged retained. mochi's Server.Subscribe would
	// deliver the retained copies through the same handler, indistinguishable
	// from live ones, so the subscription goes straight into the topic index
	// and the retained copies are delivered below.
	c.e.srv.Topics.InlineSubscribe(mqtt.InlineSubscription{
		Subscription: packets.Subscription{Filter: filter, Identifier: sid, Qos: qos},
		Handler: func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
			h(pubsub.Message{Topic: pk.TopicName, Payload: pk.Payload, QoS: min(pk.FixedHeader.Qos, qos)})
		},
	})
	if had {
		c.e.srv.Topics.InlineUnsubscribe(old, filter)
	}
	for _, pk := range c.e.srv.Topics.Messages(filter) {
		h(pubsub.Message{Topic: pk.TopicName, Payload: pk.Payload, QoS: min(pk.FixedHeader.Qos, qos), Retained: true})
	}
	return nil
}

func (c *localClient) Unsubscribe(filter string) error {
	c.mu.Lock()
	sid, ok := c.subs[filter]
	delete(c.subs, filter)
	c.mu.Unlock()
	if ok {
		c.e.srv.Topics.InlineUnsubscribe(sid, filter)
	}
	return nil
}

func (c *localClient) Close() error {
	c.mu.Lock()
	subs := c.subs
	c.subs = map[string]int{}
	c.closed = true
	c.mu.Unlock()
	for filter, sid := range subs {
		c.e.srv.Topics.InlineUnsubscribe(sid, filter)
	}
	return nil
}
