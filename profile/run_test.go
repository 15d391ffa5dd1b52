package profile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/sched"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeCluster records every call with its virtual time; Read answers from
// values, some of which appear only from a time on.
type fakeCluster struct {
	clk    interface{ Now() time.Time }
	calls  []string
	values map[string]string    // unit/job/setting -> value
	from   map[string]time.Time // unit/job/setting -> first time it is readable
}

func (f *fakeCluster) rec(format string, args ...any) {
	f.calls = append(f.calls, FormatTime(f.clk.Now().Sub(t0))+" "+fmt.Sprintf(format, args...))
}

func (f *fakeCluster) Start(_ context.Context, unit, job string, options map[string]string, args []string) error {
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k+"="+options[k])
	}
	sort.Strings(keys)
	f.rec("start %s/%s %s %s", unit, job, strings.Join(keys, ","), strings.Join(args, ","))
	return nil
}
func (f *fakeCluster) Set(_ context.Context, unit, job, setting, value string) error {
	f.rec("set %s/%s/%s=%s", unit, job, setting, value)
	return nil
}
func (f *fakeCluster) State(_ context.Context, unit, job, state string) error {
	f.rec("state %s/%s %s", unit, job, state)
	return nil
}
func (f *fakeCluster) Log(_ context.Context, unit, level, msg string) error {
	f.rec("log %s %s %s", unit, level, msg)
	return nil
}
func (f *fakeCluster) Read(_ context.Context, unit, job, setting string) (string, bool) {
	k := unit + "/" + job + "/" + setting
	if at, ok := f.from[k]; ok && f.clk.Now().Before(at) {
		return "", false
	}
	v, ok := f.values[k]
	return v, ok
}

func runProfile(t *testing.T, src string, workers []string, f *fakeCluster, stopAt time.Duration) ([]string, []string, error) {
	t.Helper()
	p, err := Parse("p.yaml", []byte(src), testCheck)
	if err != nil {
		t.Fatal(err)
	}
	v := sched.NewVirtual(t0)
	f.clk = v
	var logs []string
	r := &Runner{Profile: p, Cluster: f, Clock: v, Experiment: "exp", Workers: workers,
		Logf: func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runErr error
	v.Go("experiment_profile", func() { runErr = r.Run(ctx) })
	if stopAt > 0 {
		v.RunUntil(context.Background(), t0.Add(stopAt))
		cancel()
	}
	v.Run(context.Background())
	return f.calls, logs, runErr
}

const timelineProfile = `version: "1.0"
experiment_profile_name: timeline
inputs:
  rpm: 400
common:
  jobs:
    od_reading:
      actions:
        - type: start
          t: 0
pioreactors:
  u1:
    jobs:
      stirring:
        actions:
          - type: start
            t: 0
            options:
              target_rpm: ${{ rpm }}
          - type: update
            t: 1h
            options:
              target_rpm: ${{ ::stirring:target_rpm + 100 }}
          - type: update
            t: 1h
            if: ${{ rpm > 1000 }}
            options:
              target_rpm: 9999
          - type: repeat
            t: 30m
            every: 30m
            while: ${{ u1:stirring:$state == ready }}
            max_time: 2h
            actions:
              - type: log
                t: 0
                options:
                  message: loop at ${{ hours_elapsed() }}h
          - type: stop
            t: 4h
      dosing_automation:
        actions:
          - type: when
            t: 0
            wait_until: ${{ u1:od_reading:od2.od > 0.5 }}
            actions:
              - type: start
                t: 10m
                options:
                  automation_name: turbidostat
`

func TestRunTimelineInVirtualTime(t *testing.T) {
	f := &fakeCluster{
		values: map[string]string{
			"u1/stirring/target_rpm": "400",
			"u1/stirring/$state":     "ready",
			"u1/od_reading/od2":      `{"od": 0.7, "angle": "90"}`,
		},
		from: map[string]time.Time{"u1/od_reading/od2": t0.Add(2 * time.Hour)},
	}
	calls, logs, err := runProfile(t, timelineProfile, []string{"u1", "u2"}, f, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0h00m00s start u1/od_reading  ",
		"0h00m00s start u2/od_reading  ",
		"0h00m00s start u1/stirring target_rpm=400 ",
		"0h30m00s log u1 NOTICE loop at 0.5h",
		"1h00m00s set u1/stirring/target_rpm=500",
		"1h00m00s log u1 NOTICE loop at 1h",
		"1h30m00s log u1 NOTICE loop at 1.5h",
		"2h00m00s log u1 NOTICE loop at 2h",
		"2h10m00s start u1/dosing_automation automation_name=turbidostat ",
		"4h00m00s state u1/stirring disconnected",
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline\n%s\nwant\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	joined := strings.Join(logs, "\n")
	for _, s := range []string{
		"1h00m00s u1/stirring update (pioreactors.u1.jobs.stirring.actions[2]): skipped: if rpm > 1000 is false",
		"2h30m00s u1/stirring repeat (pioreactors.u1.jobs.stirring.actions[3]): ends after max_time 2h00m00s",
		"2h00m00s u1/dosing_automation when (pioreactors.u1.jobs.dosing_automation.actions[0]): u1:od_reading:od2.od > 0.5 is true",
	} {
		if !strings.Contains(joined, s) {
			t.Errorf("log lacks %q:\n%s", s, joined)
		}
	}
}

func TestRepeatEndsWhenWhileTurnsFalse(t *testing.T) {
	src := `version: "1.0"
experiment_profile_name: x
pioreactors:
  u1:
    jobs:
      stirring:
        actions:
          - type: repeat
            t: 0
            every: 1h
            while: ${{ hours_elapsed() < 2.5 }}
            actions:
              - type: update
                t: 5m
                options:
                  target_rpm: ${{ 100 * hours_elapsed() }}
`
	calls, _, err := runProfile(t, src, nil, &fakeCluster{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := "0h05m00s set u1/stirring/target_rpm=8.333333333333332\n1h05m00s set u1/stirring/target_rpm=108.33333333333333\n2h05m00s set u1/stirring/target_rpm=208.33333333333334"
	if got := strings.Join(calls, "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPrioritiesAtEqualTime(t *testing.T) {
	// Written in the reverse of the priority order, all at 1h.
	src := `version: "1.0"
experiment_profile_name: x
pioreactors:
  u1:
    jobs:
      stirring:
        actions:
          - {type: log, t: 1, options: {message: last}}
          - {type: repeat, t: 1, every: 1h, max_time: 30m, actions: [{type: log, t: 0, options: {message: repeat}}]}
          - {type: when, t: 1, wait_until: "true", actions: [{type: log, t: 0, options: {message: when}}]}
          - {type: update, t: 1, options: {target_rpm: 1}}
          - {type: resume, t: 1}
          - {type: pause, t: 1}
          - {type: stop, t: 1}
          - {type: start, t: 1}
`
	calls, _, err := runProfile(t, src, nil, &fakeCluster{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1h00m00s start u1/stirring  ",
		"1h00m00s state u1/stirring disconnected",
		"1h00m00s state u1/stirring sleeping",
		"1h00m00s state u1/stirring ready",
		"1h00m00s set u1/stirring/target_rpm=1",
		"1h00m00s log u1 NOTICE last",
		"1h00m00s log u1 NOTICE when",
		"1h00m00s log u1 NOTICE repeat",
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestCancelStopsTheJobsItStarted(t *testing.T) {
	f := &fakeCluster{values: map[string]string{"u1/stirring/target_rpm": "400", "u1/stirring/$state": "ready"}}
	calls, _, err := runProfile(t, timelineProfile, []string{"u1"}, f, 90*time.Minute)
	if err != context.Canceled {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	got := strings.Join(calls[len(calls)-2:], "\n")
	want := "1h30m00s state u1/stirring disconnected\n1h30m00s state u1/od_reading disconnected"
	if got != want {
		t.Errorf("last calls\n%s\nwant\n%s", got, want)
	}
}

func TestWritePlan(t *testing.T) {
	p, err := Parse("p.yaml", []byte(timelineProfile), testCheck)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WritePlan(&b, p, []string{"u1", "u2"})
	want := `  0h00m00s  u1  od_reading  start
  0h00m00s  u2  od_reading  start
  0h00m00s  u1  stirring  start --target-rpm "${{ rpm }}"
  0h00m00s  u1  dosing_automation  when u1:od_reading:od2.od > 0.5
 +0h10m00s    u1  dosing_automation  start --automation-name turbidostat
  0h30m00s  u1  stirring  repeat every 0h30m00s while u1:stirring:$state == ready for at most 2h00m00s
 +0h00m00s    u1  stirring  log NOTICE "loop at ${{ hours_elapsed() }}h"
  1h00m00s  u1  stirring  update target_rpm="${{ ::stirring:target_rpm + 100 }}"
  1h00m00s  u1  stirring  update target_rpm=9999 if rpm > 1000
  4h00m00s  u1  stirring  stop
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if n := ActionCount(p, 2); n != 8 {
		t.Errorf("ActionCount = %d, want 8", n)
	}
}
