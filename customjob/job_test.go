package customjob

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

func every(seconds float64, run func(ctx context.Context, j *Job) error) *fakeProgram {
	return &fakeProgram{name: "ph_reading", settings: []automation.SettingDecl{intervalDecl(seconds)}, run: run}
}

func ok(context.Context, *Job) error { return nil }

func TestRunsEveryIntervalAndStopsOnDisconnected(t *testing.T) {
	h := newHarness(t)
	p := every(10, ok)
	j := h.start(p, nil)
	h.advance(35 * time.Second)
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}
	if got := p.runTimes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("runs at %v, want %v", got, want)
	}
	if got := h.last("ph_reading/$state"); got != "ready" {
		t.Errorf("$state %s", got)
	}
	if got := h.payloads("ph_reading/interval"); len(got) != 1 || got[0] != "10.0" {
		t.Errorf("interval published %q, want [10.0]", got)
	}
	if m := h.rec.Published("pioreactor/u1/e1/ph_reading/interval"); !m[0].Retained || m[0].QoS != 2 {
		t.Errorf("interval published retained=%v qos=%d, want retained at QoS 2", m[0].Retained, m[0].QoS)
	}
	h.set("ph_reading/$state/set", "disconnected")
	h.advance(time.Minute)
	if !h.ended || h.runErr != nil {
		t.Fatalf("Run ended %v with %v", h.ended, h.runErr)
	}
	if j.State() != runtime.Disconnected || h.last("ph_reading/$state") != "disconnected" {
		t.Errorf("state %s, published %s", j.State(), h.last("ph_reading/$state"))
	}
	if got := h.last("ph_reading/interval"); got != "" {
		t.Errorf("interval %q after the job stopped, want it cleared", got)
	}
	if n := len(p.runTimes()); n != 4 {
		t.Errorf("%d runs, want no run after the stop", n)
	}
}

func TestSleepingPausesRunAndHandlers(t *testing.T) {
	h := newHarness(t)
	p := every(10, ok)
	p.subs = []string{"od_reading/ods"}
	h.start(p, nil)
	h.advance(5 * time.Second) // run at 0
	h.set("ph_reading/$state/set", "sleeping")
	h.set("od_reading/ods", "asleep")
	h.advance(30 * time.Second) // 10, 20, 30 skipped
	if got := h.last("ph_reading/$state"); got != "sleeping" {
		t.Fatalf("$state %s", got)
	}
	h.set("ph_reading/$state/set", "ready")
	h.set("od_reading/ods", "awake")
	h.advance(10 * time.Second) // 40
	want := []time.Duration{0, 40 * time.Second}
	if got := p.runTimes(); !reflect.DeepEqual(got, want) {
		t.Errorf("runs at %v, want %v (none while sleeping)", got, want)
	}
	if !reflect.DeepEqual(p.handled, []string{"awake"}) {
		t.Errorf("handled %q, want only the message sent while ready", p.handled)
	}
}

func TestSetIntervalReschedules(t *testing.T) {
	h := newHarness(t)
	p := every(10, ok)
	h.start(p, nil)
	h.advance(15 * time.Second) // runs at 0, 10
	h.set("ph_reading/interval/set", "60")
	h.advance(2 * time.Minute) // one new period after the last run: 70, 130
	want := []time.Duration{0, 10 * time.Second, 70 * time.Second, 130 * time.Second}
	if got := p.runTimes(); !reflect.DeepEqual(got, want) {
		t.Errorf("runs at %v, want %v", got, want)
	}
	if got := h.last("ph_reading/interval"); got != "60.0" {
		t.Errorf("interval %s", got)
	}
	for _, bad := range []string{"0", "-5", "1e9", "nan", "x"} {
		h.set("ph_reading/interval/set", bad)
		if got := h.last("ph_reading/interval"); got != "60.0" {
			t.Errorf("after /set %s: interval %s, want it unchanged", bad, got)
		}
	}
	if !h.logged("ERROR", "interval must be from 0.1 to 1000000.0 seconds, got 0") {
		t.Errorf("no error for interval 0:\n%s", h.logs())
	}
}

func TestCheckSettingRefusesASet(t *testing.T) {
	h := newHarness(t)
	p := every(10, ok)
	p.settings = append(p.settings, automation.SettingDecl{Name: "target_ph", Datatype: payload.TypeFloat, Default: 7.0})
	p.check = func(name string, v any) (any, error) {
		if name == "target_ph" && v.(float64) > 14 {
			return nil, errors.New("pH runs from 0 to 14")
		}
		return v, nil
	}
	h.start(p, nil)
	h.set("ph_reading/target_ph/set", "15")
	h.set("ph_reading/target_ph/set", "6.5")
	if got := h.payloads("ph_reading/target_ph"); !reflect.DeepEqual(got, []string{"7.0", "6.5"}) {
		t.Errorf("target_ph published %q", got)
	}
	if !h.logged("ERROR", "pH runs from 0 to 14; target_ph stays 7.0") {
		t.Errorf("logs:\n%s", h.logs())
	}
}

func TestFailuresAreLoggedCountedAndTheJobGoesOn(t *testing.T) {
	h := newHarness(t)
	n := 0
	p := every(10, func(context.Context, *Job) error {
		n++
		if n%2 == 1 {
			return fmt.Errorf("ph.star:7:9: probe: no reply")
		}
		return nil
	})
	j := h.start(p, nil)
	h.advance(45 * time.Second) // runs at 0..40: 3 failures
	if j.Failures() != 3 || len(p.runTimes()) != 5 {
		t.Errorf("failures %d, runs %d; want 3 of 5", j.Failures(), len(p.runTimes()))
	}
	if !h.logged("ERROR", "ph.star:7:9: probe: no reply") {
		t.Errorf("logs:\n%s", h.logs())
	}
	if j.State() != runtime.Ready {
		t.Errorf("state %s", j.State())
	}
}

func TestStopMidRunCancelsIt(t *testing.T) {
	h := newHarness(t)
	var runErr error
	p := every(100, func(ctx context.Context, j *Job) error {
		runErr = sleepFor(ctx, j, 50*time.Second)
		return runErr
	})
	j := h.start(p, nil)
	h.advance(10 * time.Second)
	h.set("ph_reading/$state/set", "disconnected")
	h.advance(0)
	if !h.ended || !errors.Is(runErr, context.Canceled) {
		t.Fatalf("ended %v, the run's wait returned %v; want it cancelled at once", h.ended, runErr)
	}
	if now := h.clk.Now().Sub(epoch); now != 10*time.Second {
		t.Errorf("stopped at %v", now)
	}
	if j.Failures() != 0 || !h.logged("NOTICE", "The job was stopped during run().") {
		t.Errorf("failures %d, logs:\n%s", j.Failures(), h.logs())
	}
}

func TestRunAndHandlersNeverOverlap(t *testing.T) {
	h := newHarness(t)
	p := every(10, func(ctx context.Context, j *Job) error { return sleepFor(ctx, j, 4*time.Second) })
	p.subs = []string{"od_reading/ods", "pioreactor/u1/e1/stirring/+"}
	p.handle = func(ctx context.Context, j *Job, m pubsub.Message) error { return sleepFor(ctx, j, time.Second) }
	h.start(p, nil)
	for i := range 20 {
		at := epoch.Add(time.Duration(i) * 1500 * time.Millisecond)
		segs := []string{"od_reading/ods", "stirring/target_rpm"}[i%2]
		h.clk.At(at, func() { _ = h.ctl.Publish("pioreactor/u1/e1/"+segs, []byte(fmt.Sprint(i)), 1, false) })
	}
	h.advance(time.Minute)
	if p.overlap {
		t.Fatal("run() and a handler ran at the same time")
	}
	if len(p.handled) != 20 {
		t.Errorf("handled %d messages, want 20", len(p.handled))
	}
	if len(p.runTimes()) < 4 {
		t.Errorf("runs %v", p.runTimes())
	}
}

func TestPublishTopicsAndPayloads(t *testing.T) {
	h := newHarness(t)
	var errs []error
	p := every(10, func(ctx context.Context, j *Job) error {
		for _, r := range []struct {
			name string
			v    any
		}{
			{"ph", 7.25}, {"count", int64(3)}, {"alarm", true}, {"probe", "ok"},
			{"reading", payload.Object{{Key: "ph", Value: payload.Float(7.25)}, {Key: "at", Value: "x"}}},
			{"history", []any{1.5, int64(2)}},
		} {
			errs = append(errs, j.Publish(r.name, r.v))
		}
		for _, bad := range []string{"interval", "state", "$state", "a/b", "", "ph reading", "x_"} {
			errs = append(errs, j.Publish(bad, 1.0))
		}
		return nil
	})
	h.start(p, nil)
	h.advance(time.Second)
	for i, want := range []string{"7.25", "3", "True", "ok", `{"ph":7.25,"at":"x"}`, `[1.5,2]`} {
		name := []string{"ph", "count", "alarm", "probe", "reading", "history"}[i]
		m := h.rec.Published("pioreactor/u1/e1/ph_reading/" + name)
		if len(m) != 1 || string(m[0].Payload) != want || !m[0].Retained || m[0].QoS != 2 {
			t.Errorf("%s: published %v, want %s retained at QoS 2", name, m, want)
		}
		if errs[i] != nil {
			t.Errorf("%s: %v", name, errs[i])
		}
	}
	for i, want := range []string{
		`name "interval" is a setting of ph_reading`, `name "state": the job's $state is the runtime's`,
		`name "$state": want letters and digits`, `name "a/b": want letters`, `name "": want`, `name "ph reading"`, `name "x_"`,
	} {
		if err := errs[6+i]; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %s", err, want)
		}
	}
	if got := h.payloads("ph_reading/interval"); len(got) != 1 {
		t.Errorf("interval published %q", got)
	}
	h.set("ph_reading/$state/set", "disconnected")
	h.advance(time.Second)
	for _, name := range []string{"ph", "count", "alarm", "probe", "reading", "history"} {
		if got := h.last("ph_reading/" + name); got != "" {
			t.Errorf("%s is %q after the stop, want it cleared", name, got)
		}
	}
}

func TestPublishBounds(t *testing.T) {
	h := newHarness(t)
	var errs []error
	p := every(10, func(ctx context.Context, j *Job) error {
		errs = append(errs, j.Publish("big", strings.Repeat("x", MaxPublishBytes+1)))
		for i := range MaxPublished + 1 {
			errs = append(errs, j.Publish(fmt.Sprintf("r%d", i), 1.0))
		}
		errs = append(errs, j.Publish("r0", nil)) // an old name is fine: None clears it
		return nil
	})
	h.start(p, nil)
	h.advance(time.Second)
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "big: a value of 65537 bytes is more than a reading takes (65536 bytes)") {
		t.Errorf("big: %v", errs[0])
	}
	if err := errs[MaxPublished+1]; err == nil || !strings.Contains(err.Error(), "a job publishes at most 100 names") {
		t.Errorf("name 101: %v", err)
	}
	if err := errs[len(errs)-1]; err != nil {
		t.Errorf("clearing r0: %v", err)
	}
	if got := h.payloads("ph_reading/r0"); !reflect.DeepEqual(got, []string{"1.0", ""}) {
		t.Errorf("r0: %q", got)
	}
	if got := h.payloads("ph_reading/big"); len(got) != 0 {
		t.Errorf("big was published")
	}
}

func TestRunWithoutIntervalRunsOnce(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{name: "once", run: ok}
	h.start(p, nil)
	h.advance(time.Hour)
	if len(p.runTimes()) != 1 || !h.ended || h.last("once/$state") != "disconnected" {
		t.Errorf("runs %v, ended %v, state %s; want one run, then the job ends", p.runTimes(), h.ended, h.last("once/$state"))
	}
}

func TestHandlersOnlyJobRunsUntilStopped(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{name: "od_alarm", subs: []string{"od_reading/ods"}}
	h.start(p, nil)
	h.advance(time.Hour)
	h.set("od_reading/ods", "1")
	if h.ended || !reflect.DeepEqual(p.handled, []string{"1"}) {
		t.Fatalf("ended %v, handled %q", h.ended, p.handled)
	}
	h.set("od_alarm/$state/set", "disconnected")
	if !h.ended {
		t.Error("still running after $state/set disconnected")
	}
}

func TestStartRefusalsPublishNothing(t *testing.T) {
	tests := []struct {
		name      string
		prog      *fakeProgram
		overrides map[string]string
		want      string
	}{
		{"reserved", &fakeProgram{name: "od_reading", run: ok}, nil, `job_name "od_reading" is pio's OD reading job`},
		{"pump", &fakeProgram{name: "pump_acid", run: ok}, nil, "names starting with pump_ are pio's pump actions"},
		{"bad name", &fakeProgram{name: "pH", run: ok}, nil, `job_name "pH": want lowercase words joined by _`},
		{"interval 0", every(10, ok), map[string]string{"interval": "0"}, "ph_reading: setting interval: interval must be from 0.1 to 1000000.0 seconds, got 0"},
		{"interval huge", every(10, ok), map[string]string{"interval": "2e6"}, "interval must be from 0.1 to 1000000.0 seconds"},
		{"unknown setting", every(10, ok), map[string]string{"volume": "1"}, `unknown setting "volume" for ph_reading`},
		{"required", &fakeProgram{name: "ph_reading", run: ok, settings: []automation.SettingDecl{{Name: "port", Datatype: payload.TypeString}}}, nil,
			"ph_reading: setting port is required and has no default: give it (--port <value>)"},
		{"subscribe outside", &fakeProgram{name: "ph_reading", subs: []string{"pioreactor/other/+/od_reading/ods"}}, nil,
			`ph_reading: handlers: subscribe to "pioreactor/other/+/od_reading/ods"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, err := Start(h.env, Options{Program: tt.prog, Overrides: tt.overrides})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
			h.advance(time.Minute)
			if n := h.rec.Len(); n != 0 {
				t.Errorf("%d messages published for a refused job", n)
			}
		})
	}
}

func TestSecondJobOfTheSameNameIsRefused(t *testing.T) {
	h := newHarness(t)
	h.start(every(10, ok), nil)
	_, err := Start(h.env, Options{Program: every(10, ok)})
	if !errors.Is(err, runtime.ErrJobRunning) {
		t.Errorf("error %v, want %v", err, runtime.ErrJobRunning)
	}
}
