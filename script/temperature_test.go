package script

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/temperature"
)

var tempEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// tempUnit is a unit on a virtual clock and the in-memory broker with the
// simulated reactor (noise-free), whose thermometer a test may replace by a
// fixed or failing one.
type tempUnit struct {
	t       *testing.T
	clk     *sched.Virtual
	env     *runtime.Env
	reactor *sim.Reactor
	board   *tempBoard
	ctl     pubsub.Client
	rec     pubsubtest.Recorder
	cancel  context.CancelFunc
	ran     bool
	runErr  error
}

// tempBoard is the simulated reactor with a thermometer the test controls.
type tempBoard struct {
	*sim.Reactor
	mu    sync.Mutex
	fixed *float64
	fail  bool
}

func (b *tempBoard) Thermometer() (hw.Thermometer, error) {
	real, err := b.Reactor.Thermometer()
	if err != nil {
		return nil, err
	}
	return &testThermometer{Thermometer: real, b: b}, nil
}

func (b *tempBoard) set(c float64) { b.mu.Lock(); b.fixed = &c; b.mu.Unlock() }
func (b *tempBoard) setFail(f bool) {
	b.mu.Lock()
	b.fail = f
	b.mu.Unlock()
}

type testThermometer struct {
	hw.Thermometer
	b *tempBoard
}

func (t *testThermometer) Celsius(ctx context.Context) (float64, error) {
	t.b.mu.Lock()
	fixed, fail := t.b.fixed, t.b.fail
	t.b.mu.Unlock()
	if fail {
		return 0, errors.New("i2c: remote I/O error")
	}
	if fixed != nil {
		return *fixed, nil
	}
	return t.Thermometer.Celsius(ctx)
}

func newTempUnit(t *testing.T, room float64) *tempUnit {
	t.Helper()
	u := &tempUnit{t: t, clk: sched.NewVirtual(tempEpoch)}
	broker := pubsub.NewMemory()
	broker.Tap = u.rec.Tap
	m := sim.DefaultModel().Ideal()
	m.RoomCelsius = room
	u.reactor = sim.New(u.clk, sim.Options{Devices: map[int]string{1: "stirring", 5: "heating"}, Model: &m})
	u.board = &tempBoard{Reactor: u.reactor}
	u.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: u.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return broker.Connect(o), nil },
		Board:   u.board, Config: config.New(), Liquid: liquid.NewMemStore(),
	}
	u.ctl = broker.Connect(pubsub.Options{ClientID: "test"})
	return u
}

// stdlibTemperature loads a stdlib temperature automation from its file.
func stdlibTemperature(t *testing.T, name string) *TemperatureScript {
	t.Helper()
	path := "../stdlib/temperature/" + name + ".star"
	s, err := LoadTemperatureFile(path, "unit1", "exp1")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func inlineTemperature(t *testing.T, src string) *TemperatureScript {
	t.Helper()
	s, err := LoadTemperature("inline.star", []byte("automation_type = \"temperature\"\n"+src), "unit1", "exp1")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (u *tempUnit) start(p temperature.Program, overrides map[string]string) *temperature.Automation {
	u.t.Helper()
	a, err := temperature.Start(u.env, temperature.Options{Program: p, Overrides: overrides})
	if err != nil {
		u.t.Fatal(err)
	}
	a.Log.OnRecord = u.rec.Log
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.t.Cleanup(func() { cancel(); u.settle(); a.Close() })
	u.clk.Go("temperature_automation", func() { u.runErr = a.Run(ctx); u.ran = true })
	u.settle()
	return a
}

func (u *tempUnit) settle() { u.clk.RunUntil(context.Background(), u.clk.Now()) }
func (u *tempUnit) advance(d time.Duration) {
	u.clk.RunUntil(context.Background(), u.clk.Now().Add(d))
}

func (u *tempUnit) set(setting, value string) {
	u.t.Helper()
	if err := u.ctl.Publish("pioreactor/unit1/exp1/temperature_automation/"+setting+"/set", []byte(value), 1, false); err != nil {
		u.t.Fatal(err)
	}
	u.settle()
}

func (u *tempUnit) payloads(setting string) []string {
	return u.rec.Payloads("pioreactor/unit1/exp1/temperature_automation/" + setting)
}

func (u *tempUnit) heater() float64 {
	tr := u.reactor.DutyTrace()
	for i := len(tr) - 1; i >= 0; i-- {
		if tr[i].Channel == 5 {
			return tr[i].Duty
		}
	}
	return 0
}

func TestThermostatTargetIsCheckedAndClamped(t *testing.T) {
	u := newTempUnit(t, 22)
	a := u.start(stdlibTemperature(t, "thermostat"), map[string]string{"target_temperature": "50"})
	if v := a.Value("target_temperature"); v != 50.0 {
		t.Fatalf("target %v; want 50", v)
	}
	u.set("target_temperature", "85")
	if v := a.Value("target_temperature"); v != 78.0 {
		t.Errorf("target 85 → %v; want MAX_TARGET_TEMP 78", v)
	}
	if !u.rec.Logged("WARNING", "Values over 78.0℃ are not supported. Setting to 78.0℃.") {
		t.Errorf("no clamping warning: %v", u.rec.Logs())
	}
	u.set("target_temperature", "35")
	if v := a.Value("target_temperature"); v != 35.0 {
		t.Errorf("target 35 → %v", v)
	}
	for _, bad := range []string{"-1", "warm"} {
		u.set("target_temperature", bad)
		if v := a.Value("target_temperature"); v != 35.0 {
			t.Errorf("target %s → %v; want 35 kept", bad, v)
		}
	}
	if !u.rec.Logged("ERROR", "target_temperature must be 0 °C or more, got -1.0") {
		t.Errorf("negative target not refused with a message: %v", u.rec.Logs())
	}
}

func TestThermostatRefusesABadTargetAtStart(t *testing.T) {
	for _, tc := range []struct {
		overrides map[string]string
		want      string
	}{
		{nil, "thermostat: setting target_temperature: Provide a target temperature (target_temperature, in °C)."},
		{map[string]string{"target_temperature": "-5"}, "target_temperature must be 0 °C or more, got -5.0"},
		{map[string]string{"target_temperature": "warm"}, "setting target_temperature"},
	} {
		u := newTempUnit(t, 22)
		_, err := temperature.Start(u.env, temperature.Options{Program: stdlibTemperature(t, "thermostat"), Overrides: tc.overrides})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start with %v: %v; want %q", tc.overrides, err, tc.want)
		}
	}
}

func TestThermostatFirstExecuteIsUpstreamsWorkedExample(t *testing.T) {
	u := newTempUnit(t, 22)
	u.board.set(30)
	a := u.start(stdlibTemperature(t, "thermostat"), map[string]string{"target_temperature": "35"})
	u.advance(time.Second)
	if got := a.HeaterDutyCycle(); got != 13 {
		t.Errorf("dc after T=30, target 35: %v; want 13 (Kp 2.6 × 5)", got)
	}
	ev := u.payloads("latest_event")
	want := `{"event_name":"UpdatedHeaterDC","message":"delta_dc=13.0","data":{"current_dc":13.0,"delta_dc":13.0,"target_temperature":35.0,"latest_temperature":30.0}}`
	if len(ev) == 0 || ev[len(ev)-1] != want {
		t.Errorf("latest_event %v\nwant %s", ev, want)
	}
}

func TestThermostatTargetBelowTemperatureLeavesHeaterOff(t *testing.T) {
	u := newTempUnit(t, 25)
	a := u.start(stdlibTemperature(t, "thermostat"), map[string]string{"target_temperature": "20"})
	u.advance(10 * time.Minute)
	if a.State() != runtime.Ready || a.HeaterDutyCycle() != 0 || u.heater() != 0 {
		t.Errorf("state %s, dc %v; want ready and 0", a.State(), a.HeaterDutyCycle())
	}
}

func TestThermostatStartsHeatingAndSleepTurnsItOff(t *testing.T) {
	u := newTempUnit(t, 22)
	a := u.start(stdlibTemperature(t, "thermostat"), map[string]string{"target_temperature": "35"})
	u.advance(3 * time.Second)
	if a.State() != runtime.Ready || a.HeaterDutyCycle() <= 0 || u.heater() <= 0 {
		t.Fatalf("3 s after start: state %s, dc %v; want ready and heating", a.State(), a.HeaterDutyCycle())
	}
	u.set("$state", "sleeping")
	if a.HeaterDutyCycle() != 0 || u.heater() != 0 {
		t.Errorf("sleeping: dc %v; want 0", a.HeaterDutyCycle())
	}
}

// setsOnce is a temperature script that sets the heater once, on its first
// execute().
const setsOnce = `
def execute():
    if "done" not in store:
        store["done"] = True
        update_heater(%s)
    return None
`

func TestSafetyLimitsWithAScript(t *testing.T) {
	for _, tc := range []struct {
		reading, want float64
	}{{78.1, 45}, {80.1, 0}} {
		u := newTempUnit(t, 22)
		u.board.set(30)
		a := u.start(inlineTemperature(t, strings.Replace(setsOnce, "%s", "50", 1)), nil)
		u.advance(time.Second)
		if a.HeaterDutyCycle() != 50 {
			t.Fatalf("dc %v; want 50", a.HeaterDutyCycle())
		}
		u.board.set(tc.reading)
		u.advance(temperature.CheckEvery)
		if a.HeaterDutyCycle() != tc.want || u.heater() != tc.want {
			t.Errorf("after a reading of %v: dc %v; want %v", tc.reading, a.HeaterDutyCycle(), tc.want)
		}
	}
}

func TestInferenceWithAScript(t *testing.T) {
	u := newTempUnit(t, 22)
	a := u.start(inlineTemperature(t, strings.Replace(setsOnce, "%s", "30", 1)), nil)
	u.advance(temperature.FirstInference + 10*time.Second)
	if u.heater() != 0 {
		t.Errorf("heater %v during the inference; want 0", u.heater())
	}
	u.advance(2 * time.Minute)
	if u.heater() != 30 || a.State() != runtime.Ready {
		t.Errorf("after the inference: heater %v, state %s; want 30, ready", u.heater(), a.State())
	}
	u.advance(temperature.InferenceEvery - 2*time.Minute)
	u.set("$state", "sleeping")
	u.advance(2 * time.Minute)
	if u.heater() != 0 || a.State() != runtime.Sleeping {
		t.Errorf("slept mid-inference: heater %v, state %s; want 0, sleeping", u.heater(), a.State())
	}
}

func TestHeaterDutyCycleSetIsRefused(t *testing.T) {
	u := newTempUnit(t, 22)
	a := u.start(stdlibTemperature(t, "only_record_temperature"), nil)
	u.advance(time.Second)
	u.set("heater_duty_cycle", "50")
	if a.HeaterDutyCycle() != 0 || !u.rec.Logged("WARNING", "heater_duty_cycle is read-only") {
		t.Errorf("dc %v; logs %v", a.HeaterDutyCycle(), u.rec.Logs())
	}
	if ev := u.payloads("latest_event"); len(ev) == 0 || !strings.Contains(ev[len(ev)-1], `"NoEvent"`) {
		t.Errorf("only_record_temperature's event: %v", ev)
	}
	u.advance(time.Hour)
	if n := len(u.payloads("temperature")); n != 19 { // at start, then 18 inferences in an hour
		t.Errorf("%d temperatures in an hour; want 19", n)
	}
}

func TestHeaterOffWhenTheScriptOrThermometerFails(t *testing.T) {
	u := newTempUnit(t, 22)
	a := u.start(inlineTemperature(t, `
def execute():
    update_heater(40)
    return 1 // 0
`), nil)
	u.advance(time.Second)
	if a.HeaterDutyCycle() != 40 {
		t.Fatalf("dc %v", a.HeaterDutyCycle())
	}
	ev := u.payloads("latest_event")
	if len(ev) == 0 || !strings.Contains(ev[len(ev)-1], "ErrorOccurred") || !strings.Contains(ev[len(ev)-1], "inline.star:5") {
		t.Errorf("latest_event %v; want ErrorOccurred with the script's position", ev)
	}
	u.board.setFail(true)
	u.advance(temperature.CheckEvery)
	if a.HeaterDutyCycle() != 0 || u.heater() != 0 {
		t.Errorf("dc %v after a failed reading; want 0", a.HeaterDutyCycle())
	}
	u.cancel()
	u.settle()
	if !u.ran || u.heater() != 0 || a.State() != runtime.Disconnected {
		t.Errorf("after the job ended: ran %v, heater %v, state %s", u.ran, u.heater(), a.State())
	}
}

func TestTemperatureScriptFamily(t *testing.T) {
	_, err := LoadTemperature("x.star", []byte("automation_type = \"temperature\"\ndef execute():\n    execute_io_action(media_ml=1)\n"), "u", "e")
	if err == nil || !strings.Contains(err.Error(), "execute_io_action is a builtin of dosing automations") {
		t.Errorf("a temperature script calling execute_io_action: %v", err)
	}
	_, err = LoadTemperature("x.star", []byte("def execute():\n    return None\n"), "u", "e")
	if err == nil || !strings.Contains(err.Error(), "a dosing automation runs as dosing_automation, not temperature_automation") {
		t.Errorf("a dosing script as a temperature automation: %v", err)
	}
	_, err = LoadTemperature("x.star", []byte("automation_type = \"temperature\"\n"), "u", "e")
	if err == nil || !strings.Contains(err.Error(), "defines execute()") {
		t.Errorf("no execute: %v", err)
	}
	s, err := LoadTemperature("my_heat.star", []byte("automation_type = \"temperature\"\nsettings = {\"target\": None, \"gain\": 2.0}\ndef check_target(v):\n    return v\ndef execute():\n    return None\n"), "u", "e")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "my_heat" || len(s.Settings()) != 2 || s.Settings()[0].Default != nil || s.Settings()[1].Default != 2.0 {
		t.Errorf("name %q settings %+v", s.Name(), s.Settings())
	}
}

func TestStdlibTemperatureFilesLoad(t *testing.T) {
	for _, name := range []string{"thermostat", "only_record_temperature"} {
		src, err := os.ReadFile("../stdlib/temperature/" + name + ".star")
		if err != nil {
			t.Fatal(err)
		}
		s, err := LoadTemperature(name+".star", src, "u", "e")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Name() != name {
			t.Errorf("%s: name %q", name, s.Name())
		}
	}
}

// TestThermostatHoldsTheSimulatedVial runs the thermostat on the simulated
// reactor for four hours and follows it in the fifth: the temperature it
// publishes (the inferred one) and the vial's when each inference starts
// (what the inference estimates) within 0.5 °C of the target, and the vial
// within 2 °C of it at all times: it cools while the heater is off for each
// inference (105 s of every 200 s).
func TestThermostatHoldsTheSimulatedVial(t *testing.T) {
	u := newTempUnit(t, 22)
	u.start(stdlibTemperature(t, "thermostat"), map[string]string{"target_temperature": "35"})
	u.advance(4 * time.Hour)
	n0 := len(u.payloads("temperature"))
	lo, hi, sum, n := 100.0, 0.0, 0.0, 0
	plo, phi := 100.0, 0.0
	start := u.clk.Now()
	for k := 0; k < 18; k++ { // the inferences of the fifth hour
		at := tempEpoch.Add(temperature.FirstInference + time.Duration(72+k)*temperature.InferenceEvery)
		u.clk.At(at, func() {
			c := u.reactor.State().Celsius
			plo, phi = min(plo, c), max(phi, c)
		})
	}
	for i := 0; i < 120; i++ {
		u.advance(30 * time.Second)
		c := u.reactor.State().Celsius
		lo, hi, sum, n = min(lo, c), max(hi, c), sum+c, n+1
	}
	published := u.payloads("temperature")[n0:]
	tlo, thi := 100.0, 0.0
	for _, p := range published {
		var r temperature.Reading
		if err := json.Unmarshal([]byte(p), &r); err != nil {
			t.Fatal(err)
		}
		tlo, thi = min(tlo, float64(r.Temperature)), max(thi, float64(r.Temperature))
	}
	t.Logf("fifth hour from %s: published %.2f to %.2f °C (%d readings); vial at inference starts %.2f to %.2f; vial %.2f to %.2f, mean %.2f",
		start.Sub(tempEpoch), tlo, thi, len(published), plo, phi, lo, hi, sum/float64(n))
	if tlo < 34.5 || thi > 35.5 {
		t.Errorf("published temperatures from %.2f to %.2f °C; want within 0.5 of 35", tlo, thi)
	}
	if plo < 34.5 || phi > 35.5 {
		t.Errorf("vial at inference starts from %.2f to %.2f °C; want within 0.5 of 35", plo, phi)
	}
	if lo < 33 || hi > 37 {
		t.Errorf("vial from %.2f to %.2f °C; want within 2 of 35", lo, hi)
	}
}
