// Package pubsubtest records what a unit publishes and logs, for the tests of
// the packages that run jobs.
package pubsubtest

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/piolab/pio/pubsub"
)

// Recorder keeps every message it is given (as a pubsub.Memory Tap) and
// every log record (as a Logger's OnRecord), in order.
type Recorder struct {
	mu   sync.Mutex
	msgs []pubsub.Message
	logs []string
}

// Tap records a published message; set it as pubsub.Memory.Tap.
func (r *Recorder) Tap(_ string, m pubsub.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

// Published returns the messages published on topic, in order.
func (r *Recorder) Published(topic string) []pubsub.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pubsub.Message
	for _, m := range r.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// Len is how many messages were published, on every topic.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// Payloads returns the payloads published on topic, in order.
func (r *Recorder) Payloads(topic string) []string {
	var out []string
	for _, m := range r.Published(topic) {
		out = append(out, string(m.Payload))
	}
	return out
}

// Log records a log record ("LEVEL: message").
func (r *Recorder) Log(level, msg string) {
	r.mu.Lock()
	r.logs = append(r.logs, level+": "+msg)
	r.mu.Unlock()
}

// Logs returns the log records, "LEVEL: message", in order.
func (r *Recorder) Logs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.logs...)
}

// Logged reports whether a record of level contains substr.
func (r *Recorder) Logged(level, substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.logs {
		if strings.HasPrefix(l, level+": ") && strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

// DosingEvent is a decoded dosing_events payload.
type DosingEvent struct {
	V      float64 `json:"volume_change"`
	Event  string  `json:"event"`
	Source *string `json:"source_of_event"`
}

// DosingEvents decodes the payloads published on topic.
func (r *Recorder) DosingEvents(topic string) ([]DosingEvent, error) {
	var out []DosingEvent
	for _, p := range r.Payloads(topic) {
		var e DosingEvent
		if err := json.Unmarshal([]byte(p), &e); err != nil {
			return nil, fmt.Errorf("bad dosing event %q: %v", p, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Volumes returns the volume_change of each event named name.
func Volumes(events []DosingEvent, name string) []float64 {
	var out []float64
	for _, e := range events {
		if e.Event == name {
			out = append(out, e.V)
		}
	}
	return out
}

// Sum adds up v.
func Sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// VolumesEqual reports whether two lists of volumes agree within 1e-12 mL.
func VolumesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}
