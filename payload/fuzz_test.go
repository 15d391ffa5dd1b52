package payload

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// hostileValues are values a person or the network has sent a unit: tiny,
// huge and non-finite numbers, states given as settings, padded words,
// empty and invalid-UTF-8 payloads, and a 1 MB string.
var hostileValues = []string{
	"1e-300", "1e-12", "1e308", "1e-9", "-1", "-1e308", "0", "-0", "5e-324", "1e999",
	"NaN", "nan", "inf", "-inf", "Infinity", "+Inf", "0x1p-2", "1_000", ".5", "5.", "+1", "01",
	"9223372036854775807", "9223372036854775808", "-9223372036854775809",
	"lost", "init", " ready ", "ready", "sleeping", "disconnected", "True", "yes", "off",
	"", " ", "\x00", "\xff\xfe", "a\xc3", `{"a":1}`, `[1,2]`, `null`, `"x"`, `{"a":1e999}`,
	strings.Repeat("a", 1<<20),
}

// FuzzCastPayload checks every datatype's cast of a /set payload: no panic,
// numbers are finite, and what is accepted survives being published
// (EncodeSetting) and read back as the same value.
func FuzzCastPayload(f *testing.F) {
	types := []string{TypeString, TypeFloat, TypeInteger, TypeBoolean, TypeJSON, TypeAutomationEvent, "units"}
	for i := range types {
		for _, v := range hostileValues {
			f.Add(uint8(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, text string) {
		datatype := types[int(which)%len(types)]
		v, err := CastPayload(datatype, text)
		if err != nil {
			if v != nil {
				t.Fatalf("CastPayload(%s, %.80q) = %v with error %v", datatype, text, v, err)
			}
			return
		}
		switch datatype {
		case TypeFloat:
			x, ok := v.(float64)
			if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("CastPayload(float, %.80q) = %#v: want a finite float64", text, v)
			}
		case TypeInteger:
			if _, ok := v.(int64); !ok {
				t.Fatalf("CastPayload(integer, %.80q) = %#v: want an int64", text, v)
			}
		case TypeBoolean:
			if _, ok := v.(bool); !ok {
				t.Fatalf("CastPayload(boolean, %.80q) = %#v: want a bool", text, v)
			}
		case TypeString:
			if _, ok := v.(string); !ok {
				t.Fatalf("CastPayload(string, %.80q) = %#v: want a string", text, v)
			}
		case TypeJSON:
			if !json.Valid([]byte(strings.TrimSpace(text))) {
				t.Fatalf("CastPayload(json, %.80q) accepted text that is not JSON", text)
			}
			switch v.(type) {
			case map[string]any, []any, float64:
			default:
				// A scalar is published as upstream publishes it (True, a
				// bare string, an empty payload for null), which is not JSON.
				return
			}
		default:
			t.Fatalf("CastPayload(%s, %.80q) = %#v: this datatype cannot be set", datatype, text, v)
		}
		wire := EncodeSetting(v)
		back, err := CastPayload(datatype, string(wire))
		if err != nil {
			t.Fatalf("CastPayload(%s, %.80q) = %#v, published as %.80q, which is refused: %v", datatype, text, v, wire, err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Fatalf("CastPayload(%s, %.80q) = %#v, published as %.80q, read back as %#v", datatype, text, v, wire, back)
		}
	})
}

// FuzzDosingEventAgreement checks that the fast path of ParseDosingEvent
// agrees with encoding/json on every input: it accepts only JSON, with a
// finite volume_change, and decodes it to what encoding/json decodes.
func FuzzDosingEventAgreement(f *testing.F) {
	src := "pump"
	for _, e := range []DosingEvent{
		{VolumeChange: 0.5, Event: "add_media", Timestamp: "2026-01-01T00:00:00Z"},
		{VolumeChange: -1, Event: "remove_waste", SourceOfEvent: &src, Timestamp: "t"},
		{VolumeChange: 1e-300, Event: "add_alt_media", SourceOfEvent: &src},
		{VolumeChange: 1e308, Event: "add_media"},
		{VolumeChange: 1e-9, Event: "junk experiment \xff", Timestamp: "\x00"},
	} {
		f.Add(e.AppendJSON(nil))
	}
	for _, v := range hostileValues {
		f.Add([]byte(`{"volume_change":` + v + `,"event":"add_media","source_of_event":null,"timestamp":"t"}`))
		f.Add([]byte(`{"volume_change":1.0,"event":"` + v + `","source_of_event":"` + v + `","timestamp":"` + v + `"}`))
	}
	f.Add([]byte(``))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"volume_change":1,"volume_change":-1,"event":"add_media"}`))
	f.Add([]byte(`{"volume_change":1,"event":"add_media","source_of_event":null,"timestamp":"t"} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseDosingEvent(b)
		var raw struct {
			VolumeChange  *float64 `json:"volume_change"`
			Event         string   `json:"event"`
			SourceOfEvent *string  `json:"source_of_event"`
			Timestamp     string   `json:"timestamp"`
		}
		jsonErr := json.Unmarshal(b, &raw)
		if jsonErr == nil && raw.VolumeChange == nil {
			jsonErr = errors.New("no volume_change")
		}
		if (err == nil) != (jsonErr == nil) {
			t.Fatalf("ParseDosingEvent(%.200q): err %v; encoding/json: err %v", b, err, jsonErr)
		}
		if err != nil {
			return
		}
		if v := float64(got.VolumeChange); math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ParseDosingEvent(%.200q) accepted volume_change %v", b, v)
		}
		want := DosingEvent{VolumeChange: Float(*raw.VolumeChange), Event: raw.Event, SourceOfEvent: raw.SourceOfEvent, Timestamp: raw.Timestamp}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseDosingEvent(%.200q) = %+v, encoding/json reads %+v", b, got, want)
		}
	})
}
