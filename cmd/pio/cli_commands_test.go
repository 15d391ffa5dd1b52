package main

import (
	"strings"
	"testing"
)

// A command pio does not know is a usage error (exit status 2) that points
// at --help and names the commands it resembles.
func TestUnknownCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `pio: unknown command "bogus"; see pio --help` + "\n"},
		{[]string{"simulat", "x.star"}, `pio: unknown command "simulat" (did you mean simulate?); see pio --help` + "\n"},
		{[]string{"--home", "/nonexistent", "runscript"}, `pio: unknown command "runscript" (did you mean run-script?); see pio --help` + "\n"},
		{[]string{"run", "add_medai"}, `pio: unknown command "add_medai" (did you mean add_media?); see pio run --help` + "\n"},
		{[]string{"calibrations", "bogus"}, `pio: unknown command "bogus"; see pio calibrations --help` + "\n"},
	} {
		code, stdout, stderr, _ := runToEnd(t, pio(t, t.TempDir(), tc.args...))
		if code != 2 || stderr != tc.want || stdout != "" {
			t.Errorf("pio %s: exit status %d\nstdout %q\nstderr %q\nwant status 2 and %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
	for _, args := range [][]string{{}, {"help"}, {"help", "simulate"}, {"run"}} {
		code, stdout, _, _ := runToEnd(t, pio(t, t.TempDir(), args...))
		if code != 0 || !strings.Contains(stdout, "USAGE:") {
			t.Errorf("pio %s: exit status %d\n%s", strings.Join(args, " "), code, stdout)
		}
	}
}

// Global flags may follow kill, as they follow run-script and simulate.
func TestKillTakesGlobalFlagsAfterItsName(t *testing.T) {
	b := newExternalBroker(t)
	first, stderr := b.runScript(t)
	b.obs.waitFor(t, "pioreactor/u1/e1/add_media/$state", "ready")
	// PIO_HOME is an empty home: only --home names the unit (u1).
	out, err := pio(t, t.TempDir(), "kill", "--home", b.dir, "--broker", b.addr, "dosing_automation").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Killed 1 jobs.") {
		t.Errorf("pio kill --home DIR --broker ADDR JOB: %v\n%s", err, out)
	}
	waitExit(t, first, stderr)
	b.obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/$state", "disconnected")

	out, err = pio(t, b.dir, "kill", "dosing_automation", "--home", b.dir).CombinedOutput()
	if want := "pio: --home after the job names: flags go first (pio kill --home DIR JOB...)\n"; err == nil || string(out) != want {
		t.Errorf("a flag after the job names: %v\n%q\nwant %q", err, out, want)
	}
}
