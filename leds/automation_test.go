package leds

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// program is a Go light program for tests.
type program struct {
	name     string
	settings []automation.SettingDecl
	exec     func(ctx context.Context, a *Automation) (*payload.Event, error)
	changed  func(ctx context.Context, a *Automation, name string) (*payload.Event, error)
	runs     []time.Duration // since epoch
	changes  []string
}

func (p *program) Name() string {
	if p.name == "" {
		return "test_program"
	}
	return p.name
}
func (p *program) Settings() []automation.SettingDecl { return p.settings }
func (p *program) CheckSetting(name string, v any) (any, error) {
	if f, ok := automation.ToFloat(v); ok && f < 0 {
		return nil, fmt.Errorf("%s %v is below the minimum 0", name, v)
	}
	return v, nil
}
func (p *program) Execute(ctx context.Context, a *Automation) (*payload.Event, error) {
	p.runs = append(p.runs, a.Env().Sched.Now().Sub(epoch))
	if p.exec == nil {
		return nil, nil
	}
	return p.exec(ctx, a)
}
func (p *program) SettingChanged(ctx context.Context, a *Automation, name string) (*payload.Event, error) {
	p.changes = append(p.changes, name)
	if p.changed == nil {
		return nil, nil
	}
	return p.changed(ctx, a, name)
}

// start starts the automation and runs it as an actor; the returned func
// cancels it.
func (h *harness) start(p Program, overrides map[string]string) (*Automation, context.CancelFunc, *error) {
	h.t.Helper()
	a, err := StartAutomation(h.env, AutomationOptions{Program: p, Overrides: overrides})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	h.clk.Go("led_automation", func() { runErr = a.Run(ctx) })
	return a, cancel, &runErr
}

func (h *harness) runFor(d time.Duration) {
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(d))
}

func lightProgram() *program {
	p := &program{settings: []automation.SettingDecl{{Name: "light_intensity", Datatype: payload.TypeFloat, Default: 50.0}}}
	p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
		v, _ := a.Setting("light_intensity")
		for _, ch := range []string{"D", "C"} {
			if _, err := a.SetLEDIntensity(ctx, ch, v.(float64)); err != nil {
				return nil, err
			}
		}
		return &payload.Event{Name: "ChangedLedIntensity", Message: "on"}, nil
	}
	return p
}

func TestAutomationPublishesAndTurnsOffOnEveryExit(t *testing.T) {
	for _, exit := range []string{"cancel", "disconnected", "end of simulation", "close before run"} {
		t.Run(exit, func(t *testing.T) {
			h := newHarness(t)
			p := lightProgram()
			if exit == "close before run" {
				a, err := StartAutomation(h.env, AutomationOptions{Program: p})
				if err != nil {
					t.Fatal(err)
				}
				a.Close()
				if err := a.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				if len(p.runs) != 0 || h.state() != "0 0 0 0" {
					t.Errorf("a closed automation ran: runs %v, LEDs %s", p.runs, h.state())
				}
				return
			}
			a, cancel, runErr := h.start(p, nil)
			defer cancel()
			h.settle()
			if h.state() != "0 0 50 50" {
				t.Fatalf("LEDs %s after start, want C and D at 50", h.state())
			}
			if got, _ := h.broker.Retained(h.topic(JobName, "automation_name")); string(got.Payload) != "test_program" {
				t.Errorf("automation_name %q", got.Payload)
			}
			if got, _ := h.broker.Retained(h.topic(JobName, "latest_event")); string(got.Payload) != `{"event_name":"ChangedLedIntensity","message":"on","data":null}` {
				t.Errorf("latest_event %q", got.Payload)
			}
			if got, _ := h.broker.Retained(h.topic(JobName, "light_intensity")); string(got.Payload) != "50.0" {
				t.Errorf("light_intensity %q", got.Payload)
			}
			if got := a.Edited(); fmt.Sprint(got) != "[C D]" {
				t.Errorf("Edited() = %v", got)
			}
			switch exit {
			case "cancel":
				cancel()
				h.settle()
			case "disconnected":
				h.set(h.topic(JobName, "$state", "set"), "disconnected")
			case "end of simulation":
				h.clk.SetLimit(h.clk.Now().Add(time.Hour))
				h.clk.Run(context.Background())
			}
			if *runErr != nil {
				t.Errorf("Run: %v", *runErr)
			}
			if a.State() != runtime.Disconnected {
				t.Errorf("state %s after %s", a.State(), exit)
			}
			if h.state() != "0 0 0 0" {
				t.Errorf("LEDs %s after %s, want all off", h.state(), exit)
			}
			ev := h.payloads("led_change_events")
			if last := ev[len(ev)-1]; !strings.Contains(last, `"intensity":0.0,"source_of_event":"led_automation:test_program"`) {
				t.Errorf("last change event %s", last)
			}
		})
	}
}

func TestAutomationLeavesOtherChannelsAlone(t *testing.T) {
	h := newHarness(t)
	c := h.controller()
	mustSet(t, c, map[string]float64{"A": 80}) // the IR LED, not the program's
	_, cancel, _ := h.start(lightProgram(), nil)
	h.settle()
	cancel()
	h.settle()
	if h.state() != "80 0 0 0" {
		t.Errorf("LEDs %s, want A (not the program's) still 80", h.state())
	}
}

func TestSetLEDIntensityRespectsLocks(t *testing.T) {
	h := newHarness(t)
	p := &program{}
	a, cancel, _ := h.start(p, nil)
	defer cancel()
	h.settle()
	var results []bool
	var spent []time.Duration
	try := func() {
		t0 := h.clk.Now()
		ok, err := a.SetLEDIntensity(context.Background(), "B", 1)
		if err != nil {
			t.Error(err)
		}
		results = append(results, ok)
		spent = append(spent, h.clk.Now().Sub(t0))
	}
	h.do(try)
	unlock := a.LEDs().Lock("od_reading", "B")
	h.do(try)
	unlock()
	h.do(try)
	if fmt.Sprint(results) != "[true false true]" {
		t.Errorf("results %v, want [true false true]", results)
	}
	if spent[1] != 5*RetryPause || spent[0] != 0 {
		t.Errorf("time spent %v: want 0, then %d retries %v apart", spent, Retries, RetryPause)
	}
	found := false
	for _, l := range h.logs(JobName, "warning") {
		if strings.Contains(l, "was unable to update channel B") && strings.Contains(l, "locked by od_reading") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning about channel B: %q", h.logs(JobName, "warning"))
	}
	for _, bad := range []struct {
		ch string
		v  float64
	}{{"E", 1}, {"A", 101}, {"A", -1}} {
		var err error
		h.do(func() { _, err = a.SetLEDIntensity(context.Background(), bad.ch, bad.v) })
		if err == nil {
			t.Errorf("SetLEDIntensity(%s, %v) succeeded", bad.ch, bad.v)
		}
	}
}

func TestRunAgainInAndSleep(t *testing.T) {
	h := newHarness(t)
	p := &program{}
	p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
		a.RunAgainIn(10 * time.Second)
		return nil, nil
	}
	a, cancel, _ := h.start(p, nil)
	defer cancel()
	h.runFor(35 * time.Second)
	if fmt.Sprint(p.runs) != "[0s 10s 20s 30s]" {
		t.Errorf("runs %v, want every 10 s from 0", p.runs)
	}
	h.set(h.topic(JobName, "$state", "set"), "sleeping")
	h.runFor(60 * time.Second)
	if len(p.runs) != 4 || !a.NextRun().IsZero() {
		t.Errorf("runs while sleeping: %v (next %v)", p.runs, a.NextRun())
	}
	h.set(h.topic(JobName, "$state", "set"), "ready") // at 95 s: wakes and evaluates
	h.runFor(12 * time.Second)
	if fmt.Sprint(p.runs) != "[0s 10s 20s 30s 1m35s 1m45s]" {
		t.Errorf("runs after waking %v", p.runs)
	}

	// The shortest wait is MinWake.
	p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
		a.RunAgainIn(0)
		return nil, nil
	}
	before := len(p.runs)
	h.runFor(10 * time.Second) // the pending 10 s run, then every 50 ms
	if n := len(p.runs) - before; n != 41 {
		t.Errorf("%d runs from 115 s to 117 s at the shortest wait, want 41", n)
	}
	last := p.runs[len(p.runs)-1] - p.runs[len(p.runs)-2]
	if last != MinWake {
		t.Errorf("gap %v, want %v", last, MinWake)
	}
	p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
		a.RunAgainIn(-1) // cancels
		return nil, nil
	}
	h.runFor(time.Second)
	before = len(p.runs)
	h.runFor(time.Hour)
	if len(p.runs) != before {
		t.Errorf("ran %d times after cancelling its next run", len(p.runs)-before)
	}
}

func TestDurationProgram(t *testing.T) {
	h := newHarness(t)
	p := &program{settings: []automation.SettingDecl{{Name: "duration", Datatype: payload.TypeFloat, Default: 1.0}}}
	_, cancel, _ := h.start(p, nil)
	defer cancel()
	h.runFor(150 * time.Second)
	if fmt.Sprint(p.runs) != "[0s 1m0s 2m0s]" {
		t.Errorf("runs %v, want every minute", p.runs)
	}
	h.set(h.topic(JobName, "duration", "set"), "0.5") // at 150 s: last run 120 s, next 150 s
	h.runFor(40 * time.Second)
	if fmt.Sprint(p.runs) != "[0s 1m0s 2m0s 2m30s 3m0s]" {
		t.Errorf("runs after duration 0.5: %v", p.runs)
	}
	if fmt.Sprint(p.changes) != "[duration]" {
		t.Errorf("SettingChanged calls %v", p.changes)
	}
	h.set(h.topic(JobName, "duration", "set"), "-1")
	if got, _ := h.broker.Retained(h.topic(JobName, "duration")); string(got.Payload) != "0.5" {
		t.Errorf("duration %q after a refused -1, want 0.5", got.Payload)
	}
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	h := newHarness(t)
	p := lightProgram()
	for _, tc := range []struct{ value, want string }{
		{"-5", "light_intensity -5 is below the minimum 0"},
		{"bright", "light_intensity"},
	} {
		_, err := StartAutomation(h.env, AutomationOptions{Program: p, Overrides: map[string]string{"light_intensity": tc.value}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start with light_intensity %s: %v, want %q", tc.value, err, tc.want)
		}
	}
	if _, err := StartAutomation(h.env, AutomationOptions{Program: p, Overrides: map[string]string{"colour": "red"}}); err == nil {
		t.Error("start with an unknown setting succeeded")
	}
	if len(h.rec.Published(h.topic(JobName, "$state"))) != 0 {
		t.Error("a refused start published $state")
	}

	_, cancel, _ := h.start(p, map[string]string{"light_intensity": "40"})
	defer cancel()
	h.settle()
	for _, bad := range []string{"-5", "bright", "nan"} {
		h.set(h.topic(JobName, "light_intensity", "set"), bad)
		if got, _ := h.broker.Retained(h.topic(JobName, "light_intensity")); string(got.Payload) != "40.0" {
			t.Errorf("light_intensity %q after /set %s, want 40.0 kept", got.Payload, bad)
		}
	}
	if errs := h.logs(JobName, "error"); len(errs) != 3 || !strings.Contains(errs[0], "below the minimum 0") || !strings.Contains(errs[0], "light_intensity stays 40.0") {
		t.Errorf("error logs %q", errs)
	}
	if len(p.changes) != 0 {
		t.Errorf("refused values reached the program: %v", p.changes)
	}
	h.set(h.topic(JobName, "light_intensity", "set"), "30")
	if fmt.Sprint(p.changes) != "[light_intensity]" {
		t.Errorf("changes %v", p.changes)
	}
	if n := len(h.payloads(JobName, JobName+"_settings")); n != 2 {
		t.Errorf("%d settings-history records, want 2 (start, change)", n)
	}
}

func TestAutomationErrorsBecomeEvents(t *testing.T) {
	h := newHarness(t)
	p := &program{exec: func(ctx context.Context, a *Automation) (*payload.Event, error) {
		return nil, fmt.Errorf("light.star:3:5: boom")
	}}
	a, cancel, _ := h.start(p, nil)
	defer cancel()
	h.settle()
	if got, _ := h.broker.Retained(h.topic(JobName, "latest_event")); !strings.Contains(string(got.Payload), `"event_name":"ErrorOccurred","message":"light.star:3:5: boom"`) {
		t.Errorf("latest_event %q", got.Payload)
	}
	if a.Errors != 1 || a.State() != runtime.Ready {
		t.Errorf("errors %d, state %s", a.Errors, a.State())
	}
}

func TestSecondAutomationIsRefused(t *testing.T) {
	h := newHarness(t)
	_, cancel, _ := h.start(&program{}, nil)
	defer cancel()
	h.settle()
	if _, err := StartAutomation(h.env, AutomationOptions{Program: &program{}}); err == nil || !strings.Contains(err.Error(), "led_automation") {
		t.Errorf("second automation: %v", err)
	}
}
