package outbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/piolab/pio/topic"
)

// An event id is "<stream>-<n>": stream is 16 hex digits naming one journal
// (one process), n counts that stream's events on one topic from 1. It
// travels as the last field of the dosing event, "event_id"; upstream's
// decoder ignores fields it does not know.

const streamDigits = 16

// newStream returns a fresh random stream name.
func newStream() string {
	var b [streamDigits / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// FormatID returns the id of event n of stream.
func FormatID(stream string, n uint64) string { return stream + "-" + strconv.FormatUint(n, 10) }

// ParseID splits an event id into its stream and number.
func ParseID(id string) (stream string, n uint64, err error) {
	stream, num, ok := strings.Cut(id, "-")
	if ok && len(stream) == streamDigits && isHex(stream) {
		if n, err = strconv.ParseUint(num, 10, 64); err == nil && n > 0 {
			return stream, n, nil
		}
	}
	return "", 0, fmt.Errorf("event_id %.80q: want %d hex digits, '-' and a number from 1", id, streamDigits)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

var idField = []byte(`,"event_id":"`)

// appendID returns body (a JSON object) with "event_id" added as its last
// field.
func appendID(body []byte, id string) ([]byte, error) {
	body = bytes.TrimRight(body, " \t\r\n")
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("dosing event %.80q is not a JSON object", body)
	}
	out := make([]byte, 0, len(body)+len(idField)+len(id)+2)
	out = append(out, body[:len(body)-1]...)
	out = append(out, idField...)
	out = append(out, id...)
	return append(out, '"', '}'), nil
}

// CutID returns a dosing event's id ("" if it has none) and the event
// without it, in the form payload.ParseDosingEvent reads fastest. The id is
// the last field as an outbox writes it; anywhere else it is found by
// decoding the JSON.
func CutID(b []byte) (id string, rest []byte) {
	if i := bytes.LastIndex(b, idField); i >= 0 && len(b) >= i+len(idField)+2 && bytes.HasSuffix(b, []byte(`"}`)) {
		v := b[i+len(idField) : len(b)-2]
		if bytes.IndexByte(v, '"') < 0 && bytes.IndexByte(v, '\\') < 0 {
			rest = make([]byte, 0, i+1)
			rest = append(append(rest, b[:i]...), '}')
			return string(v), rest
		}
	}
	if !bytes.Contains(b, []byte(`"event_id"`)) {
		return "", b
	}
	var v struct {
		EventID json.RawMessage `json:"event_id"`
	}
	if json.Unmarshal(b, &v) != nil || v.EventID == nil {
		return "", b
	}
	var s string
	if json.Unmarshal(v.EventID, &s) != nil {
		return string(v.EventID), b // not a string: ParseID refuses it by name
	}
	return s, b
}

// Handled is the monitor's confirmation of one identified dosing event,
// published (QoS 1, not retained) on HandledTopic.
type Handled struct {
	Experiment string `json:"experiment"`
	EventID    string `json:"event_id"`
	// Outcome is applied, duplicate (applied before, not again), refused
	// (the monitor's input rules: it would be refused again) or ignored
	// (upstream's pump_calibration events).
	Outcome string `json:"outcome"`
}

// Outcomes of a handled event.
const (
	Applied   = "applied"
	Duplicate = "duplicate"
	Refused   = "refused"
	Ignored   = "ignored"
)

// HandledTopic is pioreactor/<unit>/$experiment/monitor/dosing_events_handled.
func HandledTopic(unit string) string {
	return topic.Join(unit, topic.UniversalExperiment, "monitor", "dosing_events_handled")
}

// monitorState is the monitor's $state topic.
func monitorState(unit string) string { return topic.State(unit, topic.UniversalExperiment, "monitor") }
