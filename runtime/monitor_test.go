package runtime

import (
	"testing"
)

func TestMonitorAppliesAndRefusesEvents(t *testing.T) {
	h := newHarness(t)
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	m.Log.OnRecord = h.logf
	ev := func(payload string) { h.set("pioreactor/unit1/exp1/dosing_events", payload) }
	ev(`{"volume_change":6.0,"event":"add_media","source_of_event":"test","timestamp":"2026-01-01T00:00:00Z"}`)
	ev(`{"volume_change":3.0,"event":"add_alt_media","source_of_event":null,"timestamp":"2026-01-01T00:00:00Z"}`)
	ev(`{"volume_change":20.0,"event":"add_media","source_of_event":"test"}`)            // above capacity
	ev(`{"volume_change":1.0,"event":"drain"}`)                                          // unknown event
	ev(`not json`)                                                                       // malformed
	ev(`{"event":"add_media"}`)                                                          // no volume
	ev(`{"volume_change":5.0,"event":"add_media","source_of_event":"pump_calibration"}`) // ignored

	st, _ := m.Liquid("exp1")
	if st.CurrentVolumeML != 23 || st.CumMediaML != 6 || st.CumAltMediaML != 3 || st.AltMediaFraction != 3.0/23 {
		t.Errorf("state %+v", st)
	}
	if applied, dropped := m.Counts(); applied != 2 || dropped != 4 {
		t.Errorf("applied %d, dropped %d; want 2 and 4", applied, dropped)
	}
	for _, w := range []string{"outside [0, 40]", "unknown dosing event", "malformed dosing event"} {
		if !h.logged("WARNING", w) {
			t.Errorf("no warning containing %q", w)
		}
	}
	if got := h.payloads("pioreactor/unit1/exp1/bioreactor/current_volume_ml"); len(got) != 2 || got[1] != "23.0" {
		t.Errorf("published volumes %v", got)
	}
	// The persisted state survives the monitor.
	if saved, ok, _ := h.env.Liquid.Load("exp1"); !ok || saved != st {
		t.Errorf("stored %+v", saved)
	}
}

func TestMonitorSetValue(t *testing.T) {
	h := newHarness(t)
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	m.Log.OnRecord = h.logf
	h.set("pioreactor/unit1/exp1/bioreactor/efflux_tube_volume_ml/set", "15")
	h.set("pioreactor/unit1/exp1/bioreactor/current_volume_ml/set", "41")
	h.set("pioreactor/unit1/exp1/bioreactor/alt_media_fraction/set", "lots")
	h.set("pioreactor/unit1/exp1/bioreactor/colour/set", "1")
	st, _ := m.Liquid("exp1")
	if st.EffluxTubeVolumeML != 15 || st.CurrentVolumeML != 14 || st.AltMediaFraction != 0 {
		t.Errorf("state %+v", st)
	}
	for _, w := range []string{"current_volume_ml=41 is outside", "want a number", "unknown variable"} {
		if !h.logged("ERROR", w) {
			t.Errorf("no error containing %q", w)
		}
	}
}
