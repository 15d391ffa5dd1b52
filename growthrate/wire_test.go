package growthrate

import (
	"strings"
	"testing"
	"time"
)

func TestParseODReadings(t *testing.T) {
	ods, ts, err := parseODReadings([]byte(`{"timestamp": "2026-01-01T00:00:05.123Z", "ods": {"2": {"od": 0.051, "angle": "90", "channel": "2", "calibrated": 0, "ir_led_intensity": 80.0, "timestamp": "2026-01-01T00:00:05.123Z"}, "1": {"od": 1e-3}}}`))
	if err != nil || ods["2"] != 0.051 || ods["1"] != 0.001 || len(ods) != 2 {
		t.Fatalf("parse = %v, %v", ods, err)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 5, 123e6, time.UTC); !ts.Equal(want) {
		t.Fatalf("timestamp %v; want %v", ts, want)
	}
	for _, c := range []struct{ in, want string }{
		{`{"timestamp": "2026-01-01T00:00:05", "ods": {}}`, ""},
		{`{"timestamp": "2026-01-01T00:00:05+00:00", "ods": {}}`, ""},
		{`{"ods": {"2": {"od": 1}}}`, "want {"},
		{`{"timestamp": "2026-01-01T00:00:05Z"}`, "want {"},
		{`{"timestamp": "yesterday", "ods": {}}`, `timestamp "yesterday"`},
		{`{"timestamp": "2026-01-01T00:00:05Z", "ods": {"2": {"angle": "90"}}}`, `channel "2" has no od`},
		{`{"timestamp": "2026-01-01T00:00:05Z", "ods": {"2": null}}`, `channel "2" has no od`},
		{`{"timestamp": "2026-01-01T00:00:05Z", "ods": {"2": {"od": "x"}}}`, "cannot unmarshal"},
		{`not json`, "invalid character"},
	} {
		_, _, err := parseODReadings([]byte(c.in))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: err = %v; want %q", c.in, err, c.want)
		}
	}
}

func TestAppendOutput(t *testing.T) {
	ts := time.Date(2026, 1, 1, 0, 0, 5, 123e6, time.UTC)
	for _, c := range []struct {
		name string
		v    float64
		at   time.Time
		want string
	}{
		{"growth_rate", 0.025, ts, `{"growth_rate":0.025,"timestamp":"2026-01-01T00:00:05.123000Z"}`},
		{"od_filtered", 1, ts.Truncate(time.Second), `{"od_filtered":1.0,"timestamp":"2026-01-01T00:00:05Z"}`},
		{"growth_rate", -1e-05, ts, `{"growth_rate":-1e-05,"timestamp":"2026-01-01T00:00:05.123000Z"}`},
	} {
		if got := string(appendOutput(nil, c.name, c.v, c.at)); got != c.want {
			t.Errorf("appendOutput(%s, %v) = %s; want %s", c.name, c.v, got, c.want)
		}
	}
}
