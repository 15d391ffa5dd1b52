// Package payload encodes and decodes the MQTT payloads of Pioreactor's layout
// the way upstream does (Python reprs for numbers, msgspec timestamps, ordered
// result dicts), for the runtime and for anything that reads a unit's topics.
package payload

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// PyFloat formats a float the way Python's repr does, which is how upstream
// puts numbers on the wire: 20.0, 0.5, 1e-05, 1e+16, inf, nan.
func PyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Log10 can be off by one at powers of ten; the 'e' format knows better.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if i := strings.IndexByte(e, 'e'); i >= 0 {
		exp, _ = strconv.Atoi(e[i+1:])
	}
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// Float is a float64 that encodes to JSON as Python repr (1.0, not 1).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return []byte(PyFloat(v)), nil
}

// EncodeSetting turns a setting's value into its MQTT payload the way upstream
// does: numbers as Python reprs, booleans as True/False, strings as is, nil as
// an empty payload (which clears a retained topic), anything else as JSON.
func EncodeSetting(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(x)
	case []byte:
		return x
	case float64:
		return []byte(PyFloat(x))
	case int64:
		return []byte(strconv.FormatInt(x, 10))
	case int:
		return []byte(strconv.Itoa(x))
	case bool:
		if x {
			return []byte("True")
		}
		return []byte("False")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`null`)
	}
	return b
}

// StructTimestamp formats t as msgspec does for structs: UTC, six fractional
// digits when there is a fraction, none when it is zero.
func StructTimestamp(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

// LogTimestamp formats t with three fractional digits, as upstream's
// current_utc_timestamp does for logs.
func LogTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
