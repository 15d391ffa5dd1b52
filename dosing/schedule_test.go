package dosing

import (
	"context"
	"errors"
	"github.com/piolab/pio/payload"
	"strings"
	"testing"
	"time"
)

// runTimes runs p until the virtual clock reaches limit and returns when
// execute() ran, as offsets from the start.
func runTimes(t *testing.T, h *harness, p *fakeProgram, limit time.Duration, setup func(a *Automation)) []time.Duration {
	t.Helper()
	var runs []time.Duration
	inner := p.exec
	p.exec = func(ctx context.Context, a *Automation) (*payload.Event, error) {
		runs = append(runs, h.clk.Now().Sub(epoch))
		if inner != nil {
			return inner(ctx, a)
		}
		return nil, nil
	}
	a := h.start(p)
	if setup != nil {
		setup(a)
	}
	h.clk.SetLimit(epoch.Add(limit))
	if err := h.run(a, context.Background()); err != nil {
		t.Fatal(err)
	}
	return runs
}

func durations(ds ...string) []time.Duration {
	var out []time.Duration
	for _, d := range ds {
		v, _ := time.ParseDuration(d)
		out = append(out, v)
	}
	return out
}

func sameDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var twentyMinutes = []SettingDecl{{Name: "duration", Datatype: payload.TypeFloat, Default: 20.0}}

func TestScheduleFirstRunAfterTwoSecondsThenGrid(t *testing.T) {
	h := newHarness(t)
	slow := func(ctx context.Context, a *Automation) (*payload.Event, error) {
		// A run that takes 25 minutes skips a grid point instead of drifting.
		if len(a.prog.(*fakeProgram).recorded()) == 0 && h.clk.Now().Sub(epoch) > 30*time.Minute && h.clk.Now().Sub(epoch) < 50*time.Minute {
			_ = h.clk.SleepUntil(ctx, h.clk.Now().Add(25*time.Minute))
		}
		return nil, nil
	}
	runs := runTimes(t, h, &fakeProgram{settings: twentyMinutes, exec: slow}, 2*time.Hour, nil)
	want := durations("2s", "20m2s", "40m2s", "1h20m2s", "1h40m2s")
	if !sameDurations(runs, want) {
		t.Errorf("runs at %v, want %v", runs, want)
	}
}

func TestScheduleSkipsRunsWhileSleeping(t *testing.T) {
	h := newHarness(t)
	h.clk.At(epoch.Add(10*time.Minute), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/$state/set", "sleeping") })
	h.clk.At(epoch.Add(50*time.Minute), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/$state/set", "ready") })
	runs := runTimes(t, h, &fakeProgram{settings: twentyMinutes}, time.Hour+5*time.Minute, nil)
	if want := durations("2s", "1h0m2s"); !sameDurations(runs, want) {
		t.Errorf("runs at %v, want %v", runs, want)
	}
}

func TestDurationChangeBeforeFirstRunRunsNow(t *testing.T) {
	h := newHarness(t)
	h.clk.At(epoch.Add(time.Second), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/duration/set", "0.05") })
	runs := runTimes(t, h, &fakeProgram{settings: twentyMinutes}, 8*time.Second, nil)
	if want := durations("1s", "4s", "7s"); !sameDurations(runs, want) {
		t.Errorf("runs at %v, want %v (an immediate run, then every 3 s)", runs, want)
	}
}

func TestDurationChangeAfterARunCountsFromTheLastRun(t *testing.T) {
	h := newHarness(t)
	h.clk.At(epoch.Add(5*time.Minute), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/duration/set", "10") })
	h.clk.At(epoch.Add(40*time.Minute), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/duration/set", "1") })
	runs := runTimes(t, h, &fakeProgram{settings: twentyMinutes}, 42*time.Minute+30*time.Second, nil)
	want := durations("2s", "10m2s", "20m2s", "30m2s", "40m0s", "41m0s", "42m0s")
	if !sameDurations(runs, want) {
		t.Errorf("runs at %v, want %v", runs, want)
	}
}

// A duration out of its bounds is refused, on /set and at start: 1e-300 once
// divided by zero, 1e-9 ran execute() thousands of times a second, and 1e308
// overflowed the period.
func TestDurationRejectsOutOfBounds(t *testing.T) {
	h := newHarness(t)
	for _, bad := range []string{"0", "-1", "-0.1", "abc", "1e-300", "1e-9", "1e-12", "0.01", "1e308", "43201", "inf"} {
		bad := bad
		h.clk.At(epoch.Add(time.Minute), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/duration/set", bad) })
	}
	var a *Automation
	runs := runTimes(t, h, &fakeProgram{settings: twentyMinutes}, 45*time.Minute, func(x *Automation) { a = x })
	if want := durations("2s", "20m2s", "40m2s"); !sameDurations(runs, want) {
		t.Errorf("runs at %v, want %v", runs, want)
	}
	if v, _ := a.Setting("duration"); v != 20.0 {
		t.Errorf("duration = %v, want 20", v)
	}
	if !h.logged("ERROR", "duration must be from 0.0167 (1 s) to 43200.0 minutes (30 days), got 1e-300") {
		t.Error("no error log for duration 1e-300")
	}
	for _, bad := range []string{"0", "1e-12", "1e308"} {
		_, err := Start(newHarness(t).env, Options{Program: &fakeProgram{settings: twentyMinutes}, Overrides: map[string]string{"duration": bad}})
		if err == nil || !strings.Contains(err.Error(), "setting duration: duration must be from 0.0167 (1 s) to 43200.0 minutes (30 days), got") {
			t.Errorf("--duration %s: %v", bad, err)
		}
	}
}

func TestNoDurationRunsOnceThenEnds(t *testing.T) {
	h := newHarness(t)
	runs := runTimes(t, h, &fakeProgram{}, 24*time.Hour, nil)
	if want := durations("2s"); !sameDurations(runs, want) {
		t.Errorf("runs at %v, want %v", runs, want)
	}
	if h.clk.Now().Sub(epoch) != 2*time.Second {
		t.Errorf("the job outlived its one run: now %v", h.clk.Now().Sub(epoch))
	}
	if got := h.payloads("pioreactor/unit1/exp1/dosing_automation/$state"); got[len(got)-1] != "disconnected" {
		t.Errorf("$state %v", got)
	}
}

func TestExecuteErrorIsPublishedAndTheJobContinues(t *testing.T) {
	h := newHarness(t)
	boom := func(ctx context.Context, a *Automation) (*payload.Event, error) {
		return nil, errors.New("demo.star:3:5: boom")
	}
	var a *Automation
	runs := runTimes(t, h, &fakeProgram{settings: twentyMinutes, exec: boom}, 45*time.Minute, func(x *Automation) { a = x })
	if len(runs) != 3 || a.Errors != 3 {
		t.Errorf("runs %v, errors %d; want 3 and 3", runs, a.Errors)
	}
	ev := latestEvents(h)
	if len(ev) == 0 || ev[len(ev)-1].Name != payload.EventErrorOccurred || ev[len(ev)-1].Message != "demo.star:3:5: boom" {
		t.Errorf("latest_event %v", ev)
	}
	if !h.logged("ERROR", "demo.star:3:5: boom") {
		t.Error("the error was not logged")
	}
}

func TestCancelStopsPumpAndDisconnects(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	long := func(ctx context.Context, a *Automation) (*payload.Event, error) {
		_, err := a.Pump(ctx, "media", ptr(20), nil)
		return nil, err
	}
	a := h.start(&fakeProgram{exec: long})
	h.clk.At(epoch.Add(10*time.Second), cancel) // Ctrl-C, 8 s into the pump
	if err := h.run(a, ctx); err != nil {
		t.Fatal(err)
	}
	tr := h.reactor.DutyTrace()
	if last := tr[len(tr)-1]; last.Duty != 0 || last.At != epoch.Add(10*time.Second) {
		t.Errorf("pump state at the end %+v, want off at 10 s", last)
	}
	if got := sum(h.eventVolumes("add_media")); got != 8 {
		t.Errorf("add_media events sum %v, want 8 (what moved)", got)
	}
	// Said in the lab's words, not as "context canceled".
	if !h.logged("NOTICE", "The job was stopped during execute(): every pump is off; this run moved add_media 8.0 mL.") {
		t.Error("no line saying the run was stopped, the pumps are off and what moved")
	}
	if got := h.payloads("pioreactor/unit1/exp1/dosing_automation/$state"); got[len(got)-1] != "disconnected" {
		t.Errorf("$state %v", got)
	}
	if got := h.payloads("pioreactor/unit1/exp1/add_media/$state"); got[len(got)-1] != "disconnected" {
		t.Errorf("add_media $state %v", got)
	}
}

func TestDisconnectOverMQTTStopsAPumpMidDose(t *testing.T) {
	h := newHarness(t)
	long := func(ctx context.Context, a *Automation) (*payload.Event, error) {
		_, err := a.ExecuteIOAction(ctx, 0.9, []payload.Dose{{Key: "media_ml", ML: 0.9}}, nil)
		return nil, err
	}
	a := h.start(&fakeProgram{exec: long})
	h.clk.At(epoch.Add(2500*time.Millisecond), func() { h.publish("pioreactor/unit1/exp1/dosing_automation/$state/set", "disconnected") })
	if err := h.run(a, context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sum(h.eventVolumes("add_media")); got != 0.5 {
		t.Errorf("add_media sum %v, want 0.5 (stopped after 0.5 s)", got)
	}
	if n := len(h.eventVolumes("remove_waste")); n != 0 {
		t.Errorf("%d waste events after the stop", n)
	}
	if tr := h.reactor.DutyTrace(); tr[len(tr)-1].Duty != 0 {
		t.Error("pump left on")
	}
}
