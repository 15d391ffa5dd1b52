package dosing

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"math"
	"strings"
	"testing"
	"time"
)

func callsEqual(got, want []call) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].name != want[i].name || math.Abs(got[i].ml-want[i].ml) > 1e-12 {
			return false
		}
	}
	return true
}

func latestEvents(h *harness) []payload.Event {
	var out []payload.Event
	for _, p := range h.payloads("pioreactor/unit1/exp1/dosing_automation/latest_event") {
		if p == "" {
			continue
		}
		var e struct {
			Name    string          `json:"event_name"`
			Message *string         `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(p), &e); err != nil {
			h.t.Fatalf("latest_event %q: %v", p, err)
		}
		ev := payload.Event{Name: e.Name, Data: string(e.Data)}
		if e.Message != nil {
			ev.Message = *e.Message
		}
		out = append(out, ev)
	}
	return out
}

func TestExecuteIOActionBriefExample(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{stubs: returnML("media", "waste")}
	a := h.start(p)
	res, err := h.exec(a, 1.0, []payload.Dose{{Key: "media_ml", ML: 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []call{{"media", 1}, {"waste", 1}, {"waste", 2}}; !callsEqual(p.recorded(), want) {
		t.Errorf("calls %v, want %v", p.recorded(), want)
	}
	if b, _ := json.Marshal(res); string(b) != `{"waste_ml":1.0,"media_ml":1.0}` {
		t.Errorf("result %s", b)
	}
}

func TestExecuteIOActionSubdosing(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{stubs: returnML("media", "waste")}
	a := h.start(p, withVolume(10))
	res, err := h.exec(a, 3.0, []payload.Dose{{Key: "media_ml", ML: 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	want := []call{{"media", 1}, {"waste", 1.5}, {"waste", 3}, {"media", 1}, {"waste", 1.5}, {"waste", 3}}
	if !callsEqual(p.recorded(), want) {
		t.Errorf("calls %v, want %v", p.recorded(), want)
	}
	if res.Get("media_ml") != 2 || res.Get("waste_ml") != 3 {
		t.Errorf("result %v, want media 2, waste 3 (extra waste not reported)", res)
	}
	// One Started/Stopped pair for the whole call, not one per sub-dose.
	ev := latestEvents(h)
	if len(ev) != 2 || ev[0].Name != payload.EventDosingStarted || ev[1].Name != payload.EventDosingStopped {
		t.Fatalf("latest_event messages %v, want DosingStarted then DosingStopped", ev)
	}
	if ev[0].Data != `{"waste_ml":3.0,"media_ml":2.0}` || ev[1].Data != `{"waste_ml":3.0,"media_ml":2.0}` {
		t.Errorf("event data %v / %v", ev[0].Data, ev[1].Data)
	}
}

func TestExecuteIOActionLeafCount(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{stubs: returnML("media", "waste")}
	a := h.start(p)
	if _, err := h.exec(a, 3, []payload.Dose{{Key: "media_ml", ML: 3}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range p.recorded() {
		if c.name == "media" {
			n++
			if c.ml != 0.75 {
				t.Errorf("media sub-dose %v, want 0.75", c.ml)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d leaves, want 4 (3 mL halved twice)", n)
	}
}

func TestExecuteIOActionRealPumps(t *testing.T) {
	h := newHarness(t)
	a := h.start(&fakeProgram{})
	res, err := h.exec(a, 1.26, []payload.Dose{{Key: "media_ml", ML: 1.25}, {Key: "alt_media_ml", ML: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Get("media_ml") != 1.25 || res.Get("alt_media_ml") != 0.01 || res.Get("waste_ml") != 1.26 {
		t.Errorf("result %v, want exactly media 1.25, alt 0.01, waste 1.26", res)
	}
	if got := sum(h.eventVolumes("remove_waste")); math.Abs(got-3*1.26) > 1e-9 {
		t.Errorf("waste events sum %v, want 3.78 (waste + 2x extra)", got)
	}
	if got := h.eventVolumes("add_alt_media"); !floatsEqual(got, []float64{0.005, 0.005}) {
		t.Errorf("alt media events %v, want two leaves of 0.005", got)
	}
}

func TestExecuteIOActionUpdatesLiquidModel(t *testing.T) {
	h := newHarness(t)
	if _, err := runtime.StartMonitor(h.env); err != nil {
		t.Fatal(err)
	}
	a := h.start(&fakeProgram{})
	if _, err := h.exec(a, 1.26, []payload.Dose{{Key: "media_ml", ML: 1.25}, {Key: "alt_media_ml", ML: 0.01}}); err != nil {
		t.Fatal(err)
	}
	if v := a.CurrentVolume(); v != 14.0 {
		t.Errorf("volume %v, want 14.0", v)
	}
	if f := a.AltMediaFraction(); math.Abs(f-0.0006688099108144436) > 1e-9 {
		t.Errorf("alt_media_fraction %v, want 0.0006688099108144436", f)
	}
}

func TestBalancedTransfersKeepVolume(t *testing.T) {
	h := newHarness(t, "bioreactor efflux_tube_volume_ml 15")
	if _, err := runtime.StartMonitor(h.env); err != nil {
		t.Fatal(err)
	}
	a := h.start(&fakeProgram{}, withVolume(15))
	for _, s := range []struct{ media, alt, waste float64 }{{0.5, 0.35, 0.85}, {0.15, 0.15, 0.3}, {0.6, 0, 0.6}, {0, 0.6, 0.6}, {0, 0, 0}} {
		if _, err := h.exec(a, s.waste, []payload.Dose{{Key: "media_ml", ML: s.media}, {Key: "alt_media_ml", ML: s.alt}}); err != nil {
			t.Fatal(err)
		}
		if v := a.CurrentVolume(); v != 15 {
			t.Fatalf("after %+v: volume %v, want 15", s, v)
		}
	}
}

func TestInitialValuesAndEffluxFloor(t *testing.T) {
	h := newHarness(t)
	if _, err := runtime.StartMonitor(h.env); err != nil {
		t.Fatal(err)
	}
	a := h.start(&fakeProgram{}, func(o *Options) {
		o.CurrentVolumeML, o.EffluxTubeVolumeML, o.AltMediaFraction = ptr(10), ptr(15), ptr(0.5)
	})
	if a.CurrentVolume() != 10 || a.EffluxTubeVolume() != 15 || a.AltMediaFraction() != 0.5 {
		t.Fatalf("mirrors %v %v %v", a.CurrentVolume(), a.EffluxTubeVolume(), a.AltMediaFraction())
	}
	if _, err := h.exec(a, 1, []payload.Dose{{Key: "media_ml", ML: 1}, {Key: "alt_media_ml", ML: 0}}); err != nil {
		t.Fatal(err)
	}
	if a.CurrentVolume() != 11 || math.Abs(a.AltMediaFraction()-0.4545454545) > 1e-6 {
		t.Errorf("after: V %v f %v, want 11 and 0.4545", a.CurrentVolume(), a.AltMediaFraction())
	}
	// A second automation starts from the stored values.
	a.Close()
	b := h.start(&fakeProgram{}, func(o *Options) { o.EffluxTubeVolumeML = ptr(16) })
	if b.CurrentVolume() != 11 || b.EffluxTubeVolume() != 16 || math.Abs(b.AltMediaFraction()-0.4545454545) > 1e-6 {
		t.Errorf("stored values: V %v efflux %v f %v", b.CurrentVolume(), b.EffluxTubeVolume(), b.AltMediaFraction())
	}
}

func TestExecuteIOActionFloatRoundingTolerance(t *testing.T) {
	h := newHarness(t)
	a := h.start(&fakeProgram{stubs: returnML("media", "waste")})
	w := 1.2 - 1.1
	res, err := h.exec(a, w, []payload.Dose{{Key: "media_ml", ML: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Get("media_ml") != 0.1 || res.Get("waste_ml") != w {
		t.Errorf("result %v", res)
	}
}

func TestExecuteIOActionRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		waste float64
		doses []payload.Dose
		want  string
	}{
		{"kwarg without _ml", 1.2, []payload.Dose{{Key: "salty_media", ML: 1}}, "should end in `_ml`"},
		{"not enough waste", 1, []payload.Dose{{Key: "media_ml", ML: 2}}, "Not removing enough waste"},
		{"missing pump function", 1, []payload.Dose{{Key: "salty_media_ml", ML: 1}}, "add_salty_media_to_bioreactor"},
		{"missing function among others", 1, []payload.Dose{{Key: "media_ml", ML: 0.5}, {Key: "salty_media_ml", ML: 0.5}}, "add_salty_media_to_bioreactor"},
		{"negative volume", 1, []payload.Dose{{Key: "media_ml", ML: -1}}, "must not be negative"},
		{"negative waste", -1, nil, "must not be negative"},
		{"NaN volume", 1, []payload.Dose{{Key: "media_ml", ML: math.NaN()}}, "finite"},
		{"infinite waste", math.Inf(1), []payload.Dose{{Key: "media_ml", ML: 1}}, "finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			p := &fakeProgram{stubs: returnML("media", "waste")}
			a := h.start(p)
			_, err := h.exec(a, tt.waste, tt.doses)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if len(p.recorded()) != 0 || len(h.dosingEvents()) != 0 {
				t.Errorf("pumps ran before the error: %v", p.recorded())
			}
			// DosingStarted is published before validation, as upstream does; no DosingStopped.
			if ev := latestEvents(h); len(ev) != 1 || ev[0].Name != payload.EventDosingStarted {
				t.Errorf("latest_event %v", ev)
			}
		})
	}
}

func TestZeroVolumeNeedsNoFunction(t *testing.T) {
	h := newHarness(t)
	a := h.start(&fakeProgram{stubs: returnML("media", "waste")})
	res, err := h.exec(a, 1, []payload.Dose{{Key: "media_ml", ML: 1}, {Key: "salty_media_ml", ML: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res); string(b) != `{"waste_ml":1.0,"media_ml":1.0,"salty_media_ml":0.0}` {
		t.Errorf("result %s", b)
	}
}

func TestCustomPumpFunctions(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{stubs: map[string]func(float64) float64{
		"salty_media": func(ml float64) float64 { return ml / 2 },
		"acid_media":  nil,
		"waste":       nil,
	}}
	a := h.start(p)
	res, err := h.exec(a, 1, []payload.Dose{{Key: "salty_media_ml", ML: 0.75}, {Key: "acid_media_ml", ML: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []call{{"salty_media", 0.75}, {"acid_media", 0.25}, {"waste", 1}, {"waste", 2}}; !callsEqual(p.recorded(), want) {
		t.Errorf("calls %v, want %v", p.recorded(), want)
	}
	if b, _ := json.Marshal(res); string(b) != `{"waste_ml":1.0,"salty_media_ml":0.375,"acid_media_ml":0.25}` {
		t.Errorf("result %s", b)
	}
	// Each custom volume reaches dosing_events exactly once, under its own name.
	if got := h.eventVolumes("add_salty_media"); !floatsEqual(got, []float64{0.375}) {
		t.Errorf("add_salty_media events %v, want [0.375]", got)
	}
	if got := h.eventVolumes("add_acid_media"); !floatsEqual(got, []float64{0.25}) {
		t.Errorf("add_acid_media events %v", got)
	}
	if got := h.eventVolumes("remove_waste"); !floatsEqual(got, []float64{1, 2}) {
		t.Errorf("remove_waste events %v, want [1 2]", got)
	}
	for _, e := range h.dosingEvents() {
		if e.Source == nil || *e.Source != "dosing_automation:fake" {
			t.Errorf("source_of_event %v", e.Source)
		}
	}
}

// A custom function that drives a built-in pump is counted once: by the pump.
type pumpingProgram struct{ fakeProgram }

func (p *pumpingProgram) PumpFunc(a *Automation, name string) (PumpFunc, bool) {
	if name != "slow_media" {
		return nil, false
	}
	return func(ctx context.Context, ml float64) (float64, error) {
		half := ml / 2
		m1, err := a.Pump(ctx, "media", &half, nil)
		if err != nil {
			return m1, err
		}
		m2, err := a.Pump(ctx, "media", &half, nil)
		return m1 + m2 + 0.03, err // claims 0.03 mL more than the pump moved (within the tolerance)
	}, true
}

func TestCustomFunctionCallingBuiltinPumpCountsOnce(t *testing.T) {
	h := newHarness(t)
	if _, err := runtime.StartMonitor(h.env); err != nil {
		t.Fatal(err)
	}
	a := h.start(&pumpingProgram{})
	if _, err := h.exec(a, 1, []payload.Dose{{Key: "slow_media_ml", ML: 0.8}}); err != nil {
		t.Fatal(err)
	}
	if got := sum(h.eventVolumes("add_media")); math.Abs(got-0.8) > 1e-12 {
		t.Errorf("add_media events sum %v, want 0.8", got)
	}
	// Only what the function reported beyond its pumps becomes add_slow_media.
	if got := h.eventVolumes("add_slow_media"); !floatsEqual(got, []float64{0.03}) {
		t.Errorf("add_slow_media events %v, want [0.03]", got)
	}
	if v := a.CurrentVolume(); math.Abs(v-14) > 1e-9 {
		t.Errorf("volume %v (efflux floor keeps 14)", v)
	}
}

func TestOverflowCheckUsesCumulativeVolume(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{stubs: returnML("media", "alt_media", "waste")}
	a := h.start(p, withVolume(36-0.7))
	res, err := h.exec(a, 0.8, []payload.Dose{{Key: "media_ml", ML: 0.4}, {Key: "alt_media_ml", ML: 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []call{{"media", 0.4}}; !callsEqual(p.recorded(), want) {
		t.Errorf("calls %v, want %v", p.recorded(), want)
	}
	if a.State() != runtime.Sleeping {
		t.Errorf("state %s, want sleeping", a.State())
	}
	if res.Get("media_ml") != 0.4 || res.Get("alt_media_ml") != 0 || res.Get("waste_ml") != 0 {
		t.Errorf("result %v", res)
	}
	checkStopMessages(t, h)
	if !h.logged("ERROR", "Pausing all pumping") {
		t.Error("no error log for the overflow")
	}
}

func checkStopMessages(t *testing.T, h *harness) {
	t.Helper()
	for _, action := range []string{"add_media", "add_alt_media", "remove_waste"} {
		msgs := h.published("pioreactor/unit1/exp1/" + action + "/$state/set")
		if len(msgs) == 0 || string(msgs[0].Payload) != "disconnected" || msgs[0].QoS != 1 || msgs[0].Retained {
			t.Errorf("%s: stop messages %v, want disconnected at QoS 1, not retained", action, msgs)
		}
	}
}

func TestDisconnectedAutomationDosesNothing(t *testing.T) {
	h := newHarness(t)
	a := h.start(&fakeProgram{})
	a.Close()
	res, _ := a.executeIOAction(context.Background(), 1.26, []payload.Dose{{Key: "media_ml", ML: 1.25}, {Key: "alt_media_ml", ML: 0.01}},
		map[string]PumpFunc{"media_ml": nil, "alt_media_ml": nil}, nil)
	for _, d := range res {
		if d.ML != 0 {
			t.Errorf("%s = %v after disconnect, want 0", d.Key, d.ML)
		}
	}
	checkStopMessages(t, h)
}

func TestVolumeMirrorThresholds(t *testing.T) {
	h := newHarness(t)
	a := h.start(&fakeProgram{})
	h.ctl.Publish("pioreactor/unit1/exp1/bioreactor/current_volume_ml", []byte("35.1"), 2, true)
	h.settle()
	if a.CurrentVolume() != 35.1 || a.State() != runtime.Ready || !h.logged("WARNING", "35.1") {
		t.Errorf("warn level: V %v, state %s", a.CurrentVolume(), a.State())
	}
	if n := len(h.published("pioreactor/unit1/exp1/add_media/$state/set")); n != 0 {
		t.Errorf("%d stop messages at the warning level", n)
	}
	h.ctl.Publish("pioreactor/unit1/exp1/bioreactor/current_volume_ml", []byte("36"), 2, true)
	h.settle()
	logs := strings.Join(h.payloads("pioreactor/unit1/exp1/logs/dosing_automation/error"), "\n")
	if a.State() != runtime.Sleeping || !strings.Contains(logs, "Pausing all pumping") {
		t.Errorf("stop level: state %s", a.State())
	}
	checkStopMessages(t, h)
}

func TestUnderRemovedWasteWarns(t *testing.T) {
	h := newHarness(t)
	a := h.start(&fakeProgram{stubs: map[string]func(float64) float64{"media": nil, "waste": func(ml float64) float64 { return ml / 2 }}})
	if _, err := h.exec(a, 1, []payload.Dose{{Key: "media_ml", ML: 1}}); err != nil {
		t.Fatal(err)
	}
	if !h.logged("WARNING", "Waste was under-removed") {
		t.Error("no warning")
	}
}

func TestSleepingPausesDosingUntilReady(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{stubs: returnML("media", "waste")}
	a := h.start(p)
	a.SetState(runtime.Sleeping)
	h.clk.At(epoch.Add(time.Minute), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/$state/set", "ready") })
	if _, err := h.exec(a, 1, []payload.Dose{{Key: "media_ml", ML: 1}}); err != nil {
		t.Fatal(err)
	}
	if len(p.recorded()) != 3 || h.clk.Now().Sub(epoch) < time.Minute {
		t.Errorf("calls %v at %v; want the dose after the job woke at 1 min", p.recorded(), h.clk.Now().Sub(epoch))
	}
}

func TestNoPumpStartsWhileTheBrokerIsLost(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{stubs: returnML("media", "waste")}
	a := h.start(p)
	pubsub.LoseConnection(a.Client(), errors.New("link down"))
	h.clk.At(epoch.Add(2*time.Minute), func() { pubsub.Reconnect(a.Client()) }) // the client reconnected
	if _, err := h.exec(a, 1, []payload.Dose{{Key: "media_ml", ML: 1}}); err != nil {
		t.Fatal(err)
	}
	if len(p.recorded()) != 3 || h.clk.Now().Sub(epoch) < 2*time.Minute {
		t.Errorf("calls %v at %v; want them after the reconnect at 2 min", p.recorded(), h.clk.Now().Sub(epoch))
	}
}

func TestStaleRetainedVolumeDoesNotStopAFreshJob(t *testing.T) {
	h := newHarness(t)
	// A retained volume left at the stop level by an earlier run, and no monitor.
	h.ctl.Publish("pioreactor/unit1/exp1/bioreactor/current_volume_ml", []byte("36.5"), 2, true)
	h.settle()
	a := h.start(&fakeProgram{}, withVolume(19))
	if a.State() != runtime.Ready || a.CurrentVolume() != 19 {
		t.Errorf("state %s, volume %v; want ready at the explicit 19 mL", a.State(), a.CurrentVolume())
	}
}

func TestFromZeroVolumeDosesAccumulate(t *testing.T) {
	h := newHarness(t)
	mon, err := runtime.StartMonitor(h.env)
	if err != nil {
		t.Fatal(err)
	}
	a := h.start(&fakeProgram{}, withVolume(0))
	for run, want := range []float64{0.5, 1.0} {
		if _, err := h.exec(a, 0.5, []payload.Dose{{Key: "media_ml", ML: 0.5}}); err != nil {
			t.Fatal(err)
		}
		st, _ := mon.Liquid("exp1")
		// The waste cannot lower the volume: it is below the efflux tube.
		if st.CumMediaML != want || st.CurrentVolumeML != want || a.CurrentVolume() != want {
			t.Errorf("run %d: cumulative %v, volume %v (mirror %v); want %v", run+1, st.CumMediaML, st.CurrentVolumeML, a.CurrentVolume(), want)
		}
	}
}

func TestSettingsHistoryMessage(t *testing.T) {
	h := newHarness(t)
	h.start(&fakeProgram{name: "chemo", settings: []SettingDecl{{Name: "duration", Datatype: payload.TypeFloat, Default: 20.0}, {Name: "volume", Datatype: payload.TypeFloat, Default: 0.5}}})
	h.advance(time.Minute)
	h.set("pioreactor/unit1/exp1/dosing_automation/volume/set", "0.75")
	msgs := h.payloads("pioreactor/unit1/exp1/dosing_automation/dosing_automation_settings")
	if len(msgs) != 2 {
		t.Fatalf("%d settings messages, want 2 (start, change)", len(msgs))
	}
	var rec struct {
		Unit       string  `json:"pioreactor_unit"`
		Experiment string  `json:"experiment"`
		StartedAt  string  `json:"started_at"`
		EndedAt    *string `json:"ended_at"`
		Name       string  `json:"automation_name"`
		Settings   []byte  `json:"settings"` // base64 in JSON, as upstream's bytes field
	}
	if err := json.Unmarshal([]byte(msgs[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Unit != "unit1" || rec.Experiment != "exp1" || rec.Name != "chemo" || rec.StartedAt != "2026-01-01T00:00:00Z" || rec.EndedAt == nil || *rec.EndedAt != "2026-01-01T00:01:00Z" {
		t.Errorf("record %+v", rec)
	}
	var settings map[string]any
	if err := json.Unmarshal(rec.Settings, &settings); err != nil {
		t.Fatal(err)
	}
	if settings["volume"] != 0.75 || settings["duration"] != 20.0 || settings["state"] != "ready" {
		t.Errorf("settings %v", settings)
	}
}

func TestAVialAboveMaxFillSleepsBeforeExecute(t *testing.T) {
	h := newHarness(t)
	st, _ := runtime.LoadLiquidState(h.env, "exp1")
	st.CurrentVolumeML = 36.5 // the monitor's last word: above max fill (36 mL)
	if err := h.env.Liquid.Save("exp1", st); err != nil {
		t.Fatal(err)
	}
	ran := 0
	p := &fakeProgram{exec: func(ctx context.Context, a *Automation) (*payload.Event, error) { ran++; return nil, nil }}
	a := h.start(p)
	logs := strings.Join(h.payloads("pioreactor/unit1/exp1/logs/dosing_automation/error"), "\n")
	if a.State() != runtime.Sleeping || !strings.Contains(logs, "Pausing all pumping") {
		t.Fatalf("state %s at start with the vial at 36.5 mL, want sleeping with an error", a.State())
	}
	h.clk.SetLimit(epoch.Add(time.Minute))
	if err := h.run(a, context.Background()); err != nil {
		t.Fatal(err)
	}
	if ran != 0 {
		t.Errorf("execute() ran %d times while the vial was over max fill", ran)
	}
}
