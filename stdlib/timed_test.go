package stdlib

import (
	"strings"
	"testing"
	"time"
)

// B1.6 test_start_dosing_automation_coerces_string_inputs_for_chemostat and
// test_chemostat_default_schedule_waits_before_first_immediate_run: the
// first exchange 2 s after ready, then one every duration.
func TestChemostatSchedule(t *testing.T) {
	u := newUnit(t)
	start := u.clk.Now()
	u.start("chemostat", source(t, "chemostat"), map[string]string{"duration": "0.1", "exchange_volume_ml": "0.7"})
	if v := u.a.Value("exchange_volume_ml"); v != 0.7 {
		t.Errorf("exchange_volume_ml %v", v)
	}
	u.advance(time.Second)
	if n := len(u.named("DilutionEvent")); n != 0 {
		t.Fatalf("%d dilutions within 1 s", n)
	}
	u.clk.RunUntil(t.Context(), start.Add(19*time.Second)) // runs at 2, 8, 14 s, each about 3.5 s long
	d := u.named("DilutionEvent")
	if len(d) != 3 {
		t.Fatalf("%d dilutions in 19 s, want 3", len(d))
	}
	if d[0].Message != "exchanged 0.7mL" || d[0].Data["exchange_volume_ml"] != 0.7 || d[0].Data["volume_actually_cycled_ml"] != 0.7 {
		t.Errorf("event %+v", d[0])
	}
	if !near(u.pumped("add_media"), 2.1) || !near(u.pumped("remove_waste"), 3*0.7*3) {
		t.Errorf("media %v, waste %v", u.pumped("add_media"), u.pumped("remove_waste"))
	}
}

// B1.6 test_chemostat_duration_starts_periodic_timer_without_immediate_dose_when_skipped.
func TestChemostatSkipFirstRun(t *testing.T) {
	u := newUnit(t)
	start := u.clk.Now()
	u.start("chemostat", source(t, "chemostat"), map[string]string{"duration": "0.05", "exchange_volume_ml": "0.5", "skip_first_run": "1"})
	u.clk.RunUntil(t.Context(), start.Add(2900*time.Millisecond))
	if n := len(u.named("DilutionEvent")); n != 0 {
		t.Fatalf("%d dilutions before one period", n)
	}
	u.clk.RunUntil(t.Context(), start.Add(5900*time.Millisecond))
	if n := len(u.named("DilutionEvent")); n != 1 {
		t.Errorf("%d dilutions after one period, want 1", n)
	}
}

// B1.6 test_chemostat_rejects_non_positive_duration,
// test_changing_duration_over_mqtt_rejects_non_positive_values, and the
// required exchange volume.
func TestChemostatRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		overrides map[string]string
		want      string
	}{
		{map[string]string{"duration": "0", "exchange_volume_ml": "1"}, "duration must be"},
		{map[string]string{"duration": "-1", "exchange_volume_ml": "1"}, "duration must be"},
		{map[string]string{"duration": "-0.1", "exchange_volume_ml": "1"}, "duration must be"},
		{map[string]string{"duration": "1"}, "Provide an exchange volume"},
		{map[string]string{"exchange_volume_ml": "-1"}, "exchange_volume_ml must be more than 0 mL, got -1.0"},
		{map[string]string{"exchange_volume_ml": "lots"}, "exchange_volume_ml"},
	} {
		u := newUnit(t)
		err := u.tryStart("chemostat", source(t, "chemostat"), tc.overrides)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.overrides, err, tc.want)
		}
	}
	u := newUnit(t)
	u.start("chemostat", source(t, "chemostat"), map[string]string{"duration": "0.05", "exchange_volume_ml": "0.5"})
	u.set("duration", "0")
	u.set("exchange_volume_ml", "-2")
	if u.a.Value("duration") != 0.05 || u.a.Value("exchange_volume_ml") != 0.5 {
		t.Errorf("duration %v, exchange %v", u.a.Value("duration"), u.a.Value("exchange_volume_ml"))
	}
}

// morbidostat starts the PID morbidostat (Kp 5, V 14) with a run every hour,
// the first 2 s after ready.
func morbidostat(t *testing.T, u *unit, targetGR string) {
	u.start("pid_morbidostat", source(t, "pid_morbidostat"), map[string]string{
		"target_normalized_od": "1.0", "target_growth_rate": targetGR, "duration": "60"})
}

// nextRun publishes the readings just before the next run (every hour from
// 2 s) and runs it.
func (u *unit) nextRun(run int, gr, nod float64) event {
	u.t.Helper()
	at := epoch.Add(2*time.Second + time.Duration(run)*time.Hour)
	u.clk.RunUntil(u.t.Context(), at.Add(-time.Second))
	u.publish("growth_rate_calculating/growth_rate", u.gr(gr), false)
	u.publish("growth_rate_calculating/od_filtered", u.nOD(nod), false)
	u.clk.RunUntil(u.t.Context(), at.Add(time.Minute))
	return u.last()
}

// B1.7 test_pid_morbidostat_adds_alt_media_when_od_is_near_target_and_growth_rate_is_low
// and the worked example of A4.3.
func TestMorbidostatWorkedExample(t *testing.T) {
	u := newUnit(t)
	morbidostat(t, u, "0.09")
	ev := u.nextRun(0, 0.08, 0.5)
	if ev.Name != "NoEvent" || ev.Message != "latest OD less than OD to start diluting, 0.70" {
		t.Errorf("nOD 0.5: %+v", ev)
	}
	// P = −5 × (0.09 − 0.08) < 0, clamped to 0: exchange 0.09 × 14 = 1.26, all media.
	ev = u.nextRun(1, 0.08, 0.95)
	if ev.Name != "AddAltMediaEvent" || ev.Data["fraction_of_alt_media_to_add"] != 0.0 || ev.Data["alt_media_ml"] != 0.0 || ev.Data["media_ml"] != 1.26 {
		t.Fatalf("gr 0.08, nOD 0.95: %+v", ev)
	}
	if ev.Message != "PID output=0.00, alt_media_ml=0.00mL, media_ml=1.26mL" {
		t.Errorf("message %q", ev.Message)
	}
	if !near(u.pumped("add_media"), 1.26) || u.pumped("add_alt_media") != 0 || !near(u.pumped("remove_waste"), 1.26*3) {
		t.Errorf("media %v, alt %v, waste %v", u.pumped("add_media"), u.pumped("add_alt_media"), u.pumped("remove_waste"))
	}
	for i, gr := range []float64{0.07, 0.065} {
		if ev := u.nextRun(2+i, gr, 0.95); ev.Name != "AddAltMediaEvent" || ev.Data["media_ml"] != 1.26 {
			t.Errorf("gr %v: %+v", gr, ev)
		}
	}
}

// A4.3: target 0.1, growth rate 0.2: u = 0.5 of an exchange of 1.4 mL; above
// 1.25 × the target OD the exchange is 2.5 times larger. B1.7
// test_pid_morbidostat_updates_target_growth_rate_over_mqtt: a new target
// is the PID's new setpoint.
func TestMorbidostatDrug(t *testing.T) {
	u := newUnit(t)
	morbidostat(t, u, "0.1")
	ev := u.nextRun(0, 0.2, 0.95)
	if ev.Data["fraction_of_alt_media_to_add"] != 0.5 || ev.Data["alt_media_ml"] != 0.7 || ev.Data["media_ml"] != 0.7 {
		t.Errorf("gr 0.2: %+v", ev)
	}
	if !near(u.pumped("add_alt_media"), 0.7) || !near(u.pumped("add_media"), 0.7) {
		t.Errorf("alt %v, media %v", u.pumped("add_alt_media"), u.pumped("add_media"))
	}
	ev = u.nextRun(1, 0.2, 1.3)
	if ev.Data["alt_media_ml"] != 1.75 || ev.Data["media_ml"] != 1.75 {
		t.Errorf("nOD 1.3: %+v", ev)
	}
	u.set("target_growth_rate", "0.07")
	if u.a.Value("target_growth_rate") != 0.07 {
		t.Fatalf("target_growth_rate %v", u.a.Value("target_growth_rate"))
	}
	// u = −5 × (0.07 − 0.2) = 0.65; exchange round(0.07 × 14, 4) = 0.98.
	ev = u.nextRun(2, 0.2, 0.95)
	if f, _ := ev.Data["fraction_of_alt_media_to_add"].(float64); !near(f, 0.65) {
		t.Errorf("after /set 0.07: %+v", ev)
	}
	if a, _ := ev.Data["alt_media_ml"].(float64); !near(a, 0.65*0.98) {
		t.Errorf("alt %v, want %v", a, 0.65*0.98)
	}
}

// A missing reading ends a morbidostat run in ErrorOccurred, with no dose
// (B1.4 test_missing_first_reading_becomes_error_event).
func TestMorbidostatMissingReading(t *testing.T) {
	u := newUnit(t)
	morbidostat(t, u, "0.1")
	u.advance(time.Minute)
	ev := u.last()
	if ev.Name != "ErrorOccurred" || !strings.Contains(ev.Message, "requires od_reading and growth_rate_calculating to be running") {
		t.Errorf("latest_event %+v", ev)
	}
	u.publish("od_reading/$state", "ready", true)
	u.publish("growth_rate_calculating/$state", "ready", true)
	u.clk.RunUntil(t.Context(), epoch.Add(time.Hour+time.Minute))
	ev = u.last()
	if ev.Name != "ErrorOccurred" || !strings.Contains(ev.Message, "od_filtered") {
		t.Errorf("latest_event %+v", ev)
	}
	if u.pumped("add_media")+u.pumped("add_alt_media") != 0 {
		t.Error("dosed")
	}
}

// B1.7 test_fed_batch_skips_dose_that_would_overflow.
func TestFedBatchOverflow(t *testing.T) {
	u := newUnit(t)
	u.start("fed_batch", source(t, "fed_batch"), map[string]string{"dosing_volume_ml": "0.2"}, withVolume(36-0.1))
	u.advance(time.Minute)
	if ev := u.last(); ev.Name != "NoEvent" || ev.Message != "Skipped dosing to avoid overflow." {
		t.Errorf("latest_event %+v", ev)
	}
	if st := u.a.State(); st != "sleeping" {
		t.Errorf("state %s, want sleeping", st)
	}
	if u.pumped("add_media") != 0 || !near(u.a.CurrentVolume(), 35.9) {
		t.Errorf("media %v, volume %v", u.pumped("add_media"), u.a.CurrentVolume())
	}
	warned := strings.Join(u.rec.Payloads("pioreactor/u1/e1/logs/dosing_automation/warning"), "\n")
	if !strings.Contains(warned, "no liquid is removed") || !u.logged("ERROR", "safety threshold of 36.0 mL") {
		t.Errorf("logs %q", u.logs)
	}
}

// Fed-batch adds media with add_media directly: no waste, no
// DosingStarted/DosingStopped.
func TestFedBatchDoses(t *testing.T) {
	u := newUnit(t)
	u.start("fed_batch", source(t, "fed_batch"), map[string]string{"dosing_volume_ml": "0.5", "duration": "1"})
	u.advance(2 * time.Minute)
	if n := len(u.named("AddMediaEvent")); n != 2 || u.last().Message != "Added 0.5 mL" {
		t.Errorf("events %+v", u.events())
	}
	if !near(u.pumped("add_media"), 1.0) || u.pumped("remove_waste") != 0 || len(u.named("DosingStarted")) != 0 {
		t.Errorf("media %v, waste %v", u.pumped("add_media"), u.pumped("remove_waste"))
	}
	if !near(u.a.CurrentVolume(), 15) {
		t.Errorf("volume %v, want 15", u.a.CurrentVolume())
	}
}
