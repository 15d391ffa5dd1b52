// Package payload encodes and decodes the MQTT payloads of Pioreactor's layout
// the way upstream does (Python reprs for numbers, msgspec timestamps, ordered
// result dicts), for the runtime and for anything that reads a unit's topics.
package payload

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
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
	}
	var buf [32]byte
	return string(appendRepr(buf[:0], f))
}

// appendRepr appends a finite f as Python's repr: the shortest digits that
// round-trip, in fixed notation for decimal exponents from -4 to 15 (always
// with a fraction, "20.0"), else in exponent notation ("1e-05", "1.5e+16").
func appendRepr(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		// Whole numbers (duties, many volumes) need no shortest-digit search.
		return append(strconv.AppendInt(b, int64(f), 10), ".0"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // -d.ddde±XX
	mant, expText, _ := bytes.Cut(e, []byte("e"))
	exp := 0
	for _, c := range expText[1:] {
		exp = exp*10 + int(c-'0')
	}
	if expText[0] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return append(b, e...) // Go and Python agree: 1e-05, 1.5e+16
	}
	if mant[0] == '-' {
		b = append(b, '-')
		mant = mant[1:]
	}
	// The significant digits, without the point.
	var digits [24]byte
	d := append(digits[:0], mant[0])
	if len(mant) > 2 {
		d = append(d, mant[2:]...)
	}
	if exp < 0 {
		b = append(b, "0."...)
		for i := 0; i < -exp-1; i++ {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	intLen := exp + 1
	if len(d) <= intLen {
		b = append(b, d...)
		for i := len(d); i < intLen; i++ {
			b = append(b, '0')
		}
		return append(b, ".0"...)
	}
	b = append(b, d[:intLen]...)
	b = append(b, '.')
	return append(b, d[intLen:]...)
}

// Float is a float64 that encodes to JSON as Python repr (1.0, not 1).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return appendRepr(nil, v), nil
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
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return []byte(PyFloat(x))
		}
		return appendRepr(nil, x)
	case Event:
		b, _ := x.MarshalJSON()
		return b
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
	var buf [32]byte
	return string(AppendStructTimestamp(buf[:0], t))
}

// AppendStructTimestamp appends StructTimestamp(t).
func AppendStructTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		t = t.Truncate(time.Microsecond)
		if t.Nanosecond() == 0 {
			return t.AppendFormat(b, "2006-01-02T15:04:05Z")
		}
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	}
	hour, min, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = appendDigits(b, us, 6)
	}
	return append(b, 'Z')
}

// appendDigits appends n, zero-padded to width digits.
func appendDigits(b []byte, n, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[:width]...)
}

// LogTimestamp formats t with three fractional digits, as upstream's
// current_utc_timestamp does for logs.
func LogTimestamp(t time.Time) string {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	var buf [32]byte
	b := AppendStructTimestamp(buf[:0], t.Truncate(time.Second)) // ...:05Z
	b = append(b[:len(b)-1], '.')
	b = appendDigits(b, t.Nanosecond()/1e6, 3)
	return string(append(b, 'Z'))
}
