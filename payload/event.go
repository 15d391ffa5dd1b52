package payload

import (
	"encoding/json"
	"math"
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
	b := make([]byte, 0, 128)
	b = append(b, `{"event_name":`...)
	b = AppendJSONString(b, e.Name)
	b = append(b, `,"message":`...)
	if e.Message == "" {
		b = append(b, "null"...)
	} else {
		b = AppendJSONString(b, e.Message)
	}
	b = append(b, `,"data":`...)
	switch d := e.Data.(type) {
	case nil:
		b = append(b, "null"...)
	case Volumes:
		b = d.AppendJSON(b)
	default:
		j, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		b = append(b, j...)
	}
	return append(b, '}'), nil
}

// AppendJSONString appends s as a JSON string.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
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

func (v Volumes) Add(key string, ml float64) {
	for i := range v {
		if v[i].Key == key {
			v[i].ML += ml
			return
		}
	}
}

// MarshalJSON implements json.Marshaler.
func (v Volumes) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

func (v Volumes) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, d := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, d.Key)
		b = append(b, ':')
		b = AppendPyFloat(b, d.ML)
	}
	return append(b, '}')
}

// AppendPyFloat appends f as JSON in Python's repr (null if not finite).
func AppendPyFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return appendRepr(b, f)
}

// Field is one key of an Object.
type Field struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its keys in the order they were built,
// as upstream's Python dicts do (a script's event data, for one).
type Object []Field

// MarshalJSON implements json.Marshaler.
func (o Object) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, f := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, f.Key)
		b = append(b, ':')
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}
