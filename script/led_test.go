package script

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/readings"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/stdlib"
)

var ledEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ledDriver is a fake LED driver.
type ledDriver struct {
	mu sync.Mutex
	v  map[string]float64
}

func (f *ledDriver) String() string { return "fake LEDs" }
func (f *ledDriver) Halt() error    { return nil }
func (f *ledDriver) SetIntensity(ch string, p float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.v[ch] = p
	return nil
}
func (f *ledDriver) Intensity(ch string) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.v[ch]
}

// ledBoard is the simulated reactor with a fake LED driver.
type ledBoard struct {
	*sim.Reactor
	leds *ledDriver
}

func (b ledBoard) Photodiode(int) (hw.ADC, error)       { return nil, hw.ErrNotConfigured }
func (b ledBoard) Thermometer() (hw.Thermometer, error) { return nil, hw.ErrNotConfigured }
func (b ledBoard) LEDs() (hw.LEDs, error)               { return b.leds, nil }
func (b ledBoard) RPM() (hw.RPMCounter, error)          { return nil, hw.ErrNotConfigured }

// ledUnit runs a light program on a virtual clock and the in-memory broker.
type ledUnit struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	driver *ledDriver
	ctl    pubsub.Client
	rec    pubsubtest.Recorder
	s      *LEDScript
	a      *leds.Automation
	cancel context.CancelFunc
	runErr error
}

func newLEDUnit(t *testing.T) *ledUnit {
	t.Helper()
	u := &ledUnit{t: t, clk: sched.NewVirtual(ledEpoch), broker: pubsub.NewMemory(), driver: &ledDriver{v: map[string]float64{}}}
	u.broker.Tap = u.rec.Tap
	u.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: u.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return u.broker.Connect(o), nil },
		Board:   ledBoard{sim.New(u.clk, sim.Options{}), u.driver}, Config: config.New(),
	}
	u.ctl = u.broker.Connect(pubsub.Options{ClientID: "test"})
	t.Cleanup(func() {
		if u.cancel != nil {
			u.cancel()
		}
		leds.Release(u.env)
	})
	return u
}

func stdlibLED(t *testing.T, name string) []byte {
	t.Helper()
	_, src, ok := stdlib.Lookup("led", name)
	if !ok {
		t.Fatalf("stdlib has no led/%s.star", name)
	}
	return src
}

// start loads src and starts it as led_automation, running on the clock.
func (u *ledUnit) start(name string, src []byte, overrides map[string]string) error {
	s, err := LoadLED(name+".star", src, "unit1", "exp1")
	if err != nil {
		return err
	}
	a, err := leds.StartAutomation(u.env, leds.AutomationOptions{Program: s, Overrides: overrides})
	if err != nil {
		return err
	}
	u.s, u.a = s, a
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.clk.Go("led_automation", func() { u.runErr = a.Run(ctx) })
	u.settle()
	return nil
}

func (u *ledUnit) mustStart(name string, src []byte, overrides map[string]string) {
	u.t.Helper()
	if err := u.start(name, src, overrides); err != nil {
		u.t.Fatal(err)
	}
}

func (u *ledUnit) settle() { u.clk.RunUntil(context.Background(), u.clk.Now()) }

func (u *ledUnit) runFor(d time.Duration) {
	u.clk.RunUntil(context.Background(), u.clk.Now().Add(d))
}

func (u *ledUnit) topic(segs ...string) string {
	return "pioreactor/unit1/exp1/" + strings.Join(segs, "/")
}

func (u *ledUnit) set(setting, value string) {
	u.t.Helper()
	if err := u.ctl.Publish(u.topic("led_automation", setting, "set"), []byte(value), 1, false); err != nil {
		u.t.Fatal(err)
	}
	u.settle()
}

func (u *ledUnit) retained(segs ...string) string {
	m, _ := u.broker.Retained(u.topic(segs...))
	return string(m.Payload)
}

// dc is "D C" intensities.
func (u *ledUnit) dc() string {
	return fmt.Sprint(u.driver.Intensity("D"), " ", u.driver.Intensity("C"))
}

// trigger calls the script's trigger_leds(elapsed) on a test actor, as
// upstream's tests call the method.
func (u *ledUnit) trigger(elapsed float64) *payload.Event {
	u.t.Helper()
	var ev *payload.Event
	var err error
	done := false
	u.clk.Go("test", func() {
		ev, err = u.s.Call(context.Background(), u.a, "trigger_leds", starlark.Float(elapsed))
		done = true
	})
	u.settle()
	if !done || err != nil {
		u.t.Fatalf("trigger_leds(%v): done %v, %v", elapsed, done, err)
	}
	return ev
}

func (u *ledUnit) lightActive() bool {
	v, _, _ := u.s.Store().Get(starlark.String("light_active"))
	return v == starlark.True
}

func (u *ledUnit) setStore(key string, v starlark.Value) {
	if err := u.s.Store().SetKey(starlark.String(key), v); err != nil {
		u.t.Fatal(err)
	}
}

func TestLEDSilent(t *testing.T) {
	u := newLEDUnit(t)
	ts := payload.StructTimestamp(ledEpoch)
	for _, m := range [][2]string{
		{"growth_rate_calculating/growth_rate", `{"growth_rate": 0.01, "timestamp": "` + ts + `"}`},
		{"growth_rate_calculating/od_filtered", `{"od_filtered": 1.0, "timestamp": "` + ts + `"}`},
		{"od_reading/ods", `{"timestamp": "` + ts + `", "ods": {"2": {"od": 0.42}}}`},
		{"od_reading/od_fused", `{"od_fused": 0.47, "timestamp": "` + ts + `"}`},
	} {
		if err := u.ctl.Publish(u.topic(m[0]), []byte(m[1]), 1, true); err != nil {
			t.Fatal(err)
		}
	}
	u.mustStart("silent", stdlibLED(t, "silent"), nil)
	if got := u.retained("led_automation", "automation_name"); got != "silent" {
		t.Errorf("automation_name %q", got)
	}
	if got := u.retained("led_automation", "latest_event"); got != `{"event_name":"NoEvent","message":"no changes occur in Silent","data":null}` {
		t.Errorf("latest_event %q", got)
	}
	for k, want := range map[readings.Kind]float64{readings.GrowthRate: 0.01, readings.NormalizedOD: 1.0, readings.OD: 0.42, readings.ODFused: 0.47} {
		if r, ok := u.a.Readings().Peek(k); !ok || r.Value != want {
			t.Errorf("cached %v = %v (%v), want %v", k, r.Value, ok, want)
		}
	}
	if u.dc() != "0 0" || len(u.rec.Published(u.topic("led_change_events"))) != 0 {
		t.Errorf("silent changed the LEDs")
	}
}

func TestLightDarkCycleStartsOnAndTurnsOff(t *testing.T) {
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), map[string]string{
		"light_intensity": "50", "light_duration_minutes": "960", "dark_duration_minutes": "480"})
	if !u.lightActive() || u.dc() != "50 50" {
		t.Fatalf("at start: active %v, D C = %s; want on at 50", u.lightActive(), u.dc())
	}
	if got := u.retained("led_automation", "latest_event"); got != `{"event_name":"ChangedLedIntensity","message":"0.0min: turned on LEDs.","data":null}` {
		t.Errorf("latest_event %q", got)
	}
	// test_light_dark_cycle_turns_off_after_N_cycles
	ev := u.trigger(960)
	if ev == nil || ev.Message != "960.0min: turned off LEDs." || u.lightActive() || u.dc() != "0 0" {
		t.Errorf("trigger_leds(960) = %v; active %v, D C %s", ev, u.lightActive(), u.dc())
	}
	// test_dark_duration_hour_to_zero
	u.set("dark_duration_minutes", "0")
	if !u.lightActive() || u.dc() != "50 50" {
		t.Errorf("dark 0: active %v, D C %s; want on", u.lightActive(), u.dc())
	}
	// test_light_duration_hour_to_zero
	u.set("light_duration_minutes", "0")
	if u.lightActive() || u.dc() != "0 0" {
		t.Errorf("light 0: active %v, D C %s; want off", u.lightActive(), u.dc())
	}
	if !u.a.NextRun().IsZero() {
		t.Errorf("a phase of 0 left a run scheduled at %v", u.a.NextRun())
	}
}

func TestLightDarkCycleAddDarkDuration(t *testing.T) {
	// t0 16 h ago (the light phase just ended), dark -> 10 h: still off.
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), nil)
	u.runFor(16 * time.Hour)
	if u.lightActive() || u.dc() != "0 0" {
		t.Fatalf("after 16 h: active %v, D C %s; want off at the boundary", u.lightActive(), u.dc())
	}
	events := len(u.rec.Published(u.topic("led_change_events")))
	u.set("dark_duration_minutes", "600")
	if u.lightActive() || u.dc() != "0 0" || len(u.rec.Published(u.topic("led_change_events"))) != events {
		t.Errorf("dark 10 h at 960 min: active %v, D C %s; want still off (960 mod 1560 is not < 960)", u.lightActive(), u.dc())
	}
	if want := ledEpoch.Add(26 * time.Hour); !u.a.NextRun().Equal(want) {
		t.Errorf("next run %v, want %v (the end of the 10 h dark phase)", u.a.NextRun(), want)
	}
}

func TestLightDarkCycleRemoveDarkDuration(t *testing.T) {
	// t0 20 h ago (in the dark phase), dark -> 3 h: on (1200 mod 1140 = 60 < 960).
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), nil)
	u.runFor(20 * time.Hour)
	if ev := u.trigger(1200); ev != nil || u.lightActive() {
		t.Fatalf("trigger_leds(1200) = %v, active %v; want off already", ev, u.lightActive())
	}
	u.set("dark_duration_minutes", "180")
	if !u.lightActive() || u.dc() != "50 50" {
		t.Errorf("dark 3 h at 1200 min: active %v, D C %s; want on at 50", u.lightActive(), u.dc())
	}
	if got := u.retained("led_automation", "latest_event"); !strings.Contains(got, "1200.0min: turned on LEDs.") {
		t.Errorf("latest_event %q", got)
	}
}

func TestLightDarkCycleFractionalHours(t *testing.T) {
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), map[string]string{
		"light_duration_minutes": "54", "dark_duration_minutes": "6"})
	for _, tc := range []struct {
		at float64
		on bool
	}{{10, true}, {55, false}, {62, true}} {
		u.trigger(tc.at)
		if u.lightActive() != tc.on {
			t.Errorf("54/6 at %v min: active %v, want %v", tc.at, u.lightActive(), tc.on)
		}
	}
}

func TestLightDarkCycleTriggerEvents(t *testing.T) {
	// upstream's 60/60 fixture.
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), map[string]string{
		"light_duration_minutes": "60", "dark_duration_minutes": "60"})
	for _, tc := range []struct {
		active bool
		at     float64
		want   string // "" for no event
	}{
		{false, 30, "turned on LEDs"},
		{true, 30, ""},
		{true, 60, "turned off LEDs"},
		{false, 90, ""},
	} {
		u.setStore("light_active", starlark.Bool(tc.active))
		ev := u.trigger(tc.at)
		switch {
		case tc.want == "" && ev != nil:
			t.Errorf("active %v, t = %v: event %v, want none", tc.active, tc.at, ev)
		case tc.want != "" && (ev == nil || ev.Name != "ChangedLedIntensity" || !strings.Contains(ev.Message, tc.want)):
			t.Errorf("active %v, t = %v: event %v, want ChangedLedIntensity %q", tc.active, tc.at, ev, tc.want)
		}
	}
}

// phases returns the times (since start) and states of D's changes.
func (u *ledUnit) phases() (times []time.Duration, on []bool) {
	for _, m := range u.rec.Published(u.topic("led_change_events")) {
		ev, err := leds.ParseChangeEvent(m.Payload)
		if err != nil {
			u.t.Fatal(err)
		}
		if ev.Channel == "D" {
			times = append(times, ev.At.Sub(ledEpoch))
			on = append(on, ev.Intensity > 0)
		}
	}
	return times, on
}

func TestLightDarkCycleTenthMinutePhases(t *testing.T) {
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), map[string]string{
		"light_duration_minutes": "0.1", "dark_duration_minutes": "0.1"})
	u.runFor(33 * time.Second)
	times, on := u.phases()
	if fmt.Sprint(on) != "[true false true false true false]" {
		t.Errorf("states %v, want T F T F T F", on)
	}
	if fmt.Sprint(times) != "[0s 6s 12s 18s 24s 30s]" {
		t.Errorf("changes at %v, want every 6.0 s", times)
	}
}

func TestLightDarkCycleSubMinutePhases(t *testing.T) {
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), map[string]string{
		"light_duration_minutes": "0.01", "dark_duration_minutes": "0.01"})
	if !u.lightActive() {
		t.Fatal("not on at start")
	}
	u.runFor(2 * time.Second)
	times, on := u.phases()
	if len(on) < 2 || on[1] || times[1] != 600*time.Millisecond {
		t.Errorf("changes %v %v, want off at 0.6 s", times, on)
	}
}

func TestLightDarkCycleIntensityChange(t *testing.T) {
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), map[string]string{
		"light_duration_minutes": "60", "dark_duration_minutes": "60"})
	next := u.a.NextRun()
	u.set("light_intensity", "20")
	if u.dc() != "20 20" {
		t.Errorf("intensity 20 while on: D C %s", u.dc())
	}
	if !u.a.NextRun().Equal(next) {
		t.Errorf("an intensity change moved the next boundary from %v to %v", next, u.a.NextRun())
	}
	u.runFor(61 * time.Minute) // dark now
	u.set("light_intensity", "70")
	if u.dc() != "0 0" {
		t.Errorf("intensity 70 while off: D C %s", u.dc())
	}
	u.runFor(60 * time.Minute)
	if u.dc() != "70 70" {
		t.Errorf("next light phase: D C %s, want 70", u.dc())
	}
}

func TestLightDarkCycleSleepAndWake(t *testing.T) {
	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), map[string]string{
		"light_duration_minutes": "60", "dark_duration_minutes": "60"})
	u.set("$state", "sleeping")
	if !u.a.NextRun().IsZero() {
		t.Error("sleeping kept the boundary timer")
	}
	u.runFor(90 * time.Minute)
	if u.dc() != "50 50" {
		t.Errorf("asleep through the boundary: D C %s, want unchanged", u.dc())
	}
	u.set("$state", "ready") // at 90 min: dark phase
	if u.dc() != "0 0" {
		t.Errorf("woken at 90 min: D C %s, want off", u.dc())
	}
	if want := ledEpoch.Add(120 * time.Minute); !u.a.NextRun().Equal(want) {
		t.Errorf("next run %v, want %v", u.a.NextRun(), want)
	}
}

func TestLightDarkCycleTurnsOffWhenStopped(t *testing.T) {
	for _, how := range []string{"disconnected", "cancel", "end of simulation"} {
		t.Run(how, func(t *testing.T) {
			u := newLEDUnit(t)
			u.driver.v["A"] = 0
			u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), nil)
			if u.dc() != "50 50" {
				t.Fatalf("D C %s at start", u.dc())
			}
			switch how {
			case "disconnected":
				u.set("$state", "disconnected")
			case "cancel":
				u.cancel()
				u.settle()
			case "end of simulation":
				u.clk.SetLimit(u.clk.Now().Add(time.Hour))
				u.clk.Run(context.Background())
			}
			if u.dc() != "0 0" || u.a.State() != runtime.Disconnected || u.runErr != nil {
				t.Errorf("after %s: D C %s, state %s, Run %v", how, u.dc(), u.a.State(), u.runErr)
			}
		})
	}
}

func TestLightDarkCycleRespectsLocks(t *testing.T) {
	u := newLEDUnit(t)
	ctl, err := leds.For(u.env)
	if err != nil {
		t.Fatal(err)
	}
	unlock := ctl.Lock("od_reading", "C")
	u.mustStart("light_dark_cycle", stdlibLED(t, "light_dark_cycle"), nil)
	u.runFor(time.Second) // D set; C tried 6 times, 0.5 s apart
	if u.dc() != "50 0" {
		t.Errorf("D C %s with C locked, want 50 0", u.dc())
	}
	unlock()
	u.cancel()
	u.settle()
	if u.dc() != "0 0" {
		t.Errorf("after stop: D C %s", u.dc())
	}
}

func TestLightDarkCycleInvalidSettings(t *testing.T) {
	src := stdlibLED(t, "light_dark_cycle")
	for _, tc := range []struct{ key, value, want string }{
		{"light_duration_minutes", "-60", "light_duration_minutes -60.0 is below the minimum 0"},
		{"dark_duration_minutes", "-1", "dark_duration_minutes -1.0 is below the minimum 0"},
		{"light_intensity", "120", "light_intensity 120.0: want a percentage from 0 to 100"},
		{"light_intensity", "bright", "light_intensity"},
		{"dark_duration_minutes", "nan", "dark_duration_minutes"},
	} {
		u := newLEDUnit(t)
		err := u.start("light_dark_cycle", src, map[string]string{tc.key: tc.value})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start with %s=%s: %v, want %q", tc.key, tc.value, err, tc.want)
		}
		if got := u.retained("led_automation", "$state"); got != "" {
			t.Errorf("a refused start published $state %q", got)
		}
	}

	u := newLEDUnit(t)
	u.mustStart("light_dark_cycle", src, nil)
	for _, tc := range []struct{ key, value, keep string }{
		{"light_duration_minutes", "-60", "960.0"},
		{"dark_duration_minutes", "eight hours", "480.0"},
		{"light_intensity", "101", "50.0"},
	} {
		u.set(tc.key, tc.value)
		if got := u.retained("led_automation", tc.key); got != tc.keep {
			t.Errorf("%s after /set %s: %q, want %s kept", tc.key, tc.value, got, tc.keep)
		}
	}
	var errs []string
	for _, p := range u.rec.Payloads(u.topic("logs", "led_automation", "error")) {
		errs = append(errs, p)
	}
	if len(errs) != 3 || !strings.Contains(errs[0], "light_duration_minutes -60.0 is below the minimum 0; light_duration_minutes stays 960.0") {
		t.Errorf("error logs %q", errs)
	}
	if u.dc() != "50 50" {
		t.Errorf("refused settings changed the LEDs: %s", u.dc())
	}
}

func TestLEDScriptLoadErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"automation_type = \"led\"\nsettings = {}\n", "defines execute()"},
		{"automation_type = \"led\"\ndef execute(x):\n    pass\n", "execute() must take no parameters"},
		{"automation_type = \"led\"\ndef execute():\n    pass\ndef on_setting_changed(name):\n    pass\n", "on_setting_changed must be a function of (name, value)"},
		{"automation_type = \"led\"\ndef execute():\n    pass\ndef check_x(v):\n    pass\n", `there is no setting "x"`},
		{"def execute():\n    set_led_intensity(\"A\", 1)\n", "set_led_intensity is a builtin of led automations"},
		{"automation_type = \"led\"\ndef execute():\n    add_media(1)\n", "add_media is a builtin of dosing automations"},
		{"automation_type = \"led\"\nset_led_intensity(\"A\", 1)\ndef execute():\n    pass\n", "only available while the automation runs"},
	} {
		_, err := LoadLED("prog.star", []byte(tc.src), "unit1", "exp1")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadLED(%q): %v, want %q", tc.src, err, tc.want)
		}
	}
	if _, err := LoadLED("prog.star", []byte("def execute():\n    pass\n"), "u", "e"); err == nil || !strings.Contains(err.Error(), "a dosing automation runs as dosing_automation") {
		t.Errorf("a dosing script loaded as a light program: %v", err)
	}
}

func TestLEDBuiltins(t *testing.T) {
	u := newLEDUnit(t)
	src := []byte(`automation_type = "led"
def execute():
    ok = set_led_intensity("B", 12.5)
    state = led_intensities()
    run_again_in(30)
    return fmt("%s %s", ok, state)
`)
	u.mustStart("prog", src, nil)
	if got := u.retained("led_automation", "latest_event"); !strings.Contains(got, `True {\"A\": 0.0, \"B\": 12.5, \"C\": 0.0, \"D\": 0.0}`) {
		t.Errorf("latest_event %s", got)
	}
	if want := ledEpoch.Add(30 * time.Second); !u.a.NextRun().Equal(want) {
		t.Errorf("next run %v, want %v", u.a.NextRun(), want)
	}
	for _, tc := range []struct{ call, want string }{
		{`set_led_intensity("E", 1)`, `unknown channel \"E\"`},
		{`set_led_intensity("A", 101)`, "intensity 101 for channel A: want a number from 0 to 100"},
		{`set_led_intensity("A", "x")`, "intensity: got string, want a number"},
		{`run_again_in(-1)`, "run_again_in: must be a finite number of seconds ≥ 0"},
		{`run_again_in(1e12)`, "more than 30 days"},
	} {
		u := newLEDUnit(t)
		src := fmt.Sprintf("automation_type = \"led\"\ndef execute():\n    %s\n", tc.call)
		u.mustStart("prog", []byte(src), nil)
		if got := u.retained("led_automation", "latest_event"); !strings.Contains(got, "ErrorOccurred") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: latest_event %s, want an error with %q", tc.call, got, tc.want)
		}
	}
}

// TestLEDDocsExamplesRun runs every Starlark example of docs/leds.md as a
// light program for a simulated hour.
func TestLEDDocsExamplesRun(t *testing.T) {
	b, err := os.ReadFile("../docs/leds.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```starlark\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 3 {
		t.Fatalf("found %d examples, want 3", len(blocks))
	}
	for i, m := range blocks {
		u := newLEDUnit(t)
		if err := u.start(fmt.Sprintf("example%d", i+1), []byte(m[1]), nil); err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		u.runFor(time.Hour)
		if u.a.Errors != 0 {
			t.Errorf("example %d: %d errors: %q", i+1, u.a.Errors, u.rec.Payloads(u.topic("logs", "led_automation", "error")))
		}
		switch i {
		case 0:
			if u.driver.Intensity("B") != 30 {
				t.Errorf("example 1: B = %v", u.driver.Intensity("B"))
			}
		case 1:
			n := 0
			for _, p := range u.rec.Payloads(u.topic("led_automation", "latest_event")) {
				if strings.Contains(p, "B at 0 %, C at 0 %") {
					n++
				}
			}
			if n != 7 {
				t.Errorf("example 2: %d events in an hour, want 7 (0 to 60 min, every 10)", n)
			}
		case 2:
			if u.driver.Intensity("C") != 60 {
				t.Errorf("example 3: C = %v after an hour, want 60", u.driver.Intensity("C"))
			}
			u.set("light_intensity", "40")
			u.runFor(time.Hour)
			if u.driver.Intensity("C") != 40 {
				t.Errorf("example 3: C = %v after the ramp to 40", u.driver.Intensity("C"))
			}
		}
	}
}
