package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/liquid"
)

// bioreactorMessages counts what the monitor published on the model's topics.
func (h *harness) bioreactorMessages() int {
	n := 0
	for _, v := range liquid.Variables {
		n += len(h.published("pioreactor/unit1/exp1/bioreactor/" + v))
	}
	return n
}

// Every refused dosing event leaves the model as it was, publishes nothing
// and says in one line what was refused, the limit and where it comes from.
func TestMonitorRefusesEventsThatAreNotPhysical(t *testing.T) {
	h := newHarness(t)
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	m.Log.OnRecord = h.logf
	ev := func(v, event string) {
		h.set("pioreactor/unit1/exp1/dosing_events", `{"volume_change":`+v+`,"event":"`+event+`","source_of_event":"test","timestamp":"2026-01-01T00:00:00Z"}`)
	}
	ev("6.0", "add_media")
	ev("2.0", "remove_waste")
	before, _ := m.Liquid("exp1")
	published := h.bioreactorMessages()
	logs := len(h.rec.Logs())

	refused := []struct{ v, event, want string }{
		{"-1000.0", "add_media", "volume_change=-1000.0 mL is more than one event may move: the vial's capacity, 40.0 mL ([bioreactor] model pioreactor_40ml)"},
		{"-7.0", "add_media", "volume_change=-7.0 mL would take cumulative_media_added_ml from 6.0 mL below 0"},
		{"-2.5", "remove_waste", "volume_change=-2.5 mL would take cumulative_waste_removed_ml from 2.0 mL below 0"},
		{"-1.0", "add_alt_media", "volume_change=-1.0 mL would take cumulative_alt_media_added_ml from 0.0 mL below 0"},
		{"10000000000.0", "remove_waste", "volume_change=10000000000.0 mL is more than one event may move"},
		{"40.5", "add_media", "volume_change=40.5 mL is more than one event may move"},
		{"NaN", "add_media", "volume_change=NaN is not a finite number of mL"},
		{"Inf", "add_media", "volume_change=+Inf is not a finite number of mL"},
		{"1.0", "drain", `unknown dosing event "drain"`},
	}
	for _, r := range refused {
		ev(r.v, r.event)
		if !h.logged("WARNING", "pioreactor/unit1/exp1/dosing_events: dosing event refused: "+r.want) {
			t.Errorf("%s %s: no warning %q; logs:\n%s", r.v, r.event, r.want, strings.Join(h.rec.Logs(), "\n"))
		}
	}
	if after, _ := m.Liquid("exp1"); after != before {
		t.Errorf("refused events changed the model from %+v to %+v", before, after)
	}
	if n := h.bioreactorMessages(); n != published {
		t.Errorf("refused events published %d model values", n-published)
	}
	if n := len(h.rec.Logs()) - logs; n != len(refused) {
		t.Errorf("%d log lines for %d refused events, want one each", n, len(refused))
	}
	if applied, dropped := m.Counts(); applied != 2 || dropped != len(refused) {
		t.Errorf("applied %d, dropped %d; want 2 and %d", applied, dropped, len(refused))
	}

	// A pump's correction, which takes back part of what it reported, is
	// still applied.
	ev("-0.5", "add_media")
	ev("-2.0", "remove_waste")
	if st, _ := m.Liquid("exp1"); st.CumMediaML != 5.5 || st.CumWasteML != 0 || st.CurrentVolumeML != 19.5 {
		t.Errorf("after corrections: %+v, want 5.5 mL media, 0 waste, 19.5 mL", st)
	}
}

// Events and /set values for experiments the unit does not work in are
// refused: 300 junk names leave the state file with the experiments the unit
// works in, and no others.
func TestMonitorStoresOnlyExperimentsTheUnitWorksIn(t *testing.T) {
	h := newHarness(t)
	path := filepath.Join(t.TempDir(), "bioreactor.json")
	h.env.Liquid = &liquid.FileStore{Path: path}
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	m.Log.OnRecord = h.logf
	event := `{"volume_change":1.0,"event":"add_media","source_of_event":"test","timestamp":"2026-01-01T00:00:00Z"}`
	h.set("pioreactor/unit1/exp1/dosing_events", event)
	for i := range 300 {
		h.set(fmt.Sprintf("pioreactor/unit1/junk%d/dosing_events", i), event)
	}
	h.set("pioreactor/unit1/junk-set/bioreactor/current_volume_ml/set", "20")
	if !h.logged("WARNING", `pioreactor/unit1/junk7/dosing_events: dosing event refused: experiment "junk7" is not one unit1 works in`) {
		t.Errorf("no warning for junk7; logs:\n%s", strings.Join(h.rec.Logs()[:3], "\n"))
	}
	if !h.logged("ERROR", `experiment "junk-set" is not one unit1 works in`) {
		t.Error("no error for a /set on a junk experiment")
	}

	// A job of the unit announcing itself in an experiment (retained $state,
	// as a pump or automation publishes it) makes it one the unit works in.
	if err := h.ctl.Publish("pioreactor/unit1/exp2/add_media/$state", []byte("ready"), 2, true); err != nil {
		t.Fatal(err)
	}
	h.set("pioreactor/unit1/exp2/dosing_events", event)
	// Bad names are refused whatever announces them.
	h.set("pioreactor/unit1/a%b/dosing_events", event)
	if !h.logged("WARNING", `experiment name "a%b": '%' is not allowed`) {
		t.Error("no warning naming the bad character")
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]json.RawMessage
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range stored {
		names = append(names, k)
	}
	if len(stored) != 2 || stored["exp1"] == nil || stored["exp2"] == nil {
		t.Errorf("the state file holds %d experiments %v, want exp1 and exp2", len(stored), names)
	}
	if applied, dropped := m.Counts(); applied != 2 || dropped != 301 {
		t.Errorf("applied %d, dropped %d; want 2 and 301", applied, dropped)
	}
	// An experiment stored before is still served after a restart.
	m.Close()
	h.settle()
	m2, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := h.ctl.Publish("pioreactor/unit1/exp2/add_media/$state", nil, 2, true); err != nil {
		t.Fatal(err)
	}
	h.set("pioreactor/unit1/exp2/dosing_events", event)
	if st, _ := m2.Liquid("exp2"); st.CumMediaML != 2 {
		t.Errorf("exp2 after a restart: %+v, want 2 mL media", st)
	}
}

// An event id the monitor cannot read refuses the event, by name; a payload
// built around the id's field does not crash the monitor.
func TestMonitorRefusesBadEventIDs(t *testing.T) {
	h := newHarness(t)
	m, err := StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	m.Log.OnRecord = h.logf
	for _, p := range []string{
		`,"event_id":"}`,
		`{"volume_change":1.0,"event":"add_media","source_of_event":null,"timestamp":"t","event_id":"nothex-1"}`,
		`{"volume_change":1.0,"event":"add_media","event_id":7}`,
	} {
		h.set("pioreactor/unit1/exp1/dosing_events", p)
	}
	if !h.logged("WARNING", `dosing event nothex-1 refused: event_id "nothex-1": want 16 hex digits, '-' and a number from 1`) {
		t.Errorf("logs:\n%s", strings.Join(h.rec.Logs(), "\n"))
	}
	if applied, dropped := m.Counts(); applied != 0 || dropped != 3 {
		t.Errorf("applied %d, dropped %d; want 0 and 3", applied, dropped)
	}
}
