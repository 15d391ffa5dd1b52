package temperature

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/control"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// setsHeater is a program whose execute() sets the heater to dc.
func setsHeater(dc float64) *goProgram {
	return &goProgram{exec: func(ctx context.Context, a *Automation) (*payload.Event, error) {
		a.UpdateHeater(dc)
		return nil, nil
	}}
}

func TestSafetyLimitsOnEveryRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reading float64
		want    float64
		logged  string
	}{
		{"below reduce", 77.9, 50, ""},
		{"reduce+0.1 → 0.9×dc", 78.1, 45, ""},
		{"disable+0.1 → off", 80.1, 0, "WARNING: Temperature of heating surface has exceeded 80.0℃ - currently 80.1℃"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.therm.set(20)
			a := h.start(setsHeater(50), nil)
			h.advance(time.Second)
			if got := a.HeaterDutyCycle(); got != 50 {
				t.Fatalf("after the first execute, dc = %v; want 50", got)
			}
			h.therm.set(tc.reading)
			h.advance(CheckEvery) // one safety check
			if got := h.heaterDuty(); got != tc.want {
				t.Errorf("heater duty after a read of %v = %v; want %v", tc.reading, got, tc.want)
			}
			if got := a.HeaterDutyCycle(); got != tc.want {
				t.Errorf("heater_duty_cycle = %v; want %v", got, tc.want)
			}
			if tc.logged != "" && !h.rec.Logged("WARNING", "exceeded 80.0℃") {
				t.Errorf("no warning %q; logs: %v", tc.logged, h.rec.Logs())
			}
			if a.State() != runtime.Ready {
				t.Errorf("state %s; want ready", a.State())
			}
		})
	}
}

func TestShutdownLimitStopsTheJobWithTheHeaterOff(t *testing.T) {
	h := newHarness(t)
	h.therm.set(30)
	a := h.start(setsHeater(40), nil)
	h.advance(time.Second)
	if h.heaterDuty() != 40 {
		t.Fatalf("heater %v; want 40", h.heaterDuty())
	}
	h.therm.set(85.1)
	h.advance(CheckEvery)
	if !h.ran {
		t.Fatal("Run still running after a reading above the shutdown limit")
	}
	if h.runErr == nil || !strings.Contains(h.runErr.Error(), "above the shutdown limit of 85.0 °C") {
		t.Errorf("Run returned %v; want the shutdown error", h.runErr)
	}
	if h.board.isOpen(heaterChannel) || h.heaterDuty() != 0 {
		t.Error("the heater's output is still open after the shutdown")
	}
	if a.State() != runtime.Disconnected {
		t.Errorf("state %s; want disconnected", a.State())
	}
	if !h.rec.Logged("ERROR", "exceeded 85.0℃") {
		t.Errorf("no error logged: %v", h.rec.Logs())
	}
	if got := h.rec.Payloads("pioreactor/unit1/$experiment/monitor/flicker_led_with_error_code"); len(got) == 0 || got[0] != "6" {
		t.Errorf("error code blinks %v; want 6", got)
	}
}

func TestThermometerFailureTurnsTheHeaterOff(t *testing.T) {
	h := newHarness(t)
	h.therm.set(30)
	a := h.start(setsHeater(40), nil)
	h.advance(time.Second)
	h.therm.setFail(true)
	h.advance(CheckEvery)
	if h.heaterDuty() != 0 || a.HeaterDutyCycle() != 0 {
		t.Errorf("heater %v (setting %v) after a failed read; want 0", h.heaterDuty(), a.HeaterDutyCycle())
	}
	ev := h.payloads("latest_event")
	if len(ev) == 0 || !strings.Contains(ev[len(ev)-1], `"ErrorOccurred"`) || !strings.Contains(ev[len(ev)-1], "remote I/O error") {
		t.Errorf("latest_event %v; want ErrorOccurred naming the failure", ev)
	}
	if !h.rec.Logged("ERROR", "reading the heating PCB's thermometer (fake TMP1075) failed") {
		t.Errorf("no error logged: %v", h.rec.Logs())
	}
	if a.State() != runtime.Ready || h.ran {
		t.Errorf("state %s, Run ended %v; want ready and running", a.State(), h.ran)
	}
	// An inference that fails leaves the heater off and publishes nothing.
	n := len(h.payloads("temperature"))
	h.advance(InferenceEvery)
	if got := len(h.payloads("temperature")); got != n {
		t.Errorf("a temperature was published from failed readings")
	}
	h.therm.setFail(false)
	h.advance(InferenceEvery)
	if len(h.payloads("temperature")) == n || h.heaterDuty() != 40 {
		t.Errorf("no recovery after the thermometer works again: heater %v", h.heaterDuty())
	}
}

func TestHeaterDutyCycleIsPublishedAndReadOnly(t *testing.T) {
	h := newHarness(t)
	h.therm.set(30)
	a := h.start(setsHeater(30), nil)
	h.advance(time.Second)
	h.set("heater_duty_cycle", "80")
	if a.HeaterDutyCycle() != 30 || h.heaterDuty() != 30 {
		t.Errorf("heater %v after a /set; want 30", a.HeaterDutyCycle())
	}
	if !h.rec.Logged("WARNING", "heater_duty_cycle is read-only") {
		t.Errorf("no read-only warning: %v", h.rec.Logs())
	}
	got := h.payloads("heater_duty_cycle")
	if len(got) < 2 || got[0] != "0.0" || got[len(got)-1] != "30.0" {
		t.Errorf("heater_duty_cycle published %v; want 0.0 ... 30.0", got)
	}
	h.set("temperature", `{"temperature": 99.0}`)
	if !h.rec.Logged("WARNING", "temperature is read-only") {
		t.Errorf("temperature /set not refused: %v", h.rec.Logs())
	}
}

func TestTemperaturePayloadAndFirstExecute(t *testing.T) {
	h := newHarness(t)
	h.therm.set(25.25)
	p := &goProgram{}
	var seen float64
	p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
		seen, _, _ = a.LatestTemperature()
		return &payload.Event{Name: payload.EventNoEvent}, nil
	}
	h.start(p, nil)
	h.advance(time.Second)
	got := h.payloads("temperature")
	if len(got) != 1 {
		t.Fatalf("temperature published %v; want one reading at start", got)
	}
	var r struct {
		Timestamp   string  `json:"timestamp"`
		Temperature float64 `json:"temperature"`
	}
	if err := json.Unmarshal([]byte(got[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Temperature != 25.25 || r.Timestamp != "2026-01-01T00:00:00.250000Z" {
		t.Errorf("temperature payload %s", got[0])
	}
	if p.runs != 1 || seen != 25.25 {
		t.Errorf("execute ran %d times and saw %v; want once with 25.25", p.runs, seen)
	}
	if ev := h.payloads("latest_event"); ev[len(ev)-1] != `{"event_name":"NoEvent","message":null,"data":null}` {
		t.Errorf("latest_event %v", ev)
	}
	// Inferences start 95 s after start, every 200 s, and run execute().
	h.advance(FirstInference + InferenceEvery + 2*time.Minute) // to 415 s
	if n := len(h.payloads("temperature")); n != 3 || p.runs != 3 {
		t.Errorf("after 415 s: %d temperatures and %d runs; want 3 and 3", n, p.runs)
	}
}

func TestSleepingTurnsTheHeaterOffAndPausesInference(t *testing.T) {
	h := newHarness(t)
	h.therm.set(30)
	p := setsHeater(35)
	a := h.start(p, nil)
	h.advance(time.Second)
	h.set("$state", "sleeping")
	if h.heaterDuty() != 0 || a.HeaterDutyCycle() != 0 {
		t.Errorf("heater %v while sleeping; want 0", h.heaterDuty())
	}
	n := len(h.payloads("temperature"))
	h.advance(10 * time.Minute)
	if len(h.payloads("temperature")) != n || h.heaterDuty() != 0 {
		t.Errorf("inference ran or heater on while sleeping")
	}
	h.set("$state", "ready")
	if h.heaterDuty() != 0 {
		t.Errorf("waking turned the heater on before execute()")
	}
	h.advance(InferenceEvery)
	if h.heaterDuty() != 35 {
		t.Errorf("heater %v after waking and an inference; want 35", h.heaterDuty())
	}
}

func TestInferenceHoldsTheHeaterOffThenRestoresIt(t *testing.T) {
	h := newHarness(t)
	h.therm.set(30)
	var a *Automation
	p := &goProgram{}
	p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
		if p.runs == 1 {
			a.UpdateHeater(30)
		}
		return nil, nil
	}
	a = h.start(p, nil)
	h.advance(FirstInference + 10*time.Second) // inside the first inference
	if h.heaterDuty() != 0 {
		t.Errorf("heater %v during an inference; want 0", h.heaterDuty())
	}
	if a.UpdateHeater(50) || a.UpdateHeaterWithDelta(5) {
		t.Error("a program changed the heater during an inference")
	}
	h.advance(2 * time.Minute)
	if h.heaterDuty() != 30 || a.State() != runtime.Ready {
		t.Errorf("after the inference: heater %v, state %s; want 30, ready", h.heaterDuty(), a.State())
	}
	if !a.UpdateHeater(50) || h.heaterDuty() != 50 {
		t.Error("UpdateHeater refused after the inference")
	}

	// Sleeping mid-inference leaves the heater off.
	h.advance(InferenceEvery - 2*time.Minute + 10*time.Second) // inside the second
	h.set("$state", "sleeping")
	h.advance(2 * time.Minute)
	if h.heaterDuty() != 0 || a.State() != runtime.Sleeping {
		t.Errorf("after sleeping mid-inference: heater %v, state %s; want 0, sleeping", h.heaterDuty(), a.State())
	}
}

func TestUpdateHeaterClampsAndRounds(t *testing.T) {
	h := newHarness(t)
	h.therm.set(30)
	a := h.start(&goProgram{}, nil)
	for _, tc := range []struct{ in, want float64 }{{12.345, 12.35}, {12.344, 12.34}, {-3, 0}, {150, 100}, {0, 0}} {
		if !a.UpdateHeater(tc.in) {
			t.Fatalf("UpdateHeater(%v) refused", tc.in)
		}
		if got := a.HeaterDutyCycle(); got != tc.want {
			t.Errorf("UpdateHeater(%v): dc %v; want %v", tc.in, got, tc.want)
		}
	}
	a.UpdateHeater(20)
	if !a.UpdateHeaterWithDelta(-5.5) || a.HeaterDutyCycle() != 14.5 {
		t.Errorf("UpdateHeaterWithDelta(-5.5) from 20 → %v; want 14.5", a.HeaterDutyCycle())
	}
}

func TestHeaterIsOffOnEveryExitPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(h *harness)
	}{
		{"context cancelled", func(h *harness) { h.cancel(); h.settle() }},
		{"$state/set disconnected", func(h *harness) { h.set("$state", "disconnected") }},
		{"cancelled mid-inference", func(h *harness) { h.advance(FirstInference + 20*time.Second); h.cancel(); h.settle() }},
		{"end of the simulation", func(h *harness) { h.clk.SetLimit(h.clk.Now().Add(time.Minute)); h.advance(2 * time.Minute) }},
		{"program error", func(h *harness) { h.advance(InferenceEvery); h.cancel(); h.settle() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.therm.set(30)
			p := setsHeater(60)
			if tc.name == "program error" {
				p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
					a.UpdateHeater(60)
					return nil, errors.New("boom")
				}
			}
			a := h.start(p, nil)
			h.advance(time.Second)
			if h.heaterDuty() != 60 {
				t.Fatalf("heater %v; want 60", h.heaterDuty())
			}
			tc.stop(h)
			if !h.ran {
				t.Fatal("Run did not return")
			}
			if h.runErr != nil {
				t.Errorf("Run: %v", h.runErr)
			}
			if h.heaterDuty() != 0 || h.board.isOpen(heaterChannel) {
				t.Errorf("heater duty %v, open %v after Run returned", h.heaterDuty(), h.board.isOpen(heaterChannel))
			}
			if a.State() != runtime.Disconnected {
				t.Errorf("state %s; want disconnected", a.State())
			}
			// The channel is free again.
			out, err := h.env.OpenPWM(h.ctl, "exp1", heaterChannel, HeaterHz, "other")
			if err != nil {
				t.Errorf("heater channel not released: %v", err)
			} else {
				out.Close()
			}
		})
	}
}

func TestCloseWithoutRunReleasesTheHeater(t *testing.T) {
	h := newHarness(t)
	a, err := Start(h.env, Options{Program: setsHeater(10)})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if h.board.isOpen(heaterChannel) {
		t.Error("heater still open after Close")
	}
}

func TestStartRefusals(t *testing.T) {
	required := &goProgram{settings: []automation.SettingDecl{{Name: "target_temperature", Datatype: payload.TypeFloat}}}
	for _, tc := range []struct {
		name      string
		setup     func(h *harness)
		prog      Program
		overrides map[string]string
		want      string
	}{
		{"no sensors", func(h *harness) { h.env.Board = boardWithoutSensors{h.board} }, &goProgram{}, nil,
			"temperature_automation: fake board has no sensors (photodiodes, thermometer, LEDs, RPM)"},
		{"no thermometer", func(h *harness) { h.board.noTherm = true }, &goProgram{}, nil,
			"the heating PCB's thermometer: no TMP1075 found"},
		{"no heater channel", func(h *harness) { h.env.Config.Set("PWM", "5", "") }, &goProgram{}, nil,
			"no PWM channel is wired to heating"},
		{"missing required", nil, required, nil,
			"fake: setting target_temperature is required and has no default: give it (--target-temperature <value>)"},
		{"non-number", nil, required, map[string]string{"target_temperature": "warm"}, "setting target_temperature"},
		{"unknown setting", nil, &goProgram{}, map[string]string{"target_od": "1"}, `unknown setting "target_od"`},
		{"bad gain", func(h *harness) { h.env.Config.Set(ThermostatSection, "Kp", "fast") }, &goProgram{}, nil,
			"[temperature_automation.thermostat] Kp"},
		{"name config", nil, &goProgram{name: "config"}, nil, `automation_name "config" is not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			_, err := Start(h.env, Options{Program: tc.prog, Overrides: tc.overrides})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v; want an error containing %q", err, tc.want)
			}
			if h.board.isOpen(heaterChannel) {
				t.Error("a refused start left the heater open")
			}
		})
	}
}

// boardWithoutSensors hides the fake board's sensors.
type boardWithoutSensors struct{ b *fakeBoard }

func (w boardWithoutSensors) Name() string          { return w.b.Name() }
func (w boardWithoutSensors) Simulated() bool       { return true }
func (w boardWithoutSensors) PWM() hw.PWMController { return w.b }
func (w boardWithoutSensors) HaltAll() error        { return w.b.HaltAll() }
func (w boardWithoutSensors) Close() error          { return w.b.Close() }

func TestSettingCheckerAtStartAndOnSet(t *testing.T) {
	h := newHarness(t)
	h.therm.set(30)
	p := &checkedProgram{goProgram{settings: []automation.SettingDecl{{Name: "target_temperature", Datatype: payload.TypeFloat}}}}
	_, err := Start(h.env, Options{Program: p, Overrides: map[string]string{"target_temperature": "-1"}})
	if err == nil || !strings.Contains(err.Error(), "fake: setting target_temperature: must not be negative, got -1") {
		t.Fatalf("Start with -1: %v", err)
	}
	a := h.start(p, map[string]string{"target_temperature": "85"})
	if v := a.Value("target_temperature"); v != 78.0 {
		t.Errorf("target 85 at start → %v; want 78", v)
	}
	h.set("target_temperature", "35")
	if v := a.Value("target_temperature"); v != 35.0 {
		t.Errorf("target 35 → %v", v)
	}
	h.set("target_temperature", "-4")
	if v := a.Value("target_temperature"); v != 35.0 {
		t.Errorf("target -4 → %v; want 35 kept", v)
	}
	if !h.rec.Logged("ERROR", "must not be negative") {
		t.Errorf("refusal not logged: %v", h.rec.Logs())
	}
}

type checkedProgram struct{ goProgram }

func (p *checkedProgram) CheckSetting(ctx context.Context, a *Automation, name string, v any) (any, error) {
	f, _ := automation.ToFloat(v)
	if f < 0 {
		return nil, errors.New("must not be negative, got " + payload.PyFloat(f))
	}
	return min(f, a.Limits().MaxTargetTemperature()), nil
}

func TestThermostatSectionKeysAreRead(t *testing.T) {
	cfg := config.New()
	sec := cfg.Section(ThermostatSection)
	want := map[string]bool{}
	for _, k := range sec.Keys() {
		want[k] = true
	}
	g, err := ThermostatGains(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g != (Gains{Kp: 2.6, Ki: 0, Kd: 4.6}) {
		t.Errorf("defaults %+v; want upstream's 2.6/0/4.6", g)
	}
	for _, k := range []string{"Kp", "Ki", "Kd"} {
		delete(want, k)
	}
	if len(want) != 0 {
		t.Errorf("keys of [%s] not read: %v", ThermostatSection, want)
	}
	if owner := config.OwnedSections[ThermostatSection]; owner != "temperature" {
		t.Errorf("OwnedSections[%s] = %q", ThermostatSection, owner)
	}
	cfg.Set(ThermostatSection, "Kd", "1e999")
	if _, err := ThermostatGains(cfg); err == nil || !strings.Contains(err.Error(), "Kd") {
		t.Errorf("Kd 1e999: %v", err)
	}
}

func TestInfer(t *testing.T) {
	flat := make([]float64, InferenceSamples)
	for i := range flat {
		flat[i] = 30 - float64(i)*0.1
	}
	if got, _ := Infer(0, flat); got != 28 {
		t.Errorf("Infer(0, ...) = %v; want the last reading, 28", got)
	}
	if _, err := Infer(10, flat[:3]); err == nil {
		t.Error("Infer with 3 readings: no error")
	}
	// The fake PCB's cooling curve after steady heating at dc (room 22).
	for _, dc := range []float64{5, 10, 20, 30, 40, 50} {
		readings, vial := steadyCooling(dc, 22)
		got, err := Infer(dc, readings)
		if err != nil {
			t.Fatal(err)
		}
		if d := got - vial; d < -0.5 || d > 0.5 {
			t.Errorf("dc %v: inferred %v, vial %.2f (off by %.2f)", dc, got, vial, d)
		}
	}
}

// steadyCooling is the fake PCB's 21 readings after the heater, at dc for
// long, is turned off, and the vial's temperature then.
func steadyCooling(dc, room float64) ([]float64, float64) {
	f := &fakeThermal{room: room, tauPCB: 25, tauVial: 2400, a: 0.33, bGain: 0.43}
	vial := room + f.bGain*dc
	pcb := vial + f.a*dc
	var out []float64
	for i := 0; i < InferenceSamples; i++ {
		out = append(out, pcb)
		for k := 0; k < 100; k++ {
			vial += 0.05 * (room - vial) / f.tauVial
			pcb += 0.05 * (vial - pcb) / f.tauPCB
		}
	}
	return out, room + f.bGain*dc
}

// TestInferenceTracksTheVial runs the heater at a fixed duty for hours and
// compares each inferred temperature with the vial's true temperature when
// the inference started.
func TestInferenceTracksTheVial(t *testing.T) {
	for _, dc := range []float64{10, 30, 50} {
		h := newHarness(t)
		h.therm.room = 22
		h.therm.vial, h.therm.pcb = 22, 22
		a := h.start(setsHeater(dc), nil)
		var vialAtStart []float64
		start := h.clk.Now()
		for k := 0; k < 60; k++ {
			h.clk.At(start.Add(FirstInference+time.Duration(k)*InferenceEvery), func() { vialAtStart = append(vialAtStart, h.therm.vialTemp()) })
		}
		h.advance(FirstInference + 59*InferenceEvery + 2*time.Minute)
		temps := h.payloads("temperature")[1:] // the first is the raw reading at start
		worst := 0.0
		for i, p := range temps {
			var r Reading
			_ = json.Unmarshal([]byte(p), &r)
			d := float64(r.Temperature) - vialAtStart[i]
			if i >= 30 && (d > worst || -d > worst) { // after 100 minutes of heating
				worst = max(d, -d)
			}
		}
		t.Logf("dc %v: vial %.2f °C after %d inferences; worst error in the second hour %.2f °C", dc, vialAtStart[len(temps)-1], len(temps), worst)
		if worst > 0.5 {
			t.Errorf("dc %v: inferred temperature off the vial's by up to %.2f °C; want within 0.5", dc, worst)
		}
		a.Close()
	}
}

// pidThermostat is the thermostat in Go (the Starlark one is tested in
// package script): a PID on the temperature whose output, ±25, is a change
// of duty cycle.
func pidThermostat(target float64, g Gains) *goProgram {
	lo, hi := -25.0, 25.0
	pid := control.NewPID(control.PIDConfig{Kp: g.Kp, Ki: g.Ki, Kd: g.Kd, Setpoint: target, Min: &lo, Max: &hi})
	return &goProgram{name: "thermostat", exec: func(ctx context.Context, a *Automation) (*payload.Event, error) {
		t, _, _ := a.LatestTemperature()
		a.UpdateHeaterWithDelta(pid.Update(t, 1))
		return nil, nil
	}}
}

func TestGoThermostatHoldsTheVial(t *testing.T) {
	h := newHarness(t)
	h.therm.room = 22
	h.therm.vial, h.therm.pcb = 22, 22
	h.start(pidThermostat(35, Gains{Kp: 2.6, Ki: 0, Kd: 4.6}), nil)
	h.advance(3 * time.Hour)
	checkHolds(t, h, 35)
}

// checkHolds follows the vial for an hour after settling: the vial's
// temperature when each inference starts (what the model estimates) must be
// within 0.5 °C of target, and the vial within 2 °C of it at all times (it
// cools while the heater is off for the inference).
func checkHolds(t *testing.T, h *harness, target float64) {
	t.Helper()
	start := h.clk.Now()
	lo, hi := 100.0, 0.0
	var peaks []float64
	next := gridAfter(epoch.Add(FirstInference), InferenceEvery, start)
	for next.Before(start.Add(time.Hour)) {
		h.advance(next.Sub(h.clk.Now()))
		peaks = append(peaks, h.therm.vialTemp())
		for i := 0; i < 4; i++ {
			h.advance(InferenceEvery / 4)
			v := h.therm.vialTemp()
			lo, hi = min(lo, v), max(hi, v)
		}
		next = next.Add(InferenceEvery)
	}
	plo, phi := 100.0, 0.0
	for _, p := range peaks {
		plo, phi = min(plo, p), max(phi, p)
	}
	t.Logf("vial at each inference's start %.2f to %.2f °C; at any time %.2f to %.2f °C", plo, phi, lo, hi)
	if plo < target-0.5 || phi > target+0.5 {
		t.Errorf("vial at inference starts from %.2f to %.2f °C; want within 0.5 of %v", plo, phi, target)
	}
	if lo < target-2 || hi > target+2 {
		t.Errorf("vial from %.2f to %.2f °C; want within 2 of %v", lo, hi, target)
	}
}
