package leaderclient_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/leaderclient"
	"github.com/piolab/pio/leaderclient/leadertest"
)

func newClient(t *testing.T, url, token string) *leaderclient.Client {
	t.Helper()
	c, err := leaderclient.New(leaderclient.Options{URL: url, Token: token, Timeout: 2 * time.Second, TaskTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEndToEnd drives pio's own leader API: inventory, assignment, a job
// on two units (one unreachable), a setting, a stop, status, export, audit.
func TestEndToEnd(t *testing.T) {
	l := leadertest.Start(t)
	l.Daemons.Silent["u2"] = true
	l.Daemons.Jobs["u1"] = []cluster.JobStatus{{Job: "stirring", Experiment: "exp1", State: "ready"}}
	c := newClient(t, l.URL, leadertest.Token)
	ctx := context.Background()
	for _, u := range []string{"u1", "u2"} {
		if err := c.AddWorker(ctx, u, "pioreactor_20ml", "1.5"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateExperiment(ctx, "exp1", "first"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"u1", "u2"} {
		if err := c.Assign(ctx, "exp1", u); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := c.Workers(ctx)
	if err != nil || len(ws) != 2 || !bool(ws[0].IsActive) {
		t.Fatalf("Workers = %+v, %v", ws, err)
	}
	as, err := c.Assignments(ctx)
	if err != nil || len(as) != 2 || as[0].Experiment != "exp1" {
		t.Fatalf("Assignments = %+v, %v", as, err)
	}
	rs, err := c.RunJob(ctx, leaderclient.Broadcast, "exp1", "stirring", leaderclient.Job{Options: map[string]any{"target_rpm": "500"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Unit != "u1" || !rs[0].OK || rs[1].Unit != "u2" || rs[1].OK || rs[1].Error.Kind != "unreachable" {
		t.Fatalf("RunJob results = %+v", rs)
	}
	sent := l.Daemons.Sent()
	if got := strings.Join(sent[len(sent)-1].Argv, " "); got != "run stirring --target-rpm 500" {
		t.Errorf("argv = %q", got)
	}
	if rs, err := c.UpdateJob(ctx, "u1", "exp1", "stirring", map[string]any{"target_rpm": "600"}); err != nil || len(rs) != 1 || !rs[0].OK {
		t.Fatalf("UpdateJob = %+v, %v", rs, err)
	}
	jobs, err := c.RunningJobs(ctx, "u1")
	if err != nil || len(jobs) != 1 || jobs[0].Job != "stirring" || jobs[0].State != "ready" {
		t.Fatalf("RunningJobs(u1) = %+v, %v", jobs, err)
	}
	if _, err := c.RunningJobs(ctx, "u2"); err == nil || !strings.Contains(err.Error(), "no reply from u2") {
		t.Fatalf("RunningJobs(u2) err = %v, want no reply", err)
	}
	var csv bytes.Buffer
	if _, err := c.Export(ctx, "exp1", "od_readings", &csv); err != nil || !strings.Contains(csv.String(), ",") {
		t.Fatalf("Export = %q, %v", csv.String(), err)
	}
	rows, err := c.Audit(ctx, leaderclient.AuditFilter{Unit: "u1"})
	if err != nil || len(rows) == 0 {
		t.Fatalf("Audit = %v, %v", rows, err)
	}
	if _, err := c.StopJob(ctx, "u1", "exp1", "stirring"); err != nil {
		t.Fatal(err)
	}
}

// TestRefusals: each failure is one line that says what to do.
func TestRefusals(t *testing.T) {
	l := leadertest.Start(t)
	ctx := context.Background()
	err := newClient(t, l.URL, "").AddWorker(ctx, "u1", "m", "1")
	var e *leaderclient.Error
	if !errors.As(err, &e) || e.Status != 401 || !strings.Contains(err.Error(), "api_tokens_file") || strings.Contains(err.Error(), "\n") {
		t.Errorf("no token: %v", err)
	}
	c := newClient(t, l.URL, leadertest.Token)
	_, err = c.RunJob(ctx, "nope", leaderclient.Universal, "stirring", leaderclient.Job{})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown unit: %v", err)
	}
}

func TestClosedPortFailsPromptly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = newClient(t, "http://"+addr, "").Workers(context.Background())
	var ne *leaderclient.NetError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "the leader at http://"+addr+" did not answer") {
		t.Fatalf("err = %v", err)
	}
}

func TestSilentLeaderTimesOut(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	c, _ := leaderclient.New(leaderclient.Options{URL: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := c.Workers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not answer within 50ms") {
		t.Fatalf("err = %v", err)
	}
}

func TestBadReplies(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"malformed", `{"pioreactor_unit":`, 200, "not what pio expects"},
		{"html error", `<html>bad gateway</html>`, 502, "502 Bad Gateway: <html>bad gateway</html>"},
		{"error shape", `{"error":"boom","status":500,"cause":"disk full","remediation":"free space"}`, 500, "boom (disk full): free space"},
		{"401 bare", ``, 401, "api_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := newClient(t, srv.URL, "").Workers(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tc.want)
			}
		})
	}
}

func TestTaskPolling(t *testing.T) {
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/workers/u1/jobs/stop/experiments/e":
			w.WriteHeader(202)
			w.Write([]byte(`{"unit":"u1","task_id":"t1","result_url_path":"/unit_api/task_results/t1","status":"accepted"}`))
		case "/unit_api/task_results/t1":
			polls++
			if polls < 2 {
				w.WriteHeader(202)
				w.Write([]byte(`{"status":"running"}`))
				return
			}
			w.Write([]byte(`{"status":"succeeded","result":{"u1":{"ok":false,"unit":"u1","error":{"kind":"timeout","message":"slow"}}}}`))
		}
	}))
	defer srv.Close()
	rs, err := newClient(t, srv.URL, "").StopAll(context.Background(), "u1", "e")
	if err != nil || len(rs) != 1 || rs[0].OK || rs[0].Error.Error() != "slow" || polls != 2 {
		t.Fatalf("rs = %+v, err = %v, polls = %d", rs, err, polls)
	}
}

func TestNewRefusesBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "::"} {
		if _, err := leaderclient.New(leaderclient.Options{URL: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}
