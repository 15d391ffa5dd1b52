package payload

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPyFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{20, "20.0"}, {0.5, "0.5"}, {1e-5, "1e-05"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"},
		{123456789012345.0, "123456789012345.0"}, {0.0001, "0.0001"}, {0, "0.0"}, {-2.25, "-2.25"},
		{0.30000000000000004, "0.30000000000000004"}, {math.Inf(1), "inf"}, {math.NaN(), "nan"}, {1e6, "1000000.0"},
	}
	for _, tt := range tests {
		if got := PyFloat(tt.in); got != tt.want {
			t.Errorf("PyFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeSetting(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{{true, "True"}, {false, "False"}, {int64(3), "3"}, {"x", "x"}, {nil, ""}, {20.0, "20.0"}}
	for _, tt := range tests {
		if got := string(EncodeSetting(tt.in)); got != tt.want {
			t.Errorf("EncodeSetting(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTimestamps(t *testing.T) {
	whole := time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC)
	if got := StructTimestamp(whole); got != "2026-01-01T00:00:02Z" {
		t.Errorf("StructTimestamp(whole second) = %q", got)
	}
	if got := StructTimestamp(whole.Add(500 * time.Millisecond)); got != "2026-01-01T00:00:02.500000Z" {
		t.Errorf("StructTimestamp(.5) = %q", got)
	}
	if got := LogTimestamp(whole); got != "2026-01-01T00:00:02.000Z" {
		t.Errorf("LogTimestamp = %q", got)
	}
}

func TestEventJSON(t *testing.T) {
	b, _ := json.Marshal(Event{Name: "DosingStopped", Data: Volumes{{"waste_ml", 1}, {"media_ml", 0.5}}})
	if got := string(b); got != `{"event_name":"DosingStopped","message":null,"data":{"waste_ml":1.0,"media_ml":0.5}}` {
		t.Errorf("got %s", got)
	}
	b, _ = json.Marshal(Event{Name: "NoEvent", Message: "demo"})
	if got := string(b); got != `{"event_name":"NoEvent","message":"demo","data":null}` {
		t.Errorf("got %s", got)
	}
	if d := (Event{Name: "NoEvent", Message: "demo"}).Display(); d != "NoEvent: demo" {
		t.Errorf("Display = %q", d)
	}
	if d := (Event{Name: "NoEvent"}).Display(); d != "NoEvent" {
		t.Errorf("Display = %q", d)
	}
}

func TestCastPayload(t *testing.T) {
	tests := []struct {
		datatype, payload string
		want              any
		ok                bool
	}{
		{TypeFloat, "2.5", 2.5, true}, {TypeFloat, " 3 ", 3.0, true}, {TypeFloat, "abc", nil, false},
		{TypeFloat, "NaN", nil, false}, {TypeFloat, "inf", nil, false}, {TypeFloat, "", nil, false},
		{TypeInteger, "4", int64(4), true}, {TypeInteger, "4.5", nil, false},
		{TypeBoolean, "On", true, true}, {TypeBoolean, "0", false, true}, {TypeBoolean, "maybe", nil, false},
		{TypeString, "hello", "hello", true}, {TypeJSON, "{bad", nil, false},
		// A number keeps integral text an int and takes any other finite number.
		{TypeNumber, "3", int64(3), true}, {TypeNumber, " -7 ", int64(-7), true}, {TypeNumber, "0.5", 0.5, true},
		{TypeNumber, "3.0", 3.0, true}, {TypeNumber, "1e3", 1000.0, true}, {TypeNumber, "99999999999999999999", 1e20, true},
		{TypeNumber, "NaN", nil, false}, {TypeNumber, "inf", nil, false}, {TypeNumber, "-Infinity", nil, false},
		{TypeNumber, "lots", nil, false}, {TypeNumber, "", nil, false}, {TypeNumber, "1e309", nil, false},
	}
	for _, tt := range tests {
		got, err := CastPayload(tt.datatype, tt.payload)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("CastPayload(%s, %q) = %v, %v; want %v ok=%v", tt.datatype, tt.payload, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseDosingEvent(t *testing.T) {
	src := "dosing_automation:chemostat"
	own := DosingEvent{VolumeChange: 0.5, Event: "add_media", SourceOfEvent: &src, Timestamp: "2026-01-01T00:00:02Z"}
	bad := "a\ufffd"
	tests := []struct {
		in      string
		want    DosingEvent
		wantErr bool
	}{
		{string(own.AppendJSON(nil)), own, false},
		{`{"volume_change": 0.5, "event": "add_media", "source_of_event": "dosing_automation:chemostat", "timestamp": "2026-01-01T00:00:02Z"}`, own, false},
		{`{"volume_change":1e-05,"event":"remove_waste","source_of_event":null,"timestamp":"t"}`, DosingEvent{VolumeChange: 1e-5, Event: "remove_waste", Timestamp: "t"}, false},
		{`{"event":"add_media"}`, DosingEvent{}, true},
		{`not json`, DosingEvent{}, true},
		{`{"volume_change":null,"event":"add_media"}`, DosingEvent{}, true},
		// The fast path takes only JSON numbers, as encoding/json does.
		{`{"volume_change":NaN,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":inf,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":0x1p-2,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":+1,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":01,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":.5,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":5.,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":1e999,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{}, true},
		{`{"volume_change":-0.5E+1,"event":"add_media","source_of_event":null,"timestamp":"t"}`, DosingEvent{VolumeChange: -5, Event: "add_media", Timestamp: "t"}, false},
		// Invalid UTF-8 reads as U+FFFD, one per bad byte, as encoding/json reads it.
		{"{\"volume_change\":0,\"event\":\"\x80\",\"source_of_event\":\"a\xc3\",\"timestamp\":\"\"}", DosingEvent{Event: "\ufffd", SourceOfEvent: &bad}, false},
	}
	for _, tt := range tests {
		got, err := ParseDosingEvent([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDosingEvent(%s): err %v", tt.in, err)
			continue
		}
		if err == nil && string(got.AppendJSON(nil)) != string(tt.want.AppendJSON(nil)) {
			t.Errorf("ParseDosingEvent(%s) = %s, want %s", tt.in, got.AppendJSON(nil), tt.want.AppendJSON(nil))
		}
	}
}

// A volume_change JSON cannot hold is refused with what is wrong with it.
func TestParseDosingEventNumberErrors(t *testing.T) {
	for _, tt := range []struct{ v, want string }{
		{"NaN", "volume_change=NaN is not a finite number of mL"},
		{"nan", "volume_change=NaN is not a finite number of mL"},
		{"Inf", "volume_change=+Inf is not a finite number of mL"},
		{"-Infinity", "volume_change=-Inf is not a finite number of mL"},
		{"1e999", "volume_change=1e999 is not a finite number of mL"},
		{"-1e999", "volume_change=-1e999 is not a finite number of mL"},
		{"0x1p-2", "volume_change=0x1p-2 is not a number as JSON writes one: write 0.25"},
		{"+1", "volume_change=+1 is not a number as JSON writes one: write 1.0"},
		{"01", "volume_change=01 is not a number as JSON writes one: write 1.0"},
		{" .5 ", "volume_change=.5 is not a number as JSON writes one: write 0.5"},
		{"null", `malformed dosing event`},
		{`"1"`, `malformed dosing event`},
	} {
		for _, in := range []string{
			`{"volume_change":` + tt.v + `,"event":"add_media","source_of_event":null,"timestamp":"t"}`,
			`{"event": "add_media", "volume_change": ` + tt.v + `}`,
		} {
			if _, err := ParseDosingEvent([]byte(in)); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParseDosingEvent(%s): %v, want %s", in, err, tt.want)
			}
		}
	}
}

func FuzzParseDosingEvent(f *testing.F) {
	f.Add([]byte(`{"volume_change":0.5,"event":"add_media","source_of_event":null,"timestamp":"t"}`))
	f.Add([]byte(`{"volume_change":1,"event":"add_media","source_of_event":"x","timestamp":"t"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseDosingEvent(b)
		if err != nil {
			return
		}
		// What parses re-encodes and parses to the same event.
		again, err := ParseDosingEvent(e.AppendJSON(nil))
		if err != nil || string(again.AppendJSON(nil)) != string(e.AppendJSON(nil)) {
			t.Fatalf("round trip of %q: %v", b, err)
		}
	})
}

// PyFloat must round-trip and follow Python's choice of notation: fixed for
// decimal exponents -4 to 15 (with ".0" when whole), exponent otherwise.
func FuzzPyFloat(f *testing.F) {
	for _, v := range []float64{0.1, 1e-5, 1e16, 123456789012345.0, 2.5e-300, -7, 1e22} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		s := PyFloat(v)
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || back != v {
			t.Fatalf("PyFloat(%v) = %q does not round-trip", v, s)
		}
		exp := 0
		if v != 0 {
			exp = int(math.Floor(math.Log10(math.Abs(v))))
		}
		hasE := strings.Contains(s, "e")
		if v != 0 && (exp < -5 || exp > 16) && !hasE || (exp > -4 && exp < 15) && hasE {
			t.Fatalf("PyFloat(%v) = %q: wrong notation for exponent %d", v, s, exp)
		}
		if !hasE && !strings.Contains(s, ".") {
			t.Fatalf("PyFloat(%v) = %q has no fraction", v, s)
		}
	})
}

func TestLogRecordMatchesEncodingJSON(t *testing.T) {
	for _, msg := range []string{"plain", `quotes " and \ and <tags> & é`, "line\nbreak"} {
		r := LogRecord{Message: msg, Level: "INFO", Task: "dosing_automation", Source: "dosing_automation", Timestamp: "2026-01-01T00:00:00.000Z"}
		want, _ := json.Marshal(r)
		if got := r.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON = %s, encoding/json gives %s", got, want)
		}
	}
}

func TestTimestampsMatchTimeFormat(t *testing.T) {
	base := time.Date(2026, 3, 9, 7, 5, 3, 0, time.FixedZone("x", 3600))
	for _, ns := range []int{0, 1, 999, 1000, 123456789, 500000000, 999999999} {
		tt := base.Add(time.Duration(ns))
		want := tt.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
		if tt.UTC().Truncate(time.Microsecond).Nanosecond() == 0 {
			want = tt.UTC().Format("2006-01-02T15:04:05Z")
		}
		if got := StructTimestamp(tt); got != want {
			t.Errorf("StructTimestamp(+%dns) = %s, want %s", ns, got, want)
		}
		if got, want := LogTimestamp(tt), tt.UTC().Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Errorf("LogTimestamp(+%dns) = %s, want %s", ns, got, want)
		}
	}
}
