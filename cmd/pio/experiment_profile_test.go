package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const exampleProfile = "../../scripts/examples/profiles/turbidostat_day.yaml"

func TestExperimentProfileVerify(t *testing.T) {
	code, stdout, stderr, _ := runToEnd(t, pio(t, t.TempDir(), "run", "experiment_profile", "verify", exampleProfile))
	if code != 0 || stdout != exampleProfile+`: ok, "turbidostat day": 11 actions`+"\n" || stderr != "" {
		t.Errorf("verify the example: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src := "version: \"1.0\"\nexperiment_profile_name: bad\ncommon:\n  jobs:\n    stirring:\n      actions:\n" +
		"        - type: start\n          t: soon\n          options:\n            target_rmp: 400\n" +
		"    stiring:\n      actions: []\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr, _ = runToEnd(t, pio(t, t.TempDir(), "run", "experiment_profile", "verify", bad))
	want := bad + `:8:14: common.jobs.stirring.actions[0].t: want hours as a number or "30m"/"2h", got "soon"` + "\n" +
		bad + `:10:13: common.jobs.stirring.actions[0].options: stirring takes no option "target_rmp" (did you mean "target_rpm"?)` + "\n" +
		bad + `:11:5: common.jobs.stiring: pio has no job "stiring" (did you mean "stirring"?)` + "\n" +
		"pio: " + bad + ": 3 problem(s); nothing was started\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("verify a bad file: exit %d\nstdout %q\nstderr\n%s\nwant\n%s", code, stdout, stderr, want)
	}
}

func TestExperimentProfileDryRun(t *testing.T) {
	code, stdout, stderr, _ := runToEnd(t, pio(t, t.TempDir(), "run", "experiment_profile", "execute", exampleProfile, "exp1", "--dry-run", "--units", "worker1,worker2"))
	if code != 0 || stderr != "" {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	for _, line := range []string{
		"turbidostat day (" + exampleProfile + "), experiment exp1, dry run:",
		"  0h00m00s  worker1  stirring  start --target-rpm \"${{ rpm }}\"",
		"  0h00m00s  worker2  stirring  start --target-rpm \"${{ rpm }}\"",
		"  0h10m00s  worker1  dosing_automation  when worker1:od_reading:od2.od > target_od / 2",
		" +0h00m00s    worker1  dosing_automation  start --automation-name turbidostat --target-biomass \"${{ target_od }}\" --exchange-volume-ml 1.0",
		" 24h00m00s  worker1  dosing_automation  stop",
	} {
		if !strings.Contains(stdout, line+"\n") {
			t.Errorf("dry run lacks %q:\n%s", line, stdout)
		}
	}
}
