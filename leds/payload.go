package leds

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/piolab/pio/payload"
)

// ChangeEvent is upstream's LEDChangeEvent, published on led_change_events:
// {"channel": "A", "intensity": 10.0, "source_of_event": "CLI", "timestamp": ...}.
type ChangeEvent struct {
	Channel   string
	Intensity float64
	Source    string // "" encodes as null
	At        time.Time
}

// AppendJSON appends the event as upstream's msgspec struct encodes it.
func (e ChangeEvent) AppendJSON(b []byte) []byte {
	b = append(b, `{"channel":`...)
	b = payload.AppendJSONString(b, e.Channel)
	b = append(b, `,"intensity":`...)
	b = payload.AppendPyFloat(b, e.Intensity)
	b = append(b, `,"source_of_event":`...)
	if e.Source == "" {
		b = append(b, "null"...)
	} else {
		b = payload.AppendJSONString(b, e.Source)
	}
	b = append(b, `,"timestamp":"`...)
	b = payload.AppendStructTimestamp(b, e.At)
	return append(b, `"}`...)
}

// MarshalJSON implements json.Marshaler.
func (e ChangeEvent) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// ParseChangeEvent decodes a led_change_events payload.
func ParseChangeEvent(b []byte) (ChangeEvent, error) {
	var raw struct {
		Channel   string   `json:"channel"`
		Intensity *float64 `json:"intensity"`
		Source    *string  `json:"source_of_event"`
		Timestamp string   `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return ChangeEvent{}, fmt.Errorf("leds: LED change event: %w", err)
	}
	if raw.Intensity == nil {
		return ChangeEvent{}, fmt.Errorf("leds: LED change event %.100q has no intensity", b)
	}
	at, err := time.Parse(time.RFC3339Nano, raw.Timestamp)
	if err != nil {
		return ChangeEvent{}, fmt.Errorf("leds: LED change event: timestamp %q: %w", raw.Timestamp, err)
	}
	e := ChangeEvent{Channel: raw.Channel, Intensity: *raw.Intensity, At: at}
	if raw.Source != nil {
		e.Source = *raw.Source
	}
	return e, nil
}

// intensityJSON encodes the four channels as upstream's json.dumps does:
// {"A": 0.0, "B": 0.0, "C": 0.0, "D": 0.0}.
func intensityJSON(state map[string]float64) []byte {
	b := make([]byte, 0, 64)
	b = append(b, '{')
	for i, ch := range Channels {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = payload.AppendJSONString(b, ch)
		b = append(b, ": "...)
		b = payload.AppendPyFloat(b, state[ch])
	}
	return append(b, '}')
}

// ParseIntensities decodes a leds/intensity payload.
func ParseIntensities(b []byte) (map[string]float64, error) {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("leds: leds/intensity: %w", err)
	}
	return m, nil
}

// pyG3 formats f as Python's format(f, "0.3g"): 10.0 is "10", 12.345 "12.3".
func pyG3(f float64) string { return strconv.FormatFloat(f, 'g', 3, 64) }
