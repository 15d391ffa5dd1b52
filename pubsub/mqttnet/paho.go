// Package mqttnet is MQTT over the network: a paho client that implements
// pubsub.Client, and the embedded mochi-mqtt broker a lone machine runs when
// no broker answers. Nothing in runtime, script or builtins imports it; the
// commands hand the runtime a connection factory built from it.
package mqttnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/piolab/pio/pubsub"
)

// Dial connects to the broker at addr ("host:port") and returns a Client. It
// fails if the broker does not accept the connection within timeout. Once
// connected, the client reconnects by itself, resubscribes, and reports drops
// through Options.OnLost and Options.OnReconnect.
func Dial(addr string, opts pubsub.Options, timeout time.Duration) (pubsub.Client, error) {
	c := &pahoClient{subs: map[string]pahoSub{}, timeout: timeout}
	// A random suffix, as upstream adds, so that a restarted job never takes
	// over its dead predecessor's session (a clean new session instead).
	o := paho.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("%s-%04x", opts.ClientID, rand.IntN(1<<16))).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetConnectTimeout(timeout).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second)
	if opts.Username != "" {
		o.SetUsername(opts.Username).SetPassword(opts.Password)
	}
	if w := opts.Will; w != nil {
		o.SetBinaryWill(w.Topic, w.Payload, w.QoS, w.Retained)
	}
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		if opts.OnLost != nil {
			opts.OnLost(err)
		}
	})
	first := true
	o.SetOnConnectHandler(func(pc paho.Client) {
		c.mu.Lock()
		subs := make([]pahoSub, 0, len(c.subs))
		for _, s := range c.subs {
			subs = append(subs, s)
		}
		wasFirst := first
		first = false
		c.mu.Unlock()
		if wasFirst {
			return // Subscribe makes the first subscriptions itself
		}
		for _, s := range subs {
			pc.Subscribe(s.filter, s.qos, s.cb)
		}
		if opts.OnReconnect != nil {
			go opts.OnReconnect()
		}
	})
	c.pc = paho.NewClient(o)
	tok := c.pc.Connect()
	if !tok.WaitTimeout(timeout) {
		c.pc.Disconnect(0)
		return nil, fmt.Errorf("mqtt: connect to %s: timed out after %v", addr, timeout)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("mqtt: connect to %s: %w", addr, err)
	}
	return c, nil
}

type pahoSub struct {
	filter string
	qos    byte
	cb     paho.MessageHandler
}

type pahoClient struct {
	pc      paho.Client
	timeout time.Duration
	mu      sync.Mutex
	subs    map[string]pahoSub
	closed  bool
}

// ErrNotConnected is returned while the connection to the broker is down: pio
// fails fast rather than queueing, so that nothing (a pump's cleanup above
// all) waits on a broker that is gone. Settings are republished on reconnect.
var ErrNotConnected = errors.New("mqtt: not connected to the broker")

func (c *pahoClient) wait(what string, tok paho.Token) error {
	if !tok.WaitTimeout(c.timeout) {
		return fmt.Errorf("mqtt: %s: no answer from the broker within %v", what, c.timeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("mqtt: %s: %w", what, err)
	}
	return nil
}

func (c *pahoClient) Publish(t string, payload []byte, qos byte, retained bool) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return pubsub.ErrClosed
	}
	if !c.pc.IsConnectionOpen() {
		return fmt.Errorf("publish %s: %w", t, ErrNotConnected)
	}
	return c.wait("publish "+t, c.pc.Publish(t, qos, retained, payload))
}

func (c *pahoClient) Subscribe(filter string, qos byte, h pubsub.Handler) error {
	cb := func(_ paho.Client, m paho.Message) {
		h(pubsub.Message{Topic: m.Topic(), Payload: m.Payload(), QoS: m.Qos(), Retained: m.Retained()})
	}
	c.mu.Lock()
	c.subs[filter] = pahoSub{filter: filter, qos: qos, cb: cb}
	c.mu.Unlock()
	return c.wait("subscribe "+filter, c.pc.Subscribe(filter, qos, cb))
}

func (c *pahoClient) Unsubscribe(filter string) error {
	c.mu.Lock()
	delete(c.subs, filter)
	c.mu.Unlock()
	if !c.pc.IsConnectionOpen() {
		return nil // the broker forgot the subscription with the connection
	}
	return c.wait("unsubscribe "+filter, c.pc.Unsubscribe(filter))
}

func (c *pahoClient) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.pc.Disconnect(250)
	return nil
}
