package dbstream

import (
	"reflect"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
)

// TestNewSinksAndActivityTriggers stores one message of each of the
// settings, event, PWM, blank and profile sinks through a stream, and checks
// that upstream's triggers merge rows of one timestamp into one row of
// pioreactor_unit_activity_data.
func TestNewSinksAndActivityTriggers(t *testing.T) {
	db := openTemp(t)
	broker := pubsub.NewMemory()
	s, err := Start(db, broker.Connect(pubsub.Options{ClientID: "leader"}), Options{Now: func() time.Time { return leaderNow }})
	if err != nil {
		t.Fatal(err)
	}
	u := broker.Connect(pubsub.Options{ClientID: "u1"})
	const ts = `"2026-01-02T03:04:05.123456Z"`
	for _, m := range []struct{ topic, payload string }{
		{"pioreactor/u1/e1/dosing_automation/dosing_automation_settings",
			`{"pioreactor_unit":"u1","experiment":"e1","started_at":` + ts + `,"ended_at":null,"automation_name":"chemostat","settings":"e30="}`},
		{"pioreactor/u1/e1/dosing_automation/latest_event", `{"event_name":"DilutionEvent","message":"m","data":{"v":1}}`},
		{"pioreactor/u1/e1/pwms/dc", `{"13":50.0}`},
		{"pioreactor/u1/e1/od_blank/mean/1", `{"timestamp":` + ts + `,"angle":"135","od":0.01,"channel":"1"}`},
		{"pioreactor/u1/e1/experiment_profile/7/experiment_profile_name", `demo.yaml`},
		{"pioreactor/u1/e1/od_reading/od1", `{"timestamp":` + ts + `,"angle":"90","od":0.5,"channel":"1"}`},
		{"pioreactor/u1/e1/growth_rate_calculating/growth_rate", `{"growth_rate":0.2,"timestamp":` + ts + `}`},
		{"pioreactor/u1/e1/dosing_events", `{"volume_change":1.5,"event":"add_media","source_of_event":"x","timestamp":` + ts + `}`},
		{"pioreactor/u1/e1/dosing_events", `{"volume_change":1.0,"event":"remove_waste","source_of_event":"x","timestamp":` + ts + `}`},
		{"pioreactor/u1/e1/led_change_events", `{"channel":"B","intensity":20,"source_of_event":null,"timestamp":` + ts + `}`},
	} {
		if err := u.Publish(m.topic, []byte(m.payload), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Stored != 10 || st.Rejected != 0 {
		t.Fatalf("stats %+v: want 10 stored", st)
	}
	got := storedRows(t, db)
	for _, want := range []string{
		"dosing_automation_settings|e1|u1|2026-01-02T03:04:05.123Z|<nil>|chemostat|e30=",
		`dosing_automation_events|e1|u1|2026-01-02T03:04:05.678Z|DilutionEvent|m|{"v":1}`,
		"pwm_dcs|e1|u1|2026-01-02T03:04:05.678Z|0|50|0|0|0",
		"od_blanks|e1|u1|2026-01-02T03:04:05.123Z|0.01|1|135",
		"experiment_profile_runs|2026-01-02T03:04:05.678Z|demo.yaml|e1",
	} {
		found := false
		for _, r := range got {
			found = found || r == want
		}
		if !found {
			t.Errorf("no row %s in\n%q", want, got)
		}
	}
	var rows int
	var od, gr, media, waste, ledB float64
	if err := db.QueryRow(`SELECT COUNT(*) FROM pioreactor_unit_activity_data`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	err = db.QueryRow(`SELECT od_reading, growth_rate, add_media_ml, remove_waste_ml, led_b_intensity_update
		FROM pioreactor_unit_activity_data WHERE experiment = 'e1' AND pioreactor_unit = 'u1' AND timestamp = '2026-01-02T03:04:05.123Z'`).
		Scan(&od, &gr, &media, &waste, &ledB)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 1 || !reflect.DeepEqual([]float64{od, gr, media, waste, ledB}, []float64{0.5, 0.2, 1.5, 1.0, 20}) {
		t.Errorf("activity: %d rows, od %v gr %v media %v waste %v led B %v; want one row 0.5 0.2 1.5 1 20", rows, od, gr, media, waste, ledB)
	}
	var rollup int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pioreactor_unit_activity_data_rollup`).Scan(&rollup); err != nil || rollup != 1 {
		t.Errorf("rollup view: %d rows, %v", rollup, err)
	}
}
