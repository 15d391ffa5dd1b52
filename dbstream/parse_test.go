package dbstream

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

var leaderNow = time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.UTC)

func TestParseMapsTopicsToRows(t *testing.T) {
	const ts = `"2026-01-02T03:04:05.123456Z"`
	const stamp = "2026-01-02T03:04:05.123Z"
	for _, tc := range []struct {
		topic, payload string
		table          string
		values         []any
	}{
		{"pioreactor/u1/e1/od_reading/od2", `{"calibrated":0,"timestamp":` + ts + `,"angle":"90","od":0.051,"channel":"2","ir_led_intensity":80.0}`,
			"od_readings", []any{"e1", "u1", stamp, 0.051, 90, 2}},
		{"pioreactor/u1/e1/od_reading/raw_od1", `{"timestamp":` + ts + `,"angle":"45","od":0.5,"channel":"1"}`,
			"raw_od_readings", []any{"e1", "u1", stamp, 0.5, 1}},
		{"pioreactor/u1/e1/od_reading/od_fused", `{"od_fused":1.25,"timestamp":` + ts + `}`,
			"od_readings_fused", []any{"e1", "u1", stamp, 1.25}},
		{"pioreactor/u1/e1/growth_rate_calculating/od_filtered", `{"od_filtered":1.01,"timestamp":` + ts + `}`,
			"od_readings_filtered", []any{"e1", "u1", stamp, 1.01}},
		{"pioreactor/u1/e1/growth_rate_calculating/growth_rate", `{"growth_rate":0.3,"timestamp":` + ts + `}`,
			"growth_rates", []any{"e1", "u1", stamp, 0.3}},
		{"pioreactor/u1/e1/temperature_automation/temperature", `{"temperature":30.5,"timestamp":` + ts + `}`,
			"temperature_readings", []any{"e1", "u1", stamp, 30.5}},
		{"pioreactor/u1/e1/stirring/measured_rpm", `{"measured_rpm":500,"timestamp":` + ts + `}`,
			"stirring_rates", []any{"e1", "u1", stamp, 500.0}},
		{"pioreactor/u1/e1/od_reading/relative_intensity_of_ir_led", `{"relative_intensity_of_ir_led":0.99,"timestamp":` + ts + `}`,
			"ir_led_intensities", []any{"e1", "u1", stamp, 0.99}},
		{"pioreactor/u1/e1/bioreactor/current_volume_ml", `14.5`,
			"liquid_volumes", []any{"e1", "u1", "2026-01-02T03:04:05.678Z", 14.5}},
		{"pioreactor/u1/e1/bioreactor/alt_media_fraction", `0.25`,
			"alt_media_fractions", []any{"e1", "u1", "2026-01-02T03:04:05.678Z", 0.25}},
		{"pioreactor/u1/e1/dosing_events", `{"volume_change":1.0,"event":"add_media","source_of_event":"chemostat","timestamp":` + ts + `}`,
			"dosing_events", []any{"e1", "u1", stamp, 1.0, "add_media", "chemostat"}},
		{"pioreactor/u1/e1/dosing_events", `{"volume_change":0.5,"event":"remove_waste","source_of_event":null,"timestamp":"2026-01-02T03:04:05Z"}`,
			"dosing_events", []any{"e1", "u1", "2026-01-02T03:04:05.000Z", 0.5, "remove_waste", nil}},
		{"pioreactor/u1/e1/led_change_events", `{"channel":"B","intensity":50.0,"source_of_event":"led_automation","timestamp":` + ts + `}`,
			"led_change_events", []any{"e1", "u1", stamp, "B", 50.0, "led_automation"}},
		{"pioreactor/u1/e1/logs/app/info", `{"message":"hi","level":"INFO","task":"stirring","source":"app","timestamp":"2026-01-02T03:04:05.123Z"}`,
			"logs", []any{"e1", "u1", stamp, "hi", "stirring", "INFO", "app"}},
		{"pioreactor/u1/e1/logs/ui/warning", `{"message":"x","task":"t","timestamp":"2026-01-02T03:04:05.123Z"}`,
			"logs", []any{"e1", "u1", stamp, "x", "t", "WARNING", "ui"}},
	} {
		row, err := Parse(tc.topic, []byte(tc.payload), leaderNow)
		if err != nil {
			t.Errorf("%s: %v", tc.topic, err)
			continue
		}
		if row.Table() != tc.table || !reflect.DeepEqual(row.Values, tc.values) {
			t.Errorf("%s: got %s %#v, want %s %#v", tc.topic, row.Table(), row.Values, tc.table, tc.values)
		}
		if len(row.Values) != len(row.table.columns) {
			t.Errorf("%s: %d values for %d columns", tc.topic, len(row.Values), len(row.table.columns))
		}
	}
}

func TestParseIgnoresWhatUpstreamDoesNotStore(t *testing.T) {
	for _, tc := range []struct{ topic, payload string }{
		{"pioreactor/u1/e1/od_reading/$state", "ready"},
		{"pioreactor/u1/_testing_e1/growth_rate_calculating/growth_rate", `{"growth_rate":1,"timestamp":"2026-01-02T03:04:05Z"}`},
		{"pioreactor/u1/e1/dosing_events", ""},
		{"other/u1/e1/dosing_events", `{}`},
		{"pioreactor/u1/e1/stirring/measured_rpm/set", `1`},
	} {
		if _, err := Parse(tc.topic, []byte(tc.payload), leaderNow); !Ignored(err) {
			t.Errorf("%s %q: err = %v, want ignored", tc.topic, tc.payload, err)
		}
	}
}

func TestParseRejectsBadPayloads(t *testing.T) {
	for _, tc := range []struct{ topic, payload, reason string }{
		{"pioreactor/u/e/growth_rate_calculating/growth_rate", `not json`, "not a JSON object"},
		{"pioreactor/u/e/growth_rate_calculating/growth_rate", `{"growth_rate":1}`, "no timestamp"},
		{"pioreactor/u/e/growth_rate_calculating/growth_rate", `{"growth_rate":"1","timestamp":"2026-01-02T03:04:05Z"}`, "not a number"},
		{"pioreactor/u/e/growth_rate_calculating/growth_rate", `{"timestamp":"2026-01-02T03:04:05Z"}`, "no number growth_rate"},
		{"pioreactor/u/e/growth_rate_calculating/growth_rate", `{"growth_rate":1,"timestamp":"yesterday"}`, "not RFC 3339"},
		{"pioreactor/u/e/od_reading/od1", `{"timestamp":"2026-01-02T03:04:05Z","angle":"90","od":1,"channel":"2"}`, "channel"},
		{"pioreactor/u/e/od_reading/od1", `{"timestamp":"2026-01-02T03:04:05Z","angle":"ninety","od":1,"channel":"1"}`, "angle"},
		{"pioreactor/u/e/bioreactor/current_volume_ml", `NaN`, "not finite"},
		{"pioreactor/u/e/bioreactor/current_volume_ml", `lots`, "not a number"},
		{"pioreactor/u/e/dosing_events", `{"event":"add_media","timestamp":"2026-01-02T03:04:05Z"}`, "dosing event"},
		{"pioreactor/u/e/dosing_events", `{"volume_change":1,"event":"add_media"}`, "no timestamp"},
		{"pioreactor/u/e/led_change_events", `{"channel":"E","intensity":1,"timestamp":"2026-01-02T03:04:05Z"}`, "not A, B, C or D"},
		{"pioreactor/u/e/logs/app/info", `{"level":"INFO","timestamp":"2026-01-02T03:04:05Z"}`, "no message"},
	} {
		_, err := Parse(tc.topic, []byte(tc.payload), leaderNow)
		if err == nil || Ignored(err) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s %q: err = %v, want a rejection naming %q", tc.topic, tc.payload, err, tc.reason)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("pioreactor/u/e/od_reading/od1", []byte(`{"timestamp":"2026-01-02T03:04:05Z","angle":"90","od":1,"channel":"1"}`))
	f.Add("pioreactor/u/e/dosing_events", []byte(`{"volume_change":1,"event":"add_media","source_of_event":null,"timestamp":"2026-01-02T03:04:05Z"}`))
	f.Add("pioreactor/u/e/logs/app/info", []byte(`{"message":"m","timestamp":"2026-01-02T03:04:05.1Z"}`))
	f.Add("pioreactor/u/e/bioreactor/current_volume_ml", []byte(`14`))
	f.Add("pioreactor/u/e/led_change_events", []byte(`{"channel":"A","intensity":1,"timestamp":"2026-01-02T03:04:05Z"}`))
	f.Fuzz(func(t *testing.T, topic string, b []byte) {
		row, err := Parse(topic, b, leaderNow)
		if err != nil {
			return
		}
		if row.table == nil || len(row.Values) != len(row.table.columns) {
			t.Fatalf("%s %q: row %+v does not fit its table", topic, b, row)
		}
		for i, v := range row.Values {
			if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				t.Fatalf("%s %q: column %s is %v", topic, b, row.table.columns[i], f)
			}
		}
		stamp := row.Values[2].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", stamp); err != nil || len(stamp) != 24 {
			t.Fatalf("%s %q: timestamp %q is not YYYY-MM-DDTHH:MM:SS.mmmZ", topic, b, stamp)
		}
	})
}
