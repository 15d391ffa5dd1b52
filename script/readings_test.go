package script

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
)

// writeScript writes src to a file in a temporary directory.
func writeScript(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// retain publishes a retained message under pioreactor/u1/e1/.
func (u *unit) retain(t *testing.T, topic, p string) {
	t.Helper()
	c := u.broker.Connect(pubsub.Options{ClientID: "retainer"})
	if err := c.Publish("pioreactor/u1/e1/"+topic, []byte(p), 1, true); err != nil {
		t.Fatal(err)
	}
}

func lastEvent(t *testing.T, u *unit) (name, message string, data map[string]any) {
	t.Helper()
	var ev struct {
		Name    string         `json:"event_name"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(u.lastEvent), &ev); err != nil {
		t.Fatalf("latest_event %q: %v", u.lastEvent, err)
	}
	return ev.Name, ev.Message, ev.Data
}

func TestReadingsBuiltins(t *testing.T) {
	u := newUnit(t)
	at := payload.StructTimestamp(epoch.Add(-time.Minute))
	u.retain(t, "od_reading/$state", "ready")
	u.retain(t, "growth_rate_calculating/$state", "ready")
	u.retain(t, "temperature_automation/$state", "ready")
	u.retain(t, "od_reading/ods", `{"timestamp": "`+at+`", "ods": {"2": {"od": 0.05, "channel": "2", "angle": "90", "calibrated": 0, "timestamp": "`+at+`", "ir_led_intensity": 80.0}}}`)
	u.retain(t, "growth_rate_calculating/od_filtered", `{"od_filtered": 1.1, "timestamp": "`+at+`"}`)
	u.retain(t, "growth_rate_calculating/growth_rate", `{"growth_rate": 0.1, "timestamp": "`+at+`"}`)
	u.retain(t, "od_reading/od_fused", `{"od_fused": 0.9, "timestamp": "`+at+`"}`)
	u.retain(t, "temperature_automation/temperature", `{"temperature": 30.5, "timestamp": "`+at+`"}`)
	p := writeScript(t, "reader.star", `
def execute():
    return event("NoEvent", "read", {
        "od": latest_od(), "nod": latest_normalized_od(), "gr": latest_growth_rate(),
        "fused": latest_od_fused(), "temp": latest_temperature(),
        "b_od": latest_biomass("od", "2"), "b_nod": latest_biomass("normalized_od"),
        "b_fused": latest_biomass(signal="od_fused"),
        "kp": config_get("dosing_automation.pid_morbidostat", "Kp"),
        "signal": config_get("dosing_automation.turbidostat", "biomass_signal"),
        "ch2": config_get("od_config.photodiode_channel", "2"),
        "missing": config_get("dosing_automation.turbidostat", "nothing", 3),
    })
`)
	st := start(t, u, p, nil)
	st.run(t, u, time.Hour)
	if st.a.Errors != 0 {
		t.Fatalf("errors: %v", st.errors())
	}
	_, _, data := lastEvent(t, u)
	want := `{"b_fused":0.9,"b_nod":1.1,"b_od":0.05,"ch2":90,"fused":0.9,"gr":0.1,"kp":1,"missing":3,"nod":1.1,"od":{"2":0.05},"signal":"auto","temp":30.5}`
	if got, _ := json.Marshal(data); string(got) != want {
		t.Errorf("data\n  %s\nwant\n  %s", got, want)
	}
}

func TestReadingErrorsBecomeErrorOccurred(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		retained         map[string]string
	}{
		{"not running", "latest_normalized_od()", "reader.star:2:29: latest_normalized_od requires od_reading and growth_rate_calculating to be running", nil},
		{"no first reading", "latest_growth_rate()", "growth_rate_calculating should publish a growth_rate reading",
			map[string]string{"od_reading/$state": "ready", "growth_rate_calculating/$state": "ready"}},
		{"stale", "latest_od_fused()", "readings are too stale (over 5 minutes old)",
			map[string]string{"od_reading/od_fused": `{"od_fused": 0.9, "timestamp": "2025-12-31T23:50:00Z"}`}},
		{"bad signal", `latest_biomass("turbidity")`, `latest_biomass: signal "turbidity": want normalized_od, od_fused or od`, nil},
		{"od without channel", `latest_biomass("od")`, `latest_biomass: signal od needs a channel`, nil},
		{"forbidden section", `config_get("mqtt", "password")`, `config_get: scripts may read`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t)
			for k, v := range tc.retained {
				u.retain(t, k, v)
			}
			p := writeScript(t, "reader.star", "def execute():\n    x = "+tc.body+"\n    return event(\"NoEvent\", \"read\")\n")
			st := start(t, u, p, nil)
			st.run(t, u, time.Hour)
			name, msg, _ := lastEvent(t, u)
			if name != "ErrorOccurred" || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "reader.star:2:") {
				t.Errorf("latest_event %s: %s; want ErrorOccurred at reader.star:2 containing %q", name, msg, tc.want)
			}
			if st.a.Doses != 0 {
				t.Error("dosed")
			}
		})
	}
}
