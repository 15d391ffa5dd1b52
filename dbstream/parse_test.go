package dbstream

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/topic"
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
			"dosing_events", []any{"e1", "u1", stamp, 1.0, "add_media", "chemostat", nil}},
		{"pioreactor/u1/e1/dosing_events", `{"volume_change":1.0,"event":"add_media","source_of_event":"chemostat","timestamp":` + ts + `,"event_id":"0123456789abcdef-7"}`,
			"dosing_events", []any{"e1", "u1", stamp, 1.0, "add_media", "chemostat", "0123456789abcdef-7"}},
		{"pioreactor/u1/e1/dosing_events", `{"volume_change":0.5,"event":"remove_waste","source_of_event":null,"timestamp":"2026-01-02T03:04:05Z"}`,
			"dosing_events", []any{"e1", "u1", "2026-01-02T03:04:05.000Z", 0.5, "remove_waste", nil, nil}},
		{"pioreactor/u1/e1/led_change_events", `{"channel":"B","intensity":50.0,"source_of_event":"led_automation","timestamp":` + ts + `}`,
			"led_change_events", []any{"e1", "u1", stamp, "B", 50.0, "led_automation"}},
		{"pioreactor/u1/e1/logs/app/info", `{"message":"hi","level":"INFO","task":"stirring","source":"app","timestamp":"2026-01-02T03:04:05.123Z"}`,
			"logs", []any{"e1", "u1", stamp, "hi", "stirring", "INFO", "app"}},
		{"pioreactor/u1/e1/logs/ui/warning", `{"message":"x","task":"t","timestamp":"2026-01-02T03:04:05.123Z"}`,
			"logs", []any{"e1", "u1", stamp, "x", "t", "WARNING", "ui"}},
		{"pioreactor/u1/e1/dosing_automation/dosing_automation_settings",
			`{"pioreactor_unit":"u1","experiment":"e1","started_at":"2026-01-02T03:00:00Z","ended_at":` + ts + `,"automation_name":"chemostat","settings":"eyJ2b2x1bWUiOjAuNX0="}`,
			"dosing_automation_settings", []any{"e1", "u1", "2026-01-02T03:00:00.000Z", stamp, "chemostat", "eyJ2b2x1bWUiOjAuNX0="}},
		{"pioreactor/u1/e1/led_automation/led_automation_settings",
			`{"pioreactor_unit":"u1","experiment":"e1","started_at":` + ts + `,"ended_at":null,"automation_name":"light_dark_cycle","settings":""}`,
			"led_automation_settings", []any{"e1", "u1", stamp, nil, "light_dark_cycle", ""}},
		{"pioreactor/u1/e1/temperature_automation/temperature_automation_settings",
			`{"started_at":` + ts + `,"automation_name":"thermostat","settings":"e30="}`,
			"temperature_automation_settings", []any{"e1", "u1", stamp, nil, "thermostat", "e30="}},
		{"pioreactor/u1/e1/dosing_automation/latest_event",
			`{"event_name":"DilutionEvent","message":"exchanged 0.5mL","data":{"exchange_volume_ml": 0.5}}`,
			"dosing_automation_events", []any{"e1", "u1", "2026-01-02T03:04:05.678Z", "DilutionEvent", "exchanged 0.5mL", `{"exchange_volume_ml":0.5}`}},
		{"pioreactor/u1/e1/led_automation/latest_event", `{"event_name":"NoEvent","message":null,"data":null}`,
			"led_automation_events", []any{"e1", "u1", "2026-01-02T03:04:05.678Z", "NoEvent", nil, ""}},
		{"pioreactor/u1/e1/temperature_automation/latest_event", `{"event_name":"UpdatedHeaterDC","message":"2.0"}`,
			"temperature_automation_events", []any{"e1", "u1", "2026-01-02T03:04:05.678Z", "UpdatedHeaterDC", "2.0", ""}},
		{"pioreactor/u1/e1/pwms/dc", `{"13": 100.0, "17": 35.5, "ch6": 10}`,
			"pwm_dcs", []any{"e1", "u1", "2026-01-02T03:04:05.678Z", 35.5, 100.0, 0.0, 0.0, 0.0}},
		{"pioreactor/u1/e1/pwms/dc", `{}`,
			"pwm_dcs", []any{"e1", "u1", "2026-01-02T03:04:05.678Z", 0.0, 0.0, 0.0, 0.0, 0.0}},
		{"pioreactor/u1/e1/od_blank/mean/2", `{"timestamp":` + ts + `,"angle":"90","od":0.021,"channel":"2"}`,
			"od_blanks", []any{"e1", "u1", stamp, 0.021, "2", 90}},
		{"pioreactor/u1/e1/experiment_profile/1/experiment_profile_name", `demo_stirring.yaml`,
			"experiment_profile_runs", []any{"2026-01-02T03:04:05.678Z", "demo_stirring.yaml", "e1"}},
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
		{"pioreactor/u1/e1/od_blank/mean", `{"1": 0.02}`}, // upstream's per-angle means, not a row
		{"pioreactor/u1/e1/dosing_automation/latest_event", ``},
		{"pioreactor/u1/e1/experiment_profile/1/other", `x`},
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
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings", `[]`, "not an automation settings object"},
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings",
			`{"pioreactor_unit":"other","started_at":"2026-01-02T03:04:05Z","automation_name":"a","settings":"e30="}`, "on the topic of unit"},
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings",
			`{"experiment":"x","started_at":"2026-01-02T03:04:05Z","automation_name":"a","settings":"e30="}`, "on the topic of experiment"},
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings", `{"automation_name":"a","settings":"e30="}`, "started_at: no timestamp"},
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings",
			`{"started_at":"2026-01-02T03:04:05Z","ended_at":"later","automation_name":"a","settings":"e30="}`, "ended_at"},
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings", `{"started_at":"2026-01-02T03:04:05Z","settings":"e30="}`, "no automation_name"},
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings", `{"started_at":"2026-01-02T03:04:05Z","automation_name":"a"}`, "no settings"},
		{"pioreactor/u/e/dosing_automation/dosing_automation_settings",
			`{"started_at":"2026-01-02T03:04:05Z","automation_name":"a","settings":"{not base64}"}`, "not base64"},
		{"pioreactor/u/e/led_automation/latest_event", `"DilutionEvent"`, "not an automation event object"},
		{"pioreactor/u/e/led_automation/latest_event", `{"message":"m"}`, "no event_name"},
		{"pioreactor/u/e/pwms/dc", `[1]`, "not a JSON object"},
		{"pioreactor/u/e/pwms/dc", `null`, "not a JSON object"},
		{"pioreactor/u/e/pwms/dc", `{"17":"high"}`, "not a JSON object"},
		{"pioreactor/u/e/pwms/dc", `{"17":null}`, "no number duty"},
		{"pioreactor/u/e/od_blank/mean/3", `{"timestamp":"2026-01-02T03:04:05Z","angle":"90","od":1,"channel":"3"}`, "not 1 or 2"},
		{"pioreactor/u/e/od_blank/mean/1", `{"timestamp":"2026-01-02T03:04:05Z","angle":"90","od":1,"channel":"2"}`, "channel"},
		{"pioreactor/u/e/experiment_profile/1/experiment_profile_name", "\xff\xfe", "not UTF-8"},
		{"pioreactor/u/e/experiment_profile/1/experiment_profile_name", strings.Repeat("x", 2000), "more than 1024"},
	} {
		_, err := Parse(tc.topic, []byte(tc.payload), leaderNow)
		if err == nil || Ignored(err) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s %q: err = %v, want a rejection naming %q", tc.topic, tc.payload, err, tc.reason)
		}
	}
}

// TestPWMPinsAreTheHATs keeps pwm_dcs's pin map in step with the one the
// units publish by.
func TestPWMPinsAreTheHATs(t *testing.T) {
	if len(pwmPins) != len(runtime.HATPins) {
		t.Fatalf("pwmPins %v, runtime.HATPins %v", pwmPins, runtime.HATPins)
	}
	for ch, pin := range runtime.HATPins {
		if pwmPins[strconv.Itoa(pin)] != ch {
			t.Errorf("pin %d: pwmPins says channel %d, runtime.HATPins %d", pin, pwmPins[strconv.Itoa(pin)], ch)
		}
	}
}

// TestFiltersCoverEverySink checks that each sink's topic matches one of the
// filters the stream subscribes to.
func TestFiltersCoverEverySink(t *testing.T) {
	topics := []string{"pioreactor/u/e/logs/app/info", "pioreactor/u/e/od_blank/mean/1",
		"pioreactor/u/e/experiment_profile/1/experiment_profile_name"}
	for k := range sinks {
		topics = append(topics, "pioreactor/u/e/"+k)
	}
	for _, tp := range topics {
		found := false
		for _, f := range Filters() {
			if topic.Match(f, tp) {
				found = true
			}
		}
		if !found {
			t.Errorf("no filter of %v matches %s", Filters(), tp)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("pioreactor/u/e/od_reading/od1", []byte(`{"timestamp":"2026-01-02T03:04:05Z","angle":"90","od":1,"channel":"1"}`))
	f.Add("pioreactor/u/e/dosing_events", []byte(`{"volume_change":1,"event":"add_media","source_of_event":null,"timestamp":"2026-01-02T03:04:05Z"}`))
	f.Add("pioreactor/u/e/logs/app/info", []byte(`{"message":"m","timestamp":"2026-01-02T03:04:05.1Z"}`))
	f.Add("pioreactor/u/e/bioreactor/current_volume_ml", []byte(`14`))
	f.Add("pioreactor/u/e/led_change_events", []byte(`{"channel":"A","intensity":1,"timestamp":"2026-01-02T03:04:05Z"}`))
	f.Add("pioreactor/u/e/dosing_automation/dosing_automation_settings",
		[]byte(`{"pioreactor_unit":"u","experiment":"e","started_at":"2026-01-02T03:04:05.123456Z","ended_at":null,"automation_name":"chemostat","settings":"e30="}`))
	f.Add("pioreactor/u/e/temperature_automation/latest_event", []byte(`{"event_name":"NoEvent","message":null,"data":{"a":[1,2]}}`))
	f.Add("pioreactor/u/e/pwms/dc", []byte(`{"13": 100.0, "ch6": 1}`))
	f.Add("pioreactor/u/e/od_blank/mean/1", []byte(`{"timestamp":"2026-01-02T03:04:05Z","angle":"135","od":0.01,"channel":"1"}`))
	f.Add("pioreactor/u/e/experiment_profile/x/experiment_profile_name", []byte(`profile.yaml`))
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
		stamp := row.Values[row.table.stamp].(string)
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", stamp); err != nil || len(stamp) != 24 {
			t.Fatalf("%s %q: timestamp %q is not YYYY-MM-DDTHH:MM:SS.mmmZ", topic, b, stamp)
		}
	})
}
