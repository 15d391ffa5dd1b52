package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// simScript writes a script into a fresh directory.
func simScript(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const loggingScript = `settings = {"duration": 30.0}

def execute():
    log.debug("about to feed")
    add_media(ml=1.0)
    log.info("added 1.0 mL")
`

const failingScript = `settings = {"duration": 30.0}

def execute():
    x = 1 / 0
`

func TestSimulatePrintsTheScriptsLogLinesWithVirtualTime(t *testing.T) {
	script := simScript(t, "feeder.star", loggingScript)
	out, log, err := runPio(t, "--home", t.TempDir(), "simulate", script, "--for", "1h")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"    0h00m02s  INFO     dosing_automation: Adding 1.0 mL media.\n",
		"    0h00m04s  INFO     dosing_automation: added 1.0 mL\n",
		"    0h30m04s  INFO     dosing_automation: added 1.0 mL\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "about to feed") {
		t.Errorf("a debug line without --verbose:\n%s", log)
	}
	// The summary stays on stdout, apart from the log lines.
	if !strings.HasPrefix(out, "simulated 1h0m0s of feeder") || strings.Contains(out, "INFO") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestSimulateVerboseAndQuietAfterTheFile(t *testing.T) {
	script := simScript(t, "feeder.star", loggingScript)
	for _, args := range [][]string{
		{"simulate", script, "--for", "1h", "--verbose"},
		{"--verbose", "simulate", script, "--for", "1h"},
		{"simulate", script, "--verbose", "--for", "1h"},
	} {
		_, log, err := runPio(t, append([]string{"--home", t.TempDir()}, args...)...)
		if err != nil {
			t.Fatalf("pio %s: %v", strings.Join(args, " "), err)
		}
		if !strings.Contains(log, "    0h00m02s  DEBUG    dosing_automation: about to feed\n") {
			t.Errorf("pio %s: no debug line:\n%s", strings.Join(args, " "), log)
		}
	}
	out, log, err := runPio(t, "--home", t.TempDir(), "simulate", script, "--for", "1h", "--quiet")
	if err != nil || out != "" || log != "" {
		t.Errorf("--quiet: %v, stdout %q, stderr %q", err, out, log)
	}
	if _, _, err := runPio(t, "--home", t.TempDir(), "simulate", script, "--quiet", "--verbose"); err == nil || !strings.Contains(err.Error(), "--quiet and --verbose") {
		t.Errorf("--quiet --verbose: %v", err)
	}
	if _, _, err := runPio(t, "--home", t.TempDir(), "simulate", script, "--quiet=maybe"); err == nil || err.Error() != `--quiet: want true or false, got "maybe"` {
		t.Errorf("--quiet=maybe: %v", err)
	}
}

func TestSimulateOfAFailingScriptExitsNonZero(t *testing.T) {
	script := simScript(t, "broken.star", failingScript)
	want := "pio: the script failed 48 times in 24h of simulated time (first at 0h00m02s: broken.star:4:11: floating-point division by zero)\n"
	for _, quiet := range []bool{false, true} {
		args := []string{"simulate", script}
		if quiet {
			args = append(args, "--quiet")
		}
		cmd := pio(t, t.TempDir(), args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("quiet=%v: %v, want exit status 1", quiet, err)
		}
		if !strings.HasSuffix(stderr.String(), want) {
			t.Errorf("quiet=%v: stderr ends\n%s\nwant\n%s", quiet, tail(stderr.String()), want)
		}
		if quiet && (stdout.Len() != 0 || stderr.String() != want) {
			t.Errorf("--quiet printed more than the failure: %q %q", stdout.String(), stderr.String())
		}
		if !quiet && !strings.Contains(stdout.String(), "script errors: 48") {
			t.Errorf("summary:\n%s", stdout.String())
		}
	}
}

func TestSimulateSummaryCountsEveryDose(t *testing.T) {
	script := simScript(t, "feeder.star", loggingScript)
	out, _, err := runPio(t, "--home", t.TempDir(), "simulate", script, "--for", "24h", "--quiet=false", "--alone")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"execute_io_action calls: 0 started, 0 completed, 0 failed",
		"  add_media    22 runs  booked    21.750 mL  pumped    21.356 mL",
		"automation time in each state: ready 10h30m03s, sleeping 13h29m57s; final state: disconnected",
		"  the vial holds 0.394 mL less than the model",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func tail(s string) string {
	if i := strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
