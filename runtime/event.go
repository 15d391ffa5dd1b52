package runtime

import (
	"bytes"
	"encoding/json"
)

// Event is an automation event, published as the latest_event setting:
// {"event_name": ..., "message": ...|null, "data": ...|null}.
type Event struct {
	Name    string
	Message string // empty encodes as null
	Data    any    // nil encodes as null
}

// Event names upstream defines.
const (
	EventNoEvent       = "NoEvent"
	EventDosingStarted = "DosingStarted"
	EventDosingStopped = "DosingStopped"
	EventErrorOccurred = "ErrorOccurred"
	EventDilution      = "DilutionEvent"
)

// MarshalJSON implements json.Marshaler.
func (e Event) MarshalJSON() ([]byte, error) {
	var msg any
	if e.Message != "" {
		msg = e.Message
	}
	return json.Marshal(struct {
		EventName string `json:"event_name"`
		Message   any    `json:"message"`
		Data      any    `json:"data"`
	}{e.Name, msg, e.Data})
}

// Display is the event as upstream logs it: "Name: message" or "Name".
func (e Event) Display() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// Dose is one named volume of an execute_io_action call, e.g. {"media_ml", 1.0}.
type Dose struct {
	Key string
	ML  float64
}

// Volumes is an ordered list of doses that encodes as a JSON object in order,
// as upstream's result dict does: {"waste_ml": 1.0, "media_ml": 1.0}.
type Volumes []Dose

// Get returns the volume of key (0 if absent).
func (v Volumes) Get(key string) float64 {
	for _, d := range v {
		if d.Key == key {
			return d.ML
		}
	}
	return 0
}

func (v Volumes) add(key string, ml float64) {
	for i := range v {
		if v[i].Key == key {
			v[i].ML += ml
			return
		}
	}
}

// MarshalJSON implements json.Marshaler.
func (v Volumes) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, d := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(d.Key)
		b.Write(k)
		b.WriteByte(':')
		f, _ := Float(d.ML).MarshalJSON()
		b.Write(f)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
