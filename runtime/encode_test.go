package runtime

import (
	"encoding/json"
	"math"
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
	}
	for _, tt := range tests {
		got, err := CastPayload(tt.datatype, tt.payload)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("CastPayload(%s, %q) = %v, %v; want %v ok=%v", tt.datatype, tt.payload, got, err, tt.want, tt.ok)
		}
	}
}
