package stdlib

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The turbidostat with no settling, as most of upstream's tests run it.
func noSettling(t *testing.T) []byte {
	return source(t, "turbidostat", "SETTLING_TIME_SECONDS = 30", "SETTLING_TIME_SECONDS = 0")
}

func turbidostat(t *testing.T, u *unit, src []byte, target, signal string) {
	t.Helper()
	u.start("turbidostat", src, map[string]string{"target_biomass": target, "exchange_volume_ml": "0.25", "biomass_signal": signal})
}

// doseDone lets a dose of 0.25 mL finish (media, pause, waste, extra waste).
const doseDone = 10 * time.Second

// B1.5 test_turbidostat_triggers_at_threshold_boundary_for_biomass_signal.
func TestTurbidostatBoundary(t *testing.T) {
	for _, tc := range []struct {
		signal string
		target float64
	}{{"normalized_od", 1.0}, {"od", 0.1}, {"od_fused", 0.5}} {
		t.Run(tc.signal, func(t *testing.T) {
			u := newUnit(t)
			turbidostat(t, u, noSettling(t), formatFloat(tc.target), tc.signal)
			u.reading(tc.signal, tc.target-0.001)
			u.advance(doseDone)
			if n := len(u.named("DilutionEvent")); n != 0 {
				t.Fatalf("below the target: %d dilutions", n)
			}
			u.reading(tc.signal, tc.target)
			u.advance(doseDone)
			d := u.named("DilutionEvent")
			if len(d) != 1 {
				t.Fatalf("at the target: %d dilutions, want 1", len(d))
			}
			data := d[0].Data
			if data["latest_biomass"] != tc.target || data["target_biomass"] != tc.target ||
				data["resolved_biomass_signal"] != tc.signal || data["exchange_volume_ml"] != 0.25 || data["volume_actually_moved_ml"] != 0.25 {
				t.Errorf("event data %v", data)
			}
			above := tc.target + 0.2
			u.reading(tc.signal, above)
			u.advance(doseDone)
			d = u.named("DilutionEvent")
			if len(d) != 2 || d[1].Data["latest_biomass"] != above {
				t.Fatalf("above the target: %v", d)
			}
			if !near(u.pumped("add_media"), 0.5) {
				t.Errorf("media %v, want 0.5", u.pumped("add_media"))
			}
		})
	}
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// B1.5 test_turbidostat_doses_when_normalized_od_reaches_or_exceeds_target:
// 0.98, 1.0, 1.01, 0.99 dose at 1.0 and 1.01, and leave latest_event null.
func TestTurbidostatSequence(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, noSettling(t), "1.0", "normalized_od")
	want := []bool{false, true, true, false}
	for i, v := range []float64{0.98, 1.0, 1.01, 0.99} {
		before := len(u.named("DilutionEvent"))
		u.reading("normalized_od", v)
		u.advance(doseDone)
		if dosed := len(u.named("DilutionEvent")) > before; dosed != want[i] {
			t.Errorf("nOD %v: dosed %v, want %v", v, dosed, want[i])
		}
	}
	if ev := u.last(); ev.Name != "" {
		t.Errorf("latest_event after 0.99 is %v, want null", ev)
	}
	if u.a.Value("latest_event") != nil {
		t.Errorf("latest_event value %v", u.a.Value("latest_event"))
	}
}

// B1.5 test_turbidostat_ignores_unselected_biomass_signal_updates and
// test_turbidostat_runs_when_selected_biomass_signal_updates.
func TestTurbidostatIgnoresUnselectedSignals(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, source(t, "turbidostat"), "1.0", "normalized_od")
	u.reading("od_fused", 2.0)
	u.reading("od", 2.0)
	u.advance(doseDone)
	if ev := u.events(); len(ev) != 1 || ev[0].Name != "" { // the start's clear only: no run
		t.Fatalf("latest_event %v after unselected signals, want no run", ev)
	}
	u.reading("normalized_od", 1.1)
	u.advance(doseDone)
	if n := len(u.named("DilutionEvent")); n != 1 {
		t.Errorf("%d dilutions, want 1", n)
	}
}

// B1.5 test_turbidostat_switches_selected_biomass_signal_over_mqtt.
func TestTurbidostatSwitchesSignal(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, noSettling(t), "1.0", "normalized_od")
	u.set("biomass_signal", "od_fused")
	if v := u.a.Value("biomass_signal"); v != "od_fused" {
		t.Fatalf("biomass_signal %v", v)
	}
	u.reading("normalized_od", 1.2)
	u.advance(doseDone)
	if n := len(u.named("DilutionEvent")); n != 0 {
		t.Fatalf("%d dilutions on the old signal", n)
	}
	u.reading("od_fused", 1.2)
	u.advance(doseDone)
	d := u.named("DilutionEvent")
	if len(d) != 1 || d[0].Data["resolved_biomass_signal"] != "od_fused" {
		t.Errorf("dilutions %v", d)
	}
}

// B1.5 test_turbidostat_empty_selected_biomass_payload_does_not_trigger and
// test_turbidostat_ignores_retained_biomass_signal.
func TestTurbidostatIgnoresEmptyAndRetained(t *testing.T) {
	u := newUnit(t)
	u.publish("growth_rate_calculating/od_filtered", u.nOD(1.1), true) // before start
	turbidostat(t, u, noSettling(t), "1.0", "normalized_od")
	u.advance(doseDone)
	u.reading("normalized_od", 0.9)
	u.publish("growth_rate_calculating/od_filtered", "", false)
	u.advance(doseDone)
	if ev := u.last(); ev.Name != "" {
		t.Errorf("latest_event %v, want null", ev)
	}
	if u.pumped("add_media") != 0 {
		t.Error("dosed")
	}
}

// B1.5 test_turbidostat_coalesces_rapid_updates_while_dosing.
func TestTurbidostatCoalescesBurst(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, noSettling(t), "1.0", "normalized_od")
	now := u.clk.Now()
	for i, v := range []float64{1.2, 1.3, 1.4} { // while the first dose runs
		at := now.Add(time.Duration(100*(i+1)) * time.Millisecond)
		u.at(at, "growth_rate_calculating/od_filtered", nodAt(v, at))
	}
	u.reading("normalized_od", 1.1)
	u.advance(doseDone)
	d := u.named("DilutionEvent")
	if len(d) != 2 {
		t.Fatalf("%d dilutions, want 2 (one, then one for the burst)", len(d))
	}
	if d[1].Data["latest_biomass"] != 1.4 {
		t.Errorf("second dose read %v, want the burst's last, 1.4", d[1].Data["latest_biomass"])
	}
	if u.last().Name != "DilutionEvent" {
		t.Errorf("latest_event %v", u.last())
	}
}

// B1.5 test_turbidostat_biomass_update_while_sleeping_does_not_dose_until_fresh_ready_update.
func TestTurbidostatSleeping(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, noSettling(t), "1.0", "normalized_od")
	u.set("$state", "sleeping")
	u.reading("normalized_od", 1.1)
	u.advance(doseDone)
	u.set("$state", "ready")
	u.advance(doseDone)
	if n := len(u.named("DilutionEvent")); n != 0 {
		t.Fatalf("%d dilutions after sleeping", n)
	}
	u.reading("normalized_od", 1.2)
	u.advance(doseDone)
	if n := len(u.named("DilutionEvent")); n != 1 {
		t.Errorf("%d dilutions after a fresh reading, want 1", n)
	}
}

// B1.5 test_turbidostat_waits_for_settling_time_before_retriggering, with
// the library's 30 s.
func TestTurbidostatSettling(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, source(t, "turbidostat"), "1.0", "normalized_od")
	start := u.clk.Now()
	u.reading("normalized_od", 1.1)
	u.advance(doseDone)
	u.reading("normalized_od", 1.2) // 10 s after: settling
	u.advance(15 * time.Second)
	if n := len(u.named("DilutionEvent")); n != 1 {
		t.Fatalf("%d dilutions during settling, want 1", n)
	}
	u.clk.RunUntil(t.Context(), start.Add(35*time.Second))
	u.reading("normalized_od", 1.3)
	u.advance(doseDone)
	if n := len(u.named("DilutionEvent")); n != 2 {
		t.Errorf("%d dilutions after settling, want 2", n)
	}
}

// A stale reading ends the run in ErrorOccurred, with no dose (B1.5
// test_turbidostat_returns_error_event_when_required_readings_are_missing).
func TestTurbidostatStaleReading(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, noSettling(t), "1.0", "normalized_od")
	u.publish("growth_rate_calculating/od_filtered", nodAt(1.5, u.clk.Now().Add(-10*time.Minute)), false)
	u.advance(doseDone)
	ev := u.last()
	if ev.Name != "ErrorOccurred" || !strings.Contains(ev.Message, "readings are too stale (over 5 minutes old)") {
		t.Errorf("latest_event %v", ev)
	}
	if u.pumped("add_media") != 0 || u.a.Errors != 1 {
		t.Errorf("media %v, errors %d", u.pumped("add_media"), u.a.Errors)
	}
}

// Invalid settings are refused at start (B1.5
// test_rejects_invalid_biomass_signal_in_turbidostat) and at /set, where
// the previous value stays.
func TestTurbidostatSettingsChecks(t *testing.T) {
	for _, tc := range []struct {
		overrides map[string]string
		want      string
	}{
		{map[string]string{"exchange_volume_ml": "1"}, "Provide a target biomass."},
		{map[string]string{"target_biomass": "0.8"}, "Provide an exchange volume"},
		{map[string]string{"target_biomass": "-0.8", "exchange_volume_ml": "1"}, "target_biomass must be more than 0, got -0.8"},
		{map[string]string{"target_biomass": "abc", "exchange_volume_ml": "1"}, "target_biomass"},
		{map[string]string{"target_biomass": "0.8", "exchange_volume_ml": "1", "biomass_signal": "garbage"}, `biomass_signal "garbage": want one of auto, normalized_od, od_fused, od`},
	} {
		u := newUnit(t)
		err := u.tryStart("turbidostat", source(t, "turbidostat"), tc.overrides)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.overrides, err, tc.want)
		}
	}

	u := newUnit(t)
	turbidostat(t, u, source(t, "turbidostat"), "0.5", "auto")
	if v := u.a.Value("biomass_signal"); v != "normalized_od" { // B1.5 ..._falls_back_to_normalized_od
		t.Errorf("auto resolved to %v", v)
	}
	for _, bad := range [][2]string{{"target_biomass", "-1"}, {"target_biomass", "abc"}, {"exchange_volume_ml", "0"}, {"biomass_signal", "garbage"}} {
		u.set(bad[0], bad[1])
	}
	if u.a.Value("target_biomass") != 0.5 || u.a.Value("exchange_volume_ml") != 0.25 || u.a.Value("biomass_signal") != "normalized_od" {
		t.Errorf("settings changed: %v %v %v", u.a.Value("target_biomass"), u.a.Value("exchange_volume_ml"), u.a.Value("biomass_signal"))
	}
	if !u.logged("ERROR", "target_biomass must be more than 0, got -1.0; target_biomass stays 0.5") {
		t.Errorf("logs %q", u.logs)
	}
	// B1.5 test_turbidostat_updates_exchange_volume_and_target_biomass_over_mqtt.
	u.set("exchange_volume_ml", "1.0")
	u.set("target_biomass", "1.5")
	if u.a.Value("target_biomass") != 1.5 || u.a.Value("exchange_volume_ml") != 1.0 {
		t.Errorf("settings %v %v", u.a.Value("target_biomass"), u.a.Value("exchange_volume_ml"))
	}
}

// B1.5 test_turbidostat_uses_config_default_biomass_signal.
func TestTurbidostatConfigDefaultSignal(t *testing.T) {
	u := newUnit(t, "dosing_automation.turbidostat biomass_signal od")
	u.start("turbidostat", source(t, "turbidostat"), map[string]string{"target_biomass": "0.2", "exchange_volume_ml": "0.25"})
	if v := u.a.Value("biomass_signal"); v != "od" {
		t.Fatalf("biomass_signal %v, want od", v)
	}
	// B1.5 test_turbidostat_doses_when_raw_od_reaches_or_exceeds_target: the
	// od signal reads the lowest signal channel, 2.
	for _, v := range []float64{0.05, 0.25, 0.5, 0.1} {
		u.reading("od", v)
		u.advance(time.Minute)
	}
	d := u.named("DilutionEvent")
	if len(d) != 2 || d[0].Data["latest_biomass"] != 0.25 || d[1].Data["latest_biomass"] != 0.5 {
		t.Errorf("dilutions %v", d)
	}
	if u.last().Name != "" {
		t.Errorf("latest_event %v, want null", u.last())
	}
}

// B1.5 test_turbidostat_transitions_to_disconnected_state_over_mqtt.
func TestTurbidostatDisconnects(t *testing.T) {
	u := newUnit(t)
	turbidostat(t, u, source(t, "turbidostat"), "1.0", "normalized_od")
	u.set("$state", "disconnected")
	u.advance(time.Second)
	if st := u.a.State(); st != "disconnected" {
		t.Errorf("state %s", st)
	}
	if u.a.Program().Name() != "turbidostat" {
		t.Error(u.a.Program().Name())
	}
}
