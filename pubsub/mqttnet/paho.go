// Package mqttnet is MQTT over the network: a paho client that implements
// pubsub.Client, and the embedded mochi-mqtt broker a lone machine runs when
// no broker answers. Nothing in runtime, script or builtins imports it; the
// commands hand the runtime a connection factory built from it.
package mqttnet

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/piolab/pio/pubsub"
)

// Dial connects to the broker at addr ("host:port") and returns a Client. It
// fails if the broker does not accept the connection within timeout. Once
// connected, the client reconnects by itself, resubscribes, and reports drops
// through Options.OnLost and Options.OnReconnect.
//
// Delivery: the client's handlers see messages in the order the broker
// delivered them, one at a time, on one dispatch goroutine per client. Paho
// runs with SetOrderMatters(true), so it calls its callback on its own router
// goroutine, where blocking would stall the connection (a handler that
// publishes at QoS 1 or 2 and waits for the ack would wait forever: the ack
// queues behind the handler). The callback therefore only appends the message
// to an unbounded per-client queue and returns; the dispatch goroutine takes
// messages off the queue and calls the handlers. A handler may publish and
// wait for the ack; long work belongs to the job, or the queue grows.
//
// Close stops the dispatch promptly: messages still queued are dropped, not
// handed to handlers. Close does not wait for a handler that is running (a
// handler may itself call Close); that one message may still be handled
// after Close returns, nothing after it.
func Dial(addr string, opts pubsub.Options, timeout time.Duration) (pubsub.Client, error) {
	c := &pahoClient{subs: map[string]*pahoSub{}, timeout: timeout, in: newInbox()}
	scheme := "tcp://"
	if opts.TLS != nil {
		scheme = "ssl://"
	}
	// A random suffix, as upstream adds, so that a restarted job never takes
	// over its dead predecessor's session (a clean new session instead).
	o := paho.NewClientOptions().
		AddBroker(scheme + addr).
		SetClientID(fmt.Sprintf("%s-%04x", opts.ClientID, rand.IntN(1<<16))).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(false).
		SetOrderMatters(true). // the callback only queues; see inbox
		SetConnectTimeout(timeout).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetStore(noResume{paho.NewMemoryStore()}).
		SetDefaultPublishHandler(ackUnrouted)
	if opts.Username != "" {
		o.SetUsername(opts.Username).SetPassword(opts.Password)
	}
	if opts.TLS != nil {
		o.SetTLSConfig(opts.TLS)
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
		subs := make([]*pahoSub, 0, len(c.subs))
		for _, s := range c.subs {
			subs = append(subs, s)
		}
		wasFirst := first
		first = false
		c.mu.Unlock()
		if wasFirst {
			return // Subscribe makes the first subscriptions itself
		}
		// paho runs this handler on a goroutine of its own, so it may wait
		// for each SUBACK (and retry a refused one, see subscribe).
		for _, s := range subs {
			c.subscribe(s)
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
		return nil, connectError(addr, opts, err)
	}
	go c.in.run()
	return c, nil
}

// connectError says why the broker at addr refused the connection, naming
// the user name when the broker refused it.
func connectError(addr string, opts pubsub.Options, err error) error {
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		who := "anonymously (no user name)"
		if opts.Username != "" {
			who = fmt.Sprintf("as user %q", opts.Username)
		}
		return fmt.Errorf("mqtt: connect to %s %s: the broker refused the user name or password: %w", addr, who, err)
	case opts.TLS == nil && errors.Is(err, io.EOF):
		return fmt.Errorf("mqtt: connect to %s: the broker closed the connection (does it want TLS? [mqtt] use_tls): %w", addr, err)
	}
	return fmt.Errorf("mqtt: connect to %s: %w", addr, err)
}

// pahoSub is one subscription. Its handler runs only while it is current:
// Unsubscribe, or a new Subscribe of the same filter, retires it, and the
// messages still queued for it are then dropped.
type pahoSub struct {
	filter  string
	qos     byte
	h       pubsub.Handler
	cb      paho.MessageHandler
	retired atomic.Bool
}

type pahoClient struct {
	pc      paho.Client
	timeout time.Duration
	in      *inbox
	mu      sync.Mutex
	subs    map[string]*pahoSub
	closed  bool
}

// queued is one message waiting for its handler.
type queued struct {
	sub *pahoSub
	msg pubsub.Message
}

// inbox is a client's unbounded FIFO of received messages and the state of
// its one dispatch goroutine (run). push never blocks, so paho's router
// goroutine, which calls it, never waits on a handler.
type inbox struct {
	mu     sync.Mutex
	wake   sync.Cond
	q      []queued
	closed atomic.Bool // read without mu by the dispatcher between messages
}

func newInbox() *inbox {
	in := new(inbox)
	in.wake.L = &in.mu
	return in
}

func (in *inbox) push(s *pahoSub, m pubsub.Message) {
	in.mu.Lock()
	if !in.closed.Load() {
		in.q = append(in.q, queued{s, m})
		if len(in.q) == 1 {
			in.wake.Signal()
		}
	}
	in.mu.Unlock()
}

// run calls the handlers, in arrival order, until close. It takes the whole
// queue at a time and swaps in the previous, emptied batch, so a backlog
// costs one lock and no copying.
func (in *inbox) run() {
	var batch []queued
	for {
		in.mu.Lock()
		for len(in.q) == 0 && !in.closed.Load() {
			in.wake.Wait()
		}
		if in.closed.Load() {
			in.q = nil
			in.mu.Unlock()
			return
		}
		batch, in.q = in.q, batch[:0]
		in.mu.Unlock()
		for i := range batch {
			if in.closed.Load() {
				return
			}
			it := batch[i]
			batch[i] = queued{} // let the payload go once handled
			if !it.sub.retired.Load() {
				it.sub.h(it.msg)
			}
		}
		if cap(batch) > 4096 {
			batch = nil // a burst is over: give its memory back
		}
	}
}

// close stops run after the message it is handling, if any, and drops the
// rest of the queue. It does not wait for run to return.
func (in *inbox) close() {
	in.mu.Lock()
	in.closed.Store(true)
	in.q = nil
	in.wake.Broadcast()
	in.mu.Unlock()
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
	s := &pahoSub{filter: filter, qos: qos, h: h}
	// Called on paho's router goroutine: queue and return, never block.
	s.cb = func(_ paho.Client, m paho.Message) {
		c.in.push(s, pubsub.Message{Topic: m.Topic(), Payload: m.Payload(), QoS: m.Qos(), Retained: m.Retained()})
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return pubsub.ErrClosed
	}
	if old := c.subs[filter]; old != nil {
		old.retired.Store(true)
	}
	c.subs[filter] = s
	c.mu.Unlock()
	return c.subscribe(s)
}

// subscribeAttempts bounds the retries of a refused SUBSCRIBE.
const subscribeAttempts = 8

// subscribe sends s's SUBSCRIBE and waits for the broker's SUBACK. A
// refusal (return code 0x80 or above) is retried with a new packet id:
// mochi takes the packet ids a client chooses and the ones it chooses itself
// for the messages it sends that client from one table, so a SUBSCRIBE whose
// id equals that of a QoS 1 message still in flight towards the client (a
// retained message of the previous subscription, typically) is refused
// with 0x91, "packet identifier in use", which MQTT 3.1.1 reports as 0x80.
// paho completes the token without an error either way; a subscription that
// silently does not exist is a job that never hears its commands.
func (c *pahoClient) subscribe(s *pahoSub) error {
	var code byte
	for attempt := 0; attempt < subscribeAttempts; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
		}
		tok := c.pc.Subscribe(s.filter, s.qos, s.cb)
		if err := c.wait("subscribe "+s.filter, tok); err != nil {
			return err
		}
		st, ok := tok.(*paho.SubscribeToken)
		if !ok {
			return nil
		}
		var refused bool
		if code, refused = st.Result()[s.filter]; !refused || code < 0x80 {
			return nil
		}
	}
	return fmt.Errorf("mqtt: subscribe %s: refused by the broker %d times (return code 0x%02x)", s.filter, subscribeAttempts, code)
}

// ackUnrouted is paho's default publish handler. A message can arrive for a
// filter just unsubscribed (the broker sent it before it read the
// UNSUBSCRIBE). Without a default handler paho never acknowledges it; the
// broker then keeps its packet id in flight, and mochi refuses a later
// SUBSCRIBE that happens to carry the same id ("packet identifier in use"),
// so the client silently stops hearing a topic. The message itself is for a
// subscription that is gone: acknowledged and dropped.
func ackUnrouted(paho.Client, paho.Message) {}

func (c *pahoClient) Unsubscribe(filter string) error {
	c.mu.Lock()
	if old := c.subs[filter]; old != nil {
		old.retired.Store(true)
	}
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
	c.in.close()
	c.pc.Disconnect(250)
	return nil
}

// noResume is paho's memory store without the resend of stored messages
// after a reconnect. On a clean session the broker has forgotten them
// anyway, and paho v1.5.1's resume writes a packet's DUP flag while the new
// connection encodes it (a data race, upstream issue 703). What must not be
// lost is resent by its owner: jobs republish their settings on reconnect,
// and dosing events stay in their outbox until the monitor confirms them.
type noResume struct{ paho.Store }

// All lists nothing to resume.
func (noResume) All() []string { return nil }
