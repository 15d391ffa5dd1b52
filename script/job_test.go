package script

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/customjob"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/scripthw"
)

func TestJobLoadErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/job_load_errors/*.star")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadJobFile(f, "u1", "e1")
			if err == nil {
				t.Fatal("loaded without error")
			}
			if w := want(t, f); !strings.Contains(err.Error(), w) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, w)
			}
		})
	}
}

// startedJob is a custom job running on u, with its log records and what
// the unit published.
type startedJob struct {
	j    *customjob.Job
	logs []string
	msgs []pubsub.Message
	done bool
}

func startJob(t *testing.T, u *unit, path string, overrides map[string]string) *startedJob {
	t.Helper()
	s, err := LoadJobFile(path, "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	st := &startedJob{}
	u.broker.Tap = func(_ string, m pubsub.Message) { st.msgs = append(st.msgs, m) }
	j, err := customjob.Start(u.env, customjob.Options{Program: s, Overrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	st.j = j
	j.Log.OnRecord = func(level, msg string) { st.logs = append(st.logs, level+": "+msg) }
	u.clk.Go("job", func() {
		if err := j.Run(context.Background()); err != nil {
			t.Error(err)
		}
		st.done = true
	})
	return st
}

func (st *startedJob) payloads(topic string) []string {
	var out []string
	for _, m := range st.msgs {
		if m.Topic == "pioreactor/u1/e1/"+topic {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

func (st *startedJob) errors() []string {
	var out []string
	for _, l := range st.logs {
		if m, ok := strings.CutPrefix(l, "ERROR: "); ok {
			out = append(out, m)
		} else if m, ok := strings.CutPrefix(l, "WARNING: "); ok {
			out = append(out, m)
		}
	}
	return out
}

func TestJobRunErrorsCarryPositions(t *testing.T) {
	files, _ := filepath.Glob("testdata/job_run_errors/*.star")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			u := newUnit(t)
			st := startJob(t, u, f, nil)
			u.clk.RunUntil(context.Background(), epoch.Add(3*time.Hour))
			errs := st.errors()
			if len(errs) != 1 || st.j.Failures() != 1 {
				t.Fatalf("logged errors %q (count %d), want exactly one", errs, st.j.Failures())
			}
			if re := regexp.MustCompile(want(t, f)); !re.MatchString(errs[0]) {
				t.Errorf("error\n  %s\nwant it to match\n  %s", errs[0], re)
			}
			if st.j.State() != runtime.Ready && !st.done {
				t.Errorf("state %s", st.j.State())
			}
		})
	}
}

func TestJobScriptRunsPublishesAndHandles(t *testing.T) {
	u := newUnit(t)
	st := startJob(t, u, "testdata/job_api/ph_reading.star", map[string]string{"offset": "0.5"})
	u.clk.RunUntil(context.Background(), epoch.Add(12*time.Second)) // runs at 0, 5, 10
	ctl := u.broker.Connect(pubsub.Options{ClientID: "test"})
	ctl.Publish("pioreactor/u1/e1/stirring/target_rpm", []byte("500"), 1, false)
	ctl.Publish("pioreactor/u1/e1/ph_reading/offset/set", []byte("3"), 1, false)    // refused by check_offset
	ctl.Publish("pioreactor/u1/e1/ph_reading/interval/set", []byte("60"), 1, false) // next run at 70
	u.clk.RunUntil(context.Background(), epoch.Add(100*time.Second))
	if errs := st.errors(); len(errs) != 1 || !strings.Contains(errs[0], "offset must be from -1 to 1; offset stays 0.5") {
		t.Errorf("errors %q", errs)
	}
	checks := []struct {
		topic string
		want  []string
	}{
		{"ph_reading/ph", []string{"7.5", "7.5", "7.5", "7.5"}},
		{"ph_reading/reading", []string{`{"ph":7.5,"n":1,"label":"probe 1"}`, `{"ph":7.5,"n":2,"label":"probe 1"}`, `{"ph":7.5,"n":3,"label":"probe 1"}`, `{"ph":7.5,"n":4,"label":"probe 1"}`}},
		{"ph_reading/ok", []string{"False", "True", "False", "True"}},
		{"ph_reading/history", []string{`[1,2.5,"x"]`, `[1,2.5,"x"]`, `[1,2.5,"x"]`, `[1,2.5,"x"]`}},
		{"ph_reading/last_rpm", []string{"500.0"}},
		{"ph_reading/last_topic", []string{"pioreactor/u1/e1/stirring/target_rpm"}},
		{"ph_reading/interval", []string{"5.0", "60.0"}},
		{"ph_reading/offset", []string{"0.5"}},
		{"ph_reading/label", []string{"probe 1"}},
		{"ph_reading/$state", []string{"init", "ready"}},
	}
	for _, c := range checks {
		if got := st.payloads(c.topic); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.topic, got, c.want)
		}
	}
	ctl.Publish("pioreactor/u1/e1/ph_reading/$state/set", []byte("disconnected"), 1, false)
	u.clk.RunUntil(context.Background(), epoch.Add(101*time.Second))
	if !st.done {
		t.Fatal("the job is still running")
	}
	if got := st.payloads("ph_reading/ph"); got[len(got)-1] != "" {
		t.Errorf("ph not cleared at the stop: %q", got)
	}
}

func TestJobStopCancelsAScriptMidRun(t *testing.T) {
	u := newUnit(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "slow.star")
	os.WriteFile(path, []byte("job_name = \"slow\"\ndef run():\n    sleep(600)\n    publish(\"done\", True)\n"), 0o644)
	st := startJob(t, u, path, nil)
	u.clk.RunUntil(context.Background(), epoch.Add(10*time.Second))
	ctl := u.broker.Connect(pubsub.Options{ClientID: "test"})
	ctl.Publish("pioreactor/u1/e1/slow/$state/set", []byte("disconnected"), 1, false)
	u.clk.RunUntil(context.Background(), epoch.Add(10*time.Second))
	if !st.done {
		t.Fatal("the job still runs after $state/set disconnected")
	}
	if got := st.payloads("slow/done"); len(got) != 0 {
		t.Errorf("published %q after the stop", got)
	}
	if st.j.Failures() != 0 || !strings.Contains(strings.Join(st.logs, "\n"), "NOTICE: The job was stopped during run().") {
		t.Errorf("failures %d, logs %q", st.j.Failures(), st.logs)
	}
}

// max_execute_minutes bounds a run's every wait, not only sleep: a run
// waiting on a reading (or an HTTP request) past it is stopped there.
func TestJobRunWaitingPastMaxExecuteIsStopped(t *testing.T) {
	u := newUnit(t)
	u.env.Config.Set("dosing_automation.config", "max_execute_minutes", "0.05") // 3 s
	ctl := u.broker.Connect(pubsub.Options{ClientID: "test"})
	ctl.Publish("pioreactor/u1/e1/od_reading/$state", []byte("ready"), 2, true) // running, no reading yet
	path := filepath.Join(t.TempDir(), "waits.star")
	os.WriteFile(path, []byte("job_name = \"waits\"\ndef run():\n    latest_od()\n"), 0o644)
	st := startJob(t, u, path, nil)
	u.clk.RunUntil(context.Background(), epoch.Add(time.Minute))
	errs := st.errors()
	if len(errs) != 1 || errs[0] != "waits.star:3:14: run() ran past its limit of 3s (max_execute_minutes) and was stopped" {
		t.Errorf("logged %q; want the run stopped at its limit, at the call it waited in", errs)
	}
	if st.j.Failures() != 1 || !st.done {
		t.Errorf("failures %d, done %v", st.j.Failures(), st.done)
	}
}

// A stop while a handler runs (mid-sleep, an output of hw on) cancels the
// handler, halts and closes the output, and leaves no session behind.
func TestJobStopDuringAHandlerTurnsItsOutputsOff(t *testing.T) {
	u := newUnit(t)
	u.env.Config.Set(scripthw.Section, "pwm", "5")
	path := filepath.Join(t.TempDir(), "heater.star")
	os.WriteFile(path, []byte("job_name = \"heater\"\ndef on_rpm(topic, payload):\n    hw.pwm(5).set(50)\n    sleep(600)\n    publish(\"done\", True)\nhandlers = {\"stirring/target_rpm\": on_rpm}\n"), 0o644)
	st := startJob(t, u, path, nil)
	ctl := u.broker.Connect(pubsub.Options{ClientID: "test"})
	ctl.Publish("pioreactor/u1/e1/stirring/target_rpm", []byte("500"), 1, false)
	u.clk.RunUntil(context.Background(), epoch.Add(10*time.Second))
	reactor := u.env.Board.(*sim.Reactor)
	if d := reactor.DutyTrace(); len(d) == 0 || d[len(d)-1].Channel != 5 || d[len(d)-1].Duty != 50 {
		t.Fatalf("duty trace %+v, want channel 5 at 50", d)
	}
	ctl.Publish("pioreactor/u1/e1/heater/$state/set", []byte("disconnected"), 1, false)
	u.clk.RunUntil(context.Background(), epoch.Add(11*time.Second))
	if !st.done || len(st.payloads("heater/done")) != 0 {
		t.Fatalf("done %v, published %q", st.done, st.payloads("heater/done"))
	}
	if d := reactor.DutyTrace(); d[len(d)-1].Channel != 5 || d[len(d)-1].Duty != 0 {
		t.Errorf("duty trace %+v, want channel 5 off at the stop", d)
	}
	if n := scripthw.Owners(); n != 0 {
		t.Errorf("%d jobs hold hardware after the stop", n)
	}
}

func TestJobIntervalOfTypeInt(t *testing.T) {
	u := newUnit(t)
	st := startJob(t, u, "testdata/job_api/int_interval.star", nil)
	u.clk.RunUntil(context.Background(), epoch.Add(25*time.Second)) // runs at 0, 10, 20
	if got := st.payloads("ticks/n"); !reflect.DeepEqual(got, []string{"1", "2", "3"}) {
		t.Errorf("n %q, want a run every 10 s", got)
	}
	if got := st.payloads("ticks/interval"); !reflect.DeepEqual(got, []string{"10"}) {
		t.Errorf("interval %q", got)
	}
}
