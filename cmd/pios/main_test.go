package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/leaderclient"
	"github.com/piolab/pio/leaderclient/leadertest"
	"github.com/piolab/pio/pubsub"
)

// lab is a leader with u1 and u2 assigned to exp1, u3 active and
// unassigned, u4 inactive, and a home whose config holds the API token.
func lab(t *testing.T) (*leadertest.Leader, string) {
	t.Helper()
	l := leadertest.Start(t)
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "config.ini"), []byte("[cluster.security]\napi_token="+leadertest.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := leaderclient.New(leaderclient.Options{URL: l.URL, Token: leadertest.Token})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		must(t, c.AddWorker(ctx, u, "pioreactor_20ml", "1.5"))
	}
	must(t, c.SetActive(ctx, "u4", false))
	must(t, c.CreateExperiment(ctx, "exp1", ""))
	must(t, c.Assign(ctx, "exp1", "u1"))
	must(t, c.Assign(ctx, "exp1", "u2"))
	return l, home
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pios runs pios with --home and --leader and returns stdout, stderr and
// the exit status.
func pios(t *testing.T, l *leadertest.Leader, home string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"pios", "--home", home, "--leader", l.URL}, args...)
	code := Main(context.Background(), full, &out, &errb)
	return out.String(), errb.String(), code
}

func TestRun(t *testing.T) {
	l, home := lab(t)
	l.Daemons.Silent["u2"] = true
	out, errs, code := pios(t, l, home, "run", "stirring", "--target-rpm", "500", "--units", "u1,u2", "--enable-dodging-od")
	want := "u1: started stirring (exp1)\nu2: failed: no reply from u2's daemon: check that `pio daemon` runs on u2 and reaches the broker\n"
	if out != want || code != 1 {
		t.Fatalf("out = %q (stderr %q), code %d; want %q, 1", out, errs, code, want)
	}
	sent := l.Daemons.Sent()
	if got := strings.Join(sent[len(sent)-1].Argv, " "); got != "run stirring --enable-dodging-od --target-rpm 500" {
		t.Errorf("argv = %q", got)
	}
}

func TestRunDefaultsToActiveWorkers(t *testing.T) {
	l, home := lab(t)
	out, errs, code := pios(t, l, home, "run", "od_reading")
	want := "u1: started od_reading (exp1)\nu2: started od_reading (exp1)\nu3: started od_reading ($experiment)\n"
	if out != want || code != 0 {
		t.Fatalf("out = %q (stderr %q), code %d", out, errs, code)
	}
}

func TestRunByExperiment(t *testing.T) {
	l, home := lab(t)
	out, _, code := pios(t, l, home, "--experiments", "exp1", "run", "stirring")
	if out != "u1: started stirring (exp1)\nu2: started stirring (exp1)\n" || code != 0 {
		t.Fatalf("out = %q, code %d", out, code)
	}
}

func TestUnknownAndInactiveUnits(t *testing.T) {
	l, home := lab(t)
	out, _, code := pios(t, l, home, "run", "stirring", "--units", "u1,u9,u4")
	for _, want := range []string{"u1: started stirring (exp1)", "u4: failed: inactive", "u9: failed: not a worker of the leader at " + l.URL} {
		if !strings.Contains(out, want) {
			t.Errorf("out = %q, want %q", out, want)
		}
	}
	if code != 1 {
		t.Errorf("code = %d", code)
	}
	for _, r := range l.Daemons.Sent() {
		if len(r.Argv) > 0 && r.Argv[0] == cluster.CommandRun && r.Experiment != "exp1" {
			t.Errorf("a request went out for an unknown or inactive unit: %+v", r)
		}
	}
}

func TestRunScriptSendsModules(t *testing.T) {
	l, home := lab(t)
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "lib", "util.star"), []byte("def double(x):\n    return 2 * x\n"), 0o644))
	src := "load(\"lib/util.star\", \"double\")\nTARGET = double(1)\n"
	must(t, os.WriteFile(filepath.Join(dir, "turbidostat.star"), []byte(src), 0o644))
	out, errs, code := pios(t, l, home, "run-script", filepath.Join(dir, "turbidostat.star"), "--units", "u1", "--target-od", "0.8")
	if out != "u1: started turbidostat (exp1)\n" || code != 0 {
		t.Fatalf("out = %q (stderr %q), code %d", out, errs, code)
	}
	sent := l.Daemons.Sent()
	r := sent[len(sent)-1]
	if r.Script == nil || r.Script.Content != src || r.Script.Modules["lib/util.star"] == "" {
		t.Fatalf("script = %+v", r.Script)
	}
	if got := strings.Join(r.Argv, " "); got != "run-script turbidostat.star --target-od 0.8" {
		t.Errorf("argv = %q", got)
	}
}

func TestRunScriptRefusesBrokenScript(t *testing.T) {
	l, home := lab(t)
	f := filepath.Join(t.TempDir(), "bad.star")
	must(t, os.WriteFile(f, []byte("def (:\n"), 0o644))
	before := len(l.Daemons.Sent())
	_, errs, code := pios(t, l, home, "run-script", f)
	if code != 1 || !strings.Contains(errs, "does not load, nothing was sent") || len(l.Daemons.Sent()) != before {
		t.Fatalf("stderr = %q, code %d", errs, code)
	}
}

func TestKillAndJobsSetAndStatus(t *testing.T) {
	l, home := lab(t)
	l.Daemons.Jobs["u1"] = []cluster.JobStatus{{Job: "stirring", Experiment: "exp1", State: "ready"}}
	l.Daemons.Silent["u3"] = true
	set := make(chan string, 10)
	l.Broker.Tap = func(_ string, m pubsub.Message) {
		if strings.HasSuffix(m.Topic, "/set") {
			set <- m.Topic + " " + string(m.Payload)
		}
	}
	out, _, code := pios(t, l, home, "jobs", "set", "stirring", "target-rpm", "600", "--units", "u1")
	if out != "u1: set stirring target_rpm = 600 (exp1)\n" || code != 0 {
		t.Errorf("jobs set: %q, %d", out, code)
	}
	if got := <-set; got != "pioreactor/u1/exp1/stirring/target_rpm/set 600" {
		t.Errorf("published %q", got)
	}
	out, _, code = pios(t, l, home, "kill", "--all-jobs", "--units", "u1")
	if out != "u1: stopped stirring (exp1)\n" || code != 0 {
		t.Errorf("kill --all-jobs: %q, %d", out, code)
	}
	out, _, code = pios(t, l, home, "kill", "stirring", "--units", "u2")
	if out != "u2: stopped stirring (exp1)\n" || code != 0 {
		t.Errorf("kill stirring: %q, %d", out, code)
	}
	out, _, code = pios(t, l, home, "status")
	for _, want := range []string{"u1: active, exp1: stirring (ready)", "u2: active, exp1: no jobs", "u3: active, unassigned: unreachable: no reply from u3", "u4: inactive"} {
		if !strings.Contains(out, want) {
			t.Errorf("status = %q, want %q", out, want)
		}
	}
	if code != 1 {
		t.Errorf("status with an unreachable unit: code %d", code)
	}
}

func TestLeaderProblems(t *testing.T) {
	l, home := lab(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := "http://" + ln.Addr().String()
	ln.Close()
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"pios", "--home", home, "--leader", closed, "run", "stirring"}, &out, &errb)
	if code != 1 || out.Len() != 0 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "pios: the leader at "+closed+" did not answer") {
		t.Errorf("closed port: code %d, out %q, err %q", code, out.String(), errb.String())
	}
	// No token: the leader refuses each unit's start (the listing is a read).
	noToken := t.TempDir()
	out.Reset()
	errb.Reset()
	code = Main(context.Background(), []string{"pios", "--home", noToken, "--leader", l.URL, "run", "stirring", "--units", "u1"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "u1: failed: POST /api/workers/u1/jobs/run/job_name/stirring/experiments/exp1 needs an API token") {
		t.Errorf("no token: code %d, out %q, err %q", code, out.String(), errb.String())
	}
}

func TestUsage(t *testing.T) {
	l, home := lab(t)
	for _, args := range [][]string{
		{"run"},
		{"run", "stirring", "--units", "u1", "--experiments", "exp1"},
		{"kill"},
		{"kill", "stirring", "--all-jobs"},
		{"jobs", "set", "stirring", "x"},
		{"kill", "stirring", "--bogus", "1"},
	} {
		out, errs, code := pios(t, l, home, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("pios %v: code %d, out %q, err %q", args, code, out, errs)
		}
	}
}
