package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// DosingEvent is the payload on pioreactor/<unit>/<experiment>/dosing_events.
type DosingEvent struct {
	VolumeChange  Float   `json:"volume_change"`
	Event         string  `json:"event"`
	SourceOfEvent *string `json:"source_of_event"`
	Timestamp     string  `json:"timestamp"`
}

// appendJSON encodes the event as upstream's msgspec does, without reflection.
func (e DosingEvent) AppendJSON(b []byte) []byte {
	b = append(b, `{"volume_change":`...)
	b = AppendPyFloat(b, float64(e.VolumeChange))
	b = append(b, `,"event":`...)
	b = AppendJSONString(b, e.Event)
	b = append(b, `,"source_of_event":`...)
	if e.SourceOfEvent == nil {
		b = append(b, "null"...)
	} else {
		b = AppendJSONString(b, *e.SourceOfEvent)
	}
	b = append(b, `,"timestamp":`...)
	b = AppendJSONString(b, e.Timestamp)
	return append(b, '}')
}

// MarshalJSON implements json.Marshaler.
func (e DosingEvent) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// ParseDosingEvent decodes a dosing_events payload. volume_change is
// required; source_of_event may be null or absent.
func ParseDosingEvent(b []byte) (DosingEvent, error) {
	if e, ok := parseOwnDosingEvent(b); ok {
		return e, nil
	}
	var raw struct {
		VolumeChange  *float64 `json:"volume_change"`
		Event         string   `json:"event"`
		SourceOfEvent *string  `json:"source_of_event"`
		Timestamp     string   `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &raw); err != nil || raw.VolumeChange == nil {
		if err := volumeChangeError(b); err != nil {
			return DosingEvent{}, err
		}
		return DosingEvent{}, fmt.Errorf("malformed dosing event %.200q: want {\"volume_change\": <mL>, \"event\": ...}", b)
	}
	return DosingEvent{VolumeChange: Float(*raw.VolumeChange), Event: raw.Event, SourceOfEvent: raw.SourceOfEvent, Timestamp: raw.Timestamp}, nil
}

// volumeChangeError says what is wrong with the volume_change of a payload
// JSON refuses, when that is a number JSON cannot hold: NaN, inf (as Python
// writes them) and 1e999 are not finite numbers of mL; 0x1p-2, +1, 01 and
// .5 are numbers JSON does not write. It is nil for any other payload.
func volumeChangeError(b []byte) error {
	_, rest, ok := bytes.Cut(b, []byte(`"volume_change"`))
	if !ok {
		return nil
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if rest, ok = bytes.CutPrefix(rest, []byte(":")); !ok {
		return nil
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	end := bytes.IndexAny(rest, ",} \t\r\n")
	if end < 0 {
		end = len(rest)
	}
	token := rest[:end]
	if len(token) == 0 || len(token) > 40 {
		return nil
	}
	v, err := strconv.ParseFloat(string(token), 64)
	switch {
	case math.IsInf(v, 0) && isJSONNumber(token): // 1e999: out of range
		return fmt.Errorf("volume_change=%s is not a finite number of mL", token)
	case err == nil && (math.IsNaN(v) || math.IsInf(v, 0)):
		return fmt.Errorf("volume_change=%v is not a finite number of mL", v)
	case err == nil && !isJSONNumber(token):
		return fmt.Errorf("volume_change=%s is not a number as JSON writes one: write %s", token, AppendPyFloat(nil, v))
	}
	return nil
}

// parseOwnDosingEvent is the fast path for the exact form AppendJSON writes
// (a plain JSON number, strings of valid UTF-8 without escapes or control
// characters). It accepts only what encoding/json accepts, and decodes it to
// the same event: anything else (NaN, inf, 0x1p-2, +1, 01, .5, invalid UTF-8,
// escapes, spaces) goes to encoding/json, which refuses or decodes it.
func parseOwnDosingEvent(b []byte) (DosingEvent, bool) {
	var e DosingEvent
	rest, ok := bytes.CutPrefix(b, []byte(`{"volume_change":`))
	if !ok {
		return e, false
	}
	i := bytes.IndexByte(rest, ',')
	if i < 0 || !isJSONNumber(rest[:i]) {
		return e, false
	}
	v, err := strconv.ParseFloat(string(rest[:i]), 64)
	if err != nil {
		return e, false
	}
	e.VolumeChange = Float(v)
	rest, ok = bytes.CutPrefix(rest[i:], []byte(`,"event":"`))
	if !ok {
		return e, false
	}
	var s string
	if s, rest, ok = plainString(rest, true); !ok {
		return e, false
	}
	e.Event = s
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"source_of_event":`)); !ok {
		return e, false
	}
	if r, isNull := bytes.CutPrefix(rest, []byte("null")); isNull {
		rest = r
	} else if r, ok := bytes.CutPrefix(rest, []byte(`"`)); ok {
		var src string
		if src, rest, ok = plainString(r, true); !ok {
			return e, false
		}
		e.SourceOfEvent = &src
	} else {
		return e, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"timestamp":"`)); !ok {
		return e, false
	}
	if s, rest, ok = plainString(rest, false); !ok || string(rest) != "}" {
		return e, false
	}
	e.Timestamp = s
	return e, true
}

// isJSONNumber reports whether b is a number as JSON writes one:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func isJSONNumber(b []byte) bool {
	digits := func(i int) int { // the index after the digits from i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(b)
}

// plainString reads a JSON string body up to its closing quote, refusing
// escapes, control characters and invalid UTF-8 (which encoding/json turns
// into U+FFFD). Event names and sources are interned (share): a unit sees
// the same few of them millions of times.
func plainString(b []byte, share bool) (string, []byte, bool) {
	ascii := true
	for i, c := range b {
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[:i]) {
				return "", nil, false
			}
			if share {
				return intern(b[:i]), b[i+1:], true
			}
			return string(b[:i]), b[i+1:], true
		case c == '\\' || c < 0x20:
			return "", nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", nil, false
}

var (
	internMu sync.Mutex
	interned = map[string]string{}
)

// intern returns b as a string, shared with earlier equal strings (up to a
// bounded number of them).
func intern(b []byte) string {
	if len(b) > 64 {
		return string(b)
	}
	internMu.Lock()
	defer internMu.Unlock()
	if s, ok := interned[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(interned) < 4096 {
		interned[s] = s
	}
	return s
}
