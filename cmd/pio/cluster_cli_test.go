package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/leaderclient/leadertest"
)

// clusterPio runs pio against the test leader with a home that holds the token.
func clusterPio(t *testing.T, l *leadertest.Leader, home string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), append([]string{"pio", "--home", home}, args...), &out, &errb)
	return out.String(), errb.String(), err
}

func TestClusterCommands(t *testing.T) {
	l := leadertest.Start(t)
	l.Daemons.Jobs["u1"] = []cluster.JobStatus{{Job: "stirring", Experiment: "exp1", State: "ready"}}
	l.Daemons.Silent["u2"] = true
	home := clusterHome(t, l, leadertest.Token)
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"workers", "add", "u1"}, []string{"added u1 (pioreactor_20ml 1.5), active"}},
		{[]string{"workers", "add", "--model-name", "pioreactor_40ml", "--model-version", "1.0", "u2"}, []string{"added u2 (pioreactor_40ml 1.0), active"}},
		{[]string{"workers", "list"}, []string{"UNIT", "u1    yes     pioreactor_20ml 1.5", "u2    yes     pioreactor_40ml 1.0"}},
		{[]string{"experiments", "create", "--description", "first run", "exp1"}, []string{"created experiment exp1"}},
		{[]string{"experiments", "assign", "exp1", "u1", "u2"}, []string{"u1: assigned to exp1", "u2: assigned to exp1"}},
		{[]string{"experiments", "list"}, []string{"exp1", "first run"}},
		{[]string{"workers", "status"}, []string{"u1    yes     exp1        stirring (ready)", "u2    yes     exp1        unreachable: no reply from u2's daemon"}},
		{[]string{"audit", "--unit", "u1"}, []string{"TIMESTAMP", "tester", "assign"}},
		{[]string{"export", "--experiment", "exp1", "--dataset", "od_readings", "--output", "-"}, []string{","}},
		{[]string{"experiments", "unassign", "exp1", "u2"}, []string{"u2: unassigned from exp1"}},
		{[]string{"workers", "remove", "u2"}, []string{"removed u2"}},
	}
	for _, s := range steps {
		out, errs, err := clusterPio(t, l, home, s.args...)
		if err != nil {
			t.Fatalf("pio %v: %v (stderr %q)", s.args, err, errs)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("pio %v = %q, want %q", s.args, out, w)
			}
		}
	}
	dir := t.TempDir()
	out, _, err := clusterPio(t, l, home, "export", "--experiment", "exp1", "--dataset", "od_readings,dosing_events", "--output", dir)
	if err != nil || !strings.Contains(out, "exp1_od_readings.csv") || !strings.Contains(out, "exp1_dosing_events.csv") {
		t.Fatalf("export: %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "exp1_dosing_events.csv")); err != nil {
		t.Error(err)
	}
}

func TestClusterCommandRefusals(t *testing.T) {
	l := leadertest.Start(t)
	home := clusterHome(t, l, "")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"workers", "add", "u1"}, "needs an API token"},
		{[]string{"experiments", "assign", "nope", "u9"}, ""},
		{[]string{"export", "--experiment", "nope", "--dataset", "od_readings", "--output", "-"}, "nope"},
		{[]string{"export", "--dataset", "od_readings"}, "--experiment is required"},
		{[]string{"audit", "--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"workers", "add"}, "usage: pio workers add NAME"},
		{[]string{"workers", "add", "u1", "--model-name", "x"}, "flags go first"},
	}
	for _, tc := range cases {
		_, _, err := clusterPio(t, l, home, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("pio %v: err = %v, want one line with %q", tc.args, err, tc.want)
		}
	}
}

// clusterHome is a home whose config names the leader l and holds token.
func clusterHome(t *testing.T, l *leadertest.Leader, token string) string {
	t.Helper()
	u, err := url.Parse(l.URL)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cfg := "[cluster.topology]\nleader_address=" + u.Hostname() + "\n\n[ui]\nport=" + u.Port() + "\n"
	if token != "" {
		cfg += "\n[cluster.security]\napi_token=" + token + "\n"
	}
	if err := os.WriteFile(filepath.Join(home, "config.ini"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}
