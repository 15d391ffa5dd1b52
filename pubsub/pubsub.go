// Package pubsub is pio's seam to MQTT. Jobs talk to a Client; three things
// make one:
//
//   - Dial connects to a real broker (Mosquitto, or the embedded one) with paho;
//   - Memory is an in-process broker with synchronous delivery, used by
//     pio simulate (deterministic virtual time) and by unit tests;
//   - StartEmbedded runs the mochi-mqtt broker inside the pio process, for a
//     lone machine with nothing installed.
package pubsub

import (
	"crypto/tls"
	"errors"
)

// Message is one MQTT message.
type Message struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
}

// Handler receives messages for a subscription.
//
// The delivery contract, kept by every implementation (Memory, and paho
// against the embedded broker or Mosquitto): one client's handlers see
// messages in the order the broker delivered them, one at a time, on one
// dispatch goroutine per client (Memory: the publisher's), never one per
// message. A handler may publish without deadlocking the client, but it must
// not wait for long: it hands the message to its job (pio's jobs put it in
// their inbox, see runtime.Job) and returns.
type Handler func(Message)

// Client is one MQTT connection.
type Client interface {
	// Publish sends a message and waits until the broker has it (for QoS > 0).
	Publish(topic string, payload []byte, qos byte, retained bool) error
	// Subscribe registers h for filter; retained messages that match are
	// delivered at once, flagged Retained.
	Subscribe(filter string, qos byte, h Handler) error
	// Unsubscribe removes the subscription of filter.
	Unsubscribe(filter string) error
	// Close disconnects cleanly: the broker does not publish the last will.
	Close() error
}

// Options configure a new Client.
type Options struct {
	ClientID string
	// Will is published by the broker if the client goes away without Close.
	Will *Message
	// OnLost is called when an established connection drops.
	OnLost func(error)
	// OnReconnect is called after the client reconnects by itself.
	OnReconnect func()
	Username    string
	Password    string
	// TLS, if set, makes the client connect with TLS (auth.ClientTLS).
	TLS *tls.Config
}

// ErrClosed is returned by a closed Client.
var ErrClosed = errors.New("pubsub: client closed")
