package leds

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/runtime"
)

func mustSet(t *testing.T, c *Controller, changes map[string]float64) bool {
	t.Helper()
	ok, err := c.Set(context.Background(), changes, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestSetWritesPublishesAndLogs(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	if !mustSet(t, c, map[string]float64{"A": 10, "B": 5}) {
		t.Fatal("Set = false, want true")
	}
	if got := h.state(); got != "10 5 0 0" {
		t.Errorf("driver = %s, want 10 5 0 0", got)
	}
	want := map[string]float64{"A": 10, "B": 5, "C": 0, "D": 0}
	if got := c.Intensities(); !reflect.DeepEqual(got, want) {
		t.Errorf("Intensities() = %v, want %v", got, want)
	}
	m, ok := h.broker.Retained(h.topic("leds", "intensity"))
	if !ok || string(m.Payload) != `{"A": 10.0, "B": 5.0, "C": 0.0, "D": 0.0}` || m.QoS != 0 {
		t.Errorf("retained leds/intensity = %q (qos %d, %v), want the four channels at QoS 0", m.Payload, m.QoS, ok)
	}
	events := h.payloads("led_change_events")
	wantEv := []string{
		`{"channel":"A","intensity":10.0,"source_of_event":"test","timestamp":"2026-01-01T00:00:00Z"}`,
		`{"channel":"B","intensity":5.0,"source_of_event":"test","timestamp":"2026-01-01T00:00:00Z"}`,
	}
	if !reflect.DeepEqual(events, wantEv) {
		t.Errorf("led_change_events = %q, want %q", events, wantEv)
	}
	for _, m := range h.rec.Published(h.topic("led_change_events")) {
		if m.Retained {
			t.Error("led_change_events published retained")
		}
	}
	logs := h.logs("led_intensity", "info")
	wantLogs := []string{"Updated LED A from 0% to 10%.", "Updated LED B from 0% to 5%."}
	if !reflect.DeepEqual(logs, wantLogs) {
		t.Errorf("logs = %q, want %q", logs, wantLogs)
	}

	// A channel set to the value it has is not a change: no event, but the
	// state is published again.
	mustSet(t, c, map[string]float64{"A": 10, "C": 12.345})
	if n := len(h.payloads("led_change_events")); n != 3 {
		t.Errorf("%d change events after setting A to its value and C, want 3", n)
	}
	if got := h.logs("led_intensity", "info"); got[len(got)-1] != "Updated LED C from 0% to 12.3%." {
		t.Errorf("last log = %q", got[len(got)-1])
	}
	if n := len(h.payloads("leds", "intensity")); n != 2 {
		t.Errorf("leds/intensity published %d times, want 2", n)
	}
}

func TestChangeEventRoundTrip(t *testing.T) {
	ev := ChangeEvent{Channel: "D", Intensity: 42.5, At: epoch.Add(1500 * time.Millisecond)}
	b := ev.AppendJSON(nil)
	if string(b) != `{"channel":"D","intensity":42.5,"source_of_event":null,"timestamp":"2026-01-01T00:00:01.500000Z"}` {
		t.Errorf("encoded %s", b)
	}
	back, err := ParseChangeEvent(b)
	if err != nil || back != ev {
		t.Errorf("ParseChangeEvent = %+v, %v; want %+v", back, err, ev)
	}
	if _, err := ParseChangeEvent([]byte(`{"channel":"A"}`)); err == nil {
		t.Error("an event without intensity parsed")
	}
}

func TestInvalidInputChangesNothing(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	mustSet(t, c, map[string]float64{"A": 20})
	published := h.rec.Len()
	writes := h.leds.writes
	for _, tc := range []struct {
		changes map[string]float64
		want    string
	}{
		{map[string]float64{"Z": 10}, `unknown channel "Z"`},
		{map[string]float64{"B": 10, "Z": 10}, `unknown channel "Z"`},
		{map[string]float64{"A": -1}, "intensity -1 for channel A is below the minimum 0"},
		{map[string]float64{"A": 200}, "intensity 200 for channel A is above the maximum 100"},
		{map[string]float64{"B": 5, "A": math.NaN()}, "intensity NaN for channel A is not a finite number"},
		{map[string]float64{"C": math.Inf(1)}, "not a finite number"},
	} {
		ok, err := c.Set(context.Background(), tc.changes, "test")
		if ok || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%v) = %v, %v; want false and an error containing %q", tc.changes, ok, err, tc.want)
		}
		if _, err := c.Temporarily(context.Background(), tc.changes, "test"); err == nil {
			t.Errorf("Temporarily(%v) succeeded", tc.changes)
		}
	}
	if h.state() != "20 0 0 0" || h.leds.writes != writes || h.rec.Len() != published {
		t.Errorf("invalid input changed something: driver %s, %d writes (was %d), %d messages (was %d)",
			h.state(), h.leds.writes, writes, h.rec.Len(), published)
	}
	if got := c.Intensities()["A"]; got != 20 {
		t.Errorf("A = %v, want 20", got)
	}
}

func TestDriverErrorChangesNothing(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	mustSet(t, c, map[string]float64{"A": 20})
	published := h.rec.Len()
	h.leds.fail = errDAC
	ok, err := c.Set(context.Background(), map[string]float64{"A": 30, "B": 30}, "test")
	if ok || err == nil || !strings.Contains(err.Error(), "I2C write failed") {
		t.Fatalf("Set with a failing driver = %v, %v", ok, err)
	}
	h.leds.fail = nil
	if h.state() != "20 0 0 0" || c.Intensities()["A"] != 20 || h.rec.Len() != published {
		t.Errorf("a driver error changed something: driver %s, cache %v", h.state(), c.Intensities())
	}
}

func TestLockedChannelsAreDropped(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	mustSet(t, c, map[string]float64{"A": 20})
	unlock := c.Lock("od_reading", "A")
	if mustSet(t, c, map[string]float64{"A": 10}) {
		t.Error("Set of a locked channel = true")
	}
	if got := c.Intensities()["A"]; got != 20 {
		t.Errorf("locked A = %v, want 20", got)
	}
	if mustSet(t, c, map[string]float64{"A": 10, "B": 10}) {
		t.Error("Set with one locked channel = true")
	}
	if got := h.state(); got != "20 10 0 0" {
		t.Errorf("driver = %s, want A 20 (locked) and B 10", got)
	}
	if c.Locked("A") != "od_reading" || c.Locked("B") != "" {
		t.Errorf("Locked: A %q, B %q", c.Locked("A"), c.Locked("B"))
	}
	unlock()
	unlock() // a second call does nothing
	if !mustSet(t, c, map[string]float64{"A": 10}) || h.state() != "10 10 0 0" {
		t.Errorf("after unlock: driver %s", h.state())
	}
}

func TestNestedLocks(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	outer := c.Lock("od_reading", "A", "B")
	inner := c.Lock("od_reading", "A")
	other := c.Lock("someone_else", "B", "C")
	inner()
	if c.Locked("A") != "od_reading" {
		t.Error("an inner release unlocked the outer lock on A")
	}
	other()
	if c.Locked("B") != "od_reading" {
		t.Error("another owner's release unlocked B")
	}
	if c.Locked("C") != "" {
		t.Error("C stayed locked after its owner released it")
	}
	outer()
	for _, ch := range Channels {
		if c.Locked(ch) != "" {
			t.Errorf("%s still locked by %s", ch, c.Locked(ch))
		}
	}
}

func TestTemporarilyRestores(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	before := map[string]float64{"A": 20, "B": 30, "C": 40, "D": 50}
	mustSet(t, c, before)
	for _, changes := range []map[string]float64{
		{"A": 0, "B": 0, "C": 0, "D": 90},
		{"B": 1},
		{},
	} {
		restore, err := c.Temporarily(context.Background(), changes, "od_reading")
		if err != nil {
			t.Fatal(err)
		}
		for ch, v := range changes {
			if c.Intensities()[ch] != v {
				t.Errorf("during Temporarily(%v): %s = %v", changes, ch, c.Intensities()[ch])
			}
		}
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		if got := c.Intensities(); !reflect.DeepEqual(got, before) {
			t.Errorf("after Temporarily(%v): %v, want %v", changes, got, before)
		}
	}

	// restore works after the caller's context has ended.
	ctx, cancel := context.WithCancel(context.Background())
	restore, err := c.Temporarily(ctx, map[string]float64{"A": 99}, "od_reading")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := restore(); err != nil || c.Intensities()["A"] != 20 {
		t.Errorf("restore after cancel: %v, A = %v", err, c.Intensities()["A"])
	}

	// A locked channel: nothing stays changed, and the error says why.
	unlock := c.Lock("stirring", "C")
	_, err = c.Temporarily(context.Background(), map[string]float64{"B": 0, "C": 0}, "od_reading")
	if err == nil || !strings.Contains(err.Error(), "channel C is locked by stirring") {
		t.Errorf("Temporarily with C locked: %v", err)
	}
	unlock()
	if got := c.Intensities(); !reflect.DeepEqual(got, before) {
		t.Errorf("after a refused Temporarily: %v, want %v", got, before)
	}

	// An invalid temporary change: an error, nothing changed.
	if _, err := c.Temporarily(context.Background(), map[string]float64{"A": -10}, "x"); err == nil {
		t.Error("Temporarily(A: -10) succeeded")
	}
	if got := c.Intensities(); !reflect.DeepEqual(got, before) {
		t.Errorf("after an invalid Temporarily: %v", got)
	}
}

func TestCancelledContextIsRefused(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, err := c.Set(ctx, map[string]float64{"A": 1}, "x"); ok || err == nil {
		t.Errorf("Set on a cancelled context = %v, %v", ok, err)
	}
	if h.state() != "0 0 0 0" {
		t.Errorf("driver = %s", h.state())
	}
}

func TestOneControllerPerEnv(t *testing.T) {
	h := newHarness(t)
	a, b := h.controller(), h.controller()
	if a != b {
		t.Error("For returned two controllers for one Env")
	}
	h.leds.v["D"] = 7 // what the driver reports seeds a new controller
	Release(h.env)
	c := h.controller()
	if c == a || c.Intensities()["D"] != 7 {
		t.Errorf("after Release: same controller %v, D = %v", c == a, c.Intensities()["D"])
	}
}

func TestBoardWithoutLEDs(t *testing.T) {
	h := newHarness(t)
	env := &runtime.Env{Unit: "unit1", Experiment: "exp1", Sched: h.clk, Connect: h.env.Connect,
		Board: sim.New(h.clk, sim.Options{}), Config: config.New()}
	if _, ok := env.Board.(hw.Sensors); ok {
		t.Skip("the simulated reactor has sensors now")
	}
	_, err := For(env)
	if err == nil || !strings.Contains(err.Error(), "has no sensors") {
		t.Errorf("For on a board without sensors: %v", err)
	}
	_, err = RunAction(context.Background(), env, map[string]float64{"A": 1}, "CLI")
	if err == nil {
		t.Error("RunAction on a board without sensors succeeded")
	}
}

func TestRunAction(t *testing.T) {
	h := newHarness(t)
	ok, err := RunAction(context.Background(), h.env, map[string]float64{"A": 10, "B": 5}, "CLI")
	if !ok || err != nil || h.state() != "10 5 0 0" {
		t.Fatalf("RunAction = %v, %v; driver %s", ok, err, h.state())
	}
	if ev := h.payloads("led_change_events"); len(ev) != 2 || !strings.Contains(ev[0], `"source_of_event":"CLI"`) {
		t.Errorf("events %q", ev)
	}
	if _, err := RunAction(context.Background(), h.env, map[string]float64{"E": 5}, "CLI"); err == nil {
		t.Error("RunAction with channel E succeeded")
	}
	if logs := h.logs("led_intensity", "error"); len(logs) != 1 || !strings.Contains(logs[0], `unknown channel`) {
		t.Errorf("error logs %q", logs)
	}
	unlock := h.controller().Lock("od_reading", "A")
	defer unlock()
	ok, err = RunAction(context.Background(), h.env, map[string]float64{"A": 1, "B": 1}, "CLI")
	if ok || err != nil || h.state() != "10 1 0 0" {
		t.Errorf("RunAction with A locked = %v, %v; driver %s", ok, err, h.state())
	}
	if logs := h.logs("led_intensity", "warning"); len(logs) != 1 || !strings.Contains(logs[0], "channel A is locked by od_reading") {
		t.Errorf("warning logs %q", logs)
	}
}

func TestLabels(t *testing.T) {
	// Every key of [leds] in Defaults is read.
	cfg := config.New()
	labels, err := Labels(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range cfg.Section(Section).Keys() {
		if _, ok := labels[key]; !ok {
			t.Errorf("[leds] %s is not read", key)
		}
	}
	if labels["A"] != "IR" || labels["B"] != "white_light" || len(labels) != 2 {
		t.Errorf("default labels %v", labels)
	}
	if ch, err := ChannelOf(cfg, "IR"); ch != "A" || err != nil {
		t.Errorf("ChannelOf(IR) = %q, %v", ch, err)
	}
	if _, err := ChannelOf(cfg, "UV"); err == nil || !strings.Contains(err.Error(), "no LED channel is labelled UV") {
		t.Errorf("ChannelOf(UV): %v", err)
	}
	for _, tc := range []struct{ key, value, want string }{
		{"E", "UV", "E is not an LED channel"},
		{"C", "blue light", `label "blue light"`},
		{"C", "IR", "label IR is already the label of channel A"},
	} {
		cfg := config.New()
		cfg.Set(Section, tc.key, tc.value)
		_, err := Labels(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("[leds] %s=%s: %v, want %q", tc.key, tc.value, err, tc.want)
		}
	}
}

func TestQuietPublishesStateOnly(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	q := c.Quiet()
	restore, err := q.Temporarily(context.Background(), map[string]float64{"A": 80, "B": 0}, "od_reading")
	if err != nil {
		t.Fatal(err)
	}
	if h.state() != "80 0 0 0" || c.Intensities()["A"] != 80 {
		t.Errorf("quiet change not applied: driver %s, cache %v", h.state(), c.Intensities())
	}
	unlock := q.Lock("od_reading", "C")
	if c.Locked("C") != "od_reading" {
		t.Error("a quiet view's lock is not the unit's")
	}
	unlock()
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.payloads("led_change_events")); n != 0 {
		t.Errorf("%d change events from a quiet controller", n)
	}
	if n := len(h.logs("led_intensity", "info")); n != 0 {
		t.Errorf("%d log lines from a quiet controller", n)
	}
	if got := h.payloads("leds", "intensity"); len(got) != 2 || got[0] != `{"A": 80.0, "B": 0.0, "C": 0.0, "D": 0.0}` {
		t.Errorf("leds/intensity %q", got)
	}
	mustSet(t, c, map[string]float64{"D": 1})
	if n := len(h.payloads("led_change_events")); n != 1 {
		t.Errorf("the verbose controller published %d events after a quiet view was made", n)
	}
}
