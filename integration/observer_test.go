package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

// observer watches the whole pioreactor/ tree as the lab's leader user: the
// last payload of every topic, when it last changed (a count of messages
// seen), and the dosing events each unit published.
type observer struct {
	client pubsub.Client

	mu     sync.Mutex
	n      int                       // messages seen
	last   map[string]string         // topic -> payload
	at     map[string]int            // topic -> n when it last arrived
	events map[string]map[string]int // unit -> event_id -> n when first seen
	logs   []seenLog
	// outcomes of the monitors' confirmations, by event id
	handled map[string][]string
}

// seenLog is a log record the observer saw (logKey) and when.
type seenLog struct {
	key string
	n   int
}

func observe(t *testing.T, addr, user, password string) *observer {
	t.Helper()
	o := &observer{last: map[string]string{}, at: map[string]int{}, events: map[string]map[string]int{}, handled: map[string][]string{}}
	c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "cluster-test-observer", Username: user, Password: password}, 5*time.Second)
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Subscribe("pioreactor/#", 1, o.handle); err != nil {
		t.Fatalf("observer: %v", err)
	}
	o.client = c
	return o
}

func (o *observer) handle(m pubsub.Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n++
	o.last[m.Topic] = string(m.Payload)
	o.at[m.Topic] = o.n
	parts := strings.Split(m.Topic, "/")
	if len(parts) >= 4 && parts[3] == "logs" {
		var r struct {
			Message   string `json:"message"`
			Timestamp string `json:"timestamp"`
		}
		if json.Unmarshal(m.Payload, &r) == nil {
			if at, err := time.Parse(time.RFC3339Nano, r.Timestamp); err == nil {
				o.logs = append(o.logs, seenLog{logKey(parts[1], parts[2], at, r.Message), o.n})
			}
		}
	}
	if strings.HasSuffix(m.Topic, "/monitor/dosing_events_handled") {
		var h struct {
			ID      string `json:"event_id"`
			Outcome string `json:"outcome"`
		}
		if json.Unmarshal(m.Payload, &h) == nil {
			o.handled[h.ID] = append(o.handled[h.ID], h.Outcome)
		}
	}
	if len(parts) == 4 && parts[3] == "dosing_events" {
		var e struct {
			ID string `json:"event_id"`
		}
		if json.Unmarshal(m.Payload, &e) == nil && e.ID != "" {
			unit := parts[1]
			if o.events[unit] == nil {
				o.events[unit] = map[string]int{}
			}
			if _, seen := o.events[unit][e.ID]; !seen {
				o.events[unit][e.ID] = o.n
			}
		}
	}
}

// mark is a point in the stream of messages: what arrives later is "since"
// the mark.
func (o *observer) mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// logsBefore returns the log records seen before mark.
func (o *observer) logsBefore(mark int) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var keys []string
	for _, l := range o.logs {
		if l.n <= mark {
			keys = append(keys, l.key)
		}
	}
	return keys
}

// outcomes returns the monitors' confirmations of an event.
func (o *observer) outcomes(id string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.handled[id]...)
}

// value returns a topic's last payload.
func (o *observer) value(topic string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last[topic]
}

// waitValue waits until topic's last payload, arrived after mark, is want.
func (o *observer) waitValue(t *testing.T, topic, want string, since int, within time.Duration) {
	t.Helper()
	eventually(t, within, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.at[topic] > since && o.last[topic] == want
	}, func() string {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.at[topic] <= since {
			return fmt.Sprintf("%s: no message since the mark (last %q), want %q", topic, o.last[topic], want)
		}
		return fmt.Sprintf("%s is %q, want %q", topic, o.last[topic], want)
	})
}

// newEvents counts the distinct dosing events of unit first seen after mark.
func (o *observer) newEvents(unit string, since int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := 0
	for _, n := range o.events[unit] {
		if n > since {
			k++
		}
	}
	return k
}

// waitEvents waits until each unit has published at least k new dosing
// events since mark.
func (o *observer) waitEvents(t *testing.T, units []string, k, since int, within time.Duration, when string) {
	t.Helper()
	eventually(t, within, func() bool {
		for _, u := range units {
			if o.newEvents(u, since) < k {
				return false
			}
		}
		return true
	}, func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: want %d new dosing events from each of %v; got", when, k, units)
		for _, u := range units {
			fmt.Fprintf(&b, " %s: %d", u, o.newEvents(u, since))
		}
		return b.String()
	})
}

// retained reads a topic's retained message with a client of its own.
func retained(t *testing.T, addr, user, password, topic string) string {
	t.Helper()
	c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "cluster-test-reader", Username: user, Password: password}, 5*time.Second)
	if err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	defer c.Close()
	got := make(chan string, 1)
	if err := c.Subscribe(topic, 1, func(m pubsub.Message) {
		select {
		case got <- string(m.Payload):
		default:
		}
	}); err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	select {
	case v := <-got:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("%s has no retained message (none within 5 s)", topic)
		return ""
	}
}
