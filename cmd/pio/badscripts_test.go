package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A script with bad input is refused with the same clear line by every
// command that reads it, before anything starts: pio scripts check (exit
// 1, one FILE:LINE:COL: MESSAGE line), pio run-script (nothing published
// on the broker, no embedded broker started), pio simulate, pio scripts
// install (nothing left in the library) and pio scripts test (its
// simulate() fails). pio itself never crashes.
func TestBadScriptsAreRefusedEverywhere(t *testing.T) {
	const execute = "\ndef execute():\n    pass\n"
	tests := []struct {
		name string
		// files are written into a fresh folder; s.star is the script.
		files map[string]string
		// check is the one line pio scripts check prints, the folder
		// removed from the script's own positions.
		check string
		// start is the error of run-script and simulate when it is not
		// check's line.
		start string
	}{
		{
			name:  "malformed metadata",
			files: map[string]string{"s.star": "api_version = 1\nmetadata = {\"name\": 3}\n" + execute},
			check: `s.star:2:21: metadata["name"]: want a string literal, got a number (3)`,
		},
		{
			name:  "metadata computed at run time",
			files: map[string]string{"s.star": "api_version = 1\nV = \"1.0\"\nmetadata = {\"version\": V}\n" + execute},
			check: `s.star:3:24: metadata["version"]: want a string literal, got the name V (a value pio would have to run the script to know)`,
		},
		{
			name: "a load cycle",
			files: map[string]string{
				"s.star": "api_version = 1\nload(\"a.star\", \"x\")\n" + execute,
				"a.star": "load(\"b.star\", \"y\")\nx = 1\n",
				"b.star": "load(\"a.star\", \"x\")\ny = 1\n",
			},
			check: `a.star:1:1: load("b.star"): cycle: a.star -> b.star -> a.star (loaded from s.star:2:1)`,
		},
		{
			name: "a library with a syntax error",
			files: map[string]string{
				"s.star":       "api_version = 1\nload(\"helpers.star\", \"f\")\n" + execute,
				"helpers.star": "def f(:\n    pass\n",
			},
			check: `helpers.star:1:8: got ':', want ')' (loaded from s.star:2:1)`,
		},
		{
			name:  "a wrong api_version",
			files: map[string]string{"s.star": "api_version = 2\n" + execute},
			check: "s.star:1:15: api_version 2 is not supported: this pio supports api_version 1 (the script was written for a newer pio: update pio, or ask its author for a version for api_version 1)",
		},
		{
			name:  "api_version that is not a literal",
			files: map[string]string{"s.star": "V = 1\napi_version = V\n" + execute},
			check: "s.star:2:15: api_version must be a whole number written as is, such as api_version = 1",
		},
		{
			name:  "requires a missing pump",
			files: map[string]string{"s.star": "api_version = 1\nrequires = {\"pumps\": [\"base\"]}\n" + execute},
			check: `s.star:2:23: requires pump "base", and no [PWM] channel is wired to it: add <channel>=base to [PWM] in config.ini (a free channel from 6 to 9)`,
		},
		{
			name:  "requires a device not granted",
			files: map[string]string{"s.star": "api_version = 1\nrequires = {\"serial\": [\"/dev/ttyUSB0\"]}\n" + execute},
			check: "s.star:2:24: requires serial /dev/ttyUSB0, which [scripts.hardware] does not grant: set serial=/dev/ttyUSB0 under [scripts.hardware] in config.ini",
		},
		{
			name:  "a setting default out of its bounds",
			files: map[string]string{"s.star": "api_version = 1\nsettings = {\"volume\": {\"default\": 9.0, \"type\": \"float\", \"min\": 0.1, \"max\": 5.0}}\n" + execute},
			check: "s.star:2:13: setting volume: default 9.0 is above the maximum, 5.0",
		},
		{
			name: "a local module that escapes the folder",
			files: map[string]string{
				"s.star":          "api_version = 1\nload(\"../outside.star\", \"f\")\n" + execute,
				"../outside.star": "def f():\n    pass\n",
			},
			check: `s.star:2:1: load("../outside.star"): it resolves above the script's folder; a script loads modules from its own folder and the folders below it`,
		},
		{
			name:  "a job and an automation at once",
			files: map[string]string{"s.star": "api_version = 1\njob_name = \"ph\"\nautomation_type = \"dosing\"\n" + execute},
			check: "s.star:2:1: job_name, and automation_type at s.star:3:1: a script is a custom job (job_name) or an automation (automation_type), not both",
		},
	}
	b := newExternalBroker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "scripts")
			os.Mkdir(dir, 0o755)
			writeFiles(t, dir, tt.files)
			writeFiles(t, dir, map[string]string{"s_test.star": "def test_runs():\n    simulate(hours = 0.1)\n"})
			script := filepath.Join(dir, "s.star")
			home := t.TempDir()

			// pio scripts check: exit 1, one line, on stdout.
			stdout, stderr, code := runBinary(t, home, "scripts", "check", script)
			line := strings.TrimSuffix(strings.ReplaceAll(stdout, dir+string(filepath.Separator), ""), "\n")
			if code != 1 || strings.Count(stdout, "\n") != 1 || stderr != "" || tt.check != "" && line != tt.check {
				t.Errorf("pio scripts check: exit %d, stdout\n%s\nstderr\n%s\nwant exit 1 and the line\n%s", code, stdout, stderr, tt.check)
			}
			want := tt.start
			if want == "" {
				want = line // with the folder removed, as the runs name files
			}

			// pio run-script: the same error before anything starts.
			stdout, stderr, code = runBinary(t, home, "run-script", script, "--broker", b.addr, "--unit", "u1", "--experiment", "e1")
			if code != 1 || stdout != "" || stderr != "pio: "+want+"\n" {
				t.Errorf("pio run-script: exit %d, stdout %q, stderr\n%s\nwant exit 1 and pio: %s", code, stdout, stderr, want)
			}
			if n := b.publishedSinceMarker(t, tt.name); n > 0 {
				t.Errorf("pio run-script of a refused script published %d messages", n)
			}

			// pio simulate: the same error, nothing simulated.
			stdout, stderr, code = runBinary(t, home, "simulate", script, "--for", "1h")
			if code != 1 || stdout != "" || stderr != "pio: "+want+"\n" {
				t.Errorf("pio simulate: exit %d, stdout %q, stderr\n%s\nwant exit 1 and pio: %s", code, stdout, stderr, want)
			}

			// pio scripts install: refused with check's line; the library
			// stays empty.
			stdout, stderr, code = runBinary(t, home, "scripts", "install", script)
			if code != 1 || stdout != "" || strings.Count(strings.ReplaceAll(stderr, dir+string(filepath.Separator), ""), line+"\n") != 1 ||
				!strings.HasSuffix(stderr, "s.star: not installed: pio scripts check finds 1 error\n") {
				t.Errorf("pio scripts install: exit %d, stdout %q, stderr\n%s\nwant exit 1, %s and not installed", code, stdout, stderr, line)
			}
			if des, err := os.ReadDir(filepath.Join(home, "scripts")); len(des) > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused install left %v in the library (%v)", des, err)
			}

			// pio scripts test: the companion's simulate() fails with the
			// same message, and the test fails.
			stdout, stderr, code = runBinary(t, home, "scripts", "test", script)
			if code != 1 || !strings.Contains(stdout, "FAIL  test_runs\n") || !strings.Contains(stdout, want) {
				t.Errorf("pio scripts test: exit %d, stdout\n%s\nstderr\n%s\nwant a failed test_runs with %s", code, stdout, stderr, want)
			}
		})
	}
}

// runBinary runs the pio binary with home and returns its output and exit
// status. A panic's stack trace fails the test.
func runBinary(t *testing.T, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := pio(t, home, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	for _, s := range []string{out.String(), errOut.String()} {
		if strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
			t.Fatalf("pio %s crashed:\n%s", strings.Join(args, " "), s)
		}
	}
	return out.String(), errOut.String(), code
}

// publishedSinceMarker publishes a marker and waits for it: pio has exited,
// so whatever it published reached the observer before the marker. It
// returns how many messages other than markers arrived since the last one.
func (b *externalBroker) publishedSinceMarker(t *testing.T, name string) int {
	t.Helper()
	marker := fmt.Sprintf("end of %s", name)
	if err := b.obs.client.Publish("pioreactor/test/marker", []byte(marker), 1, false); err != nil {
		t.Fatal(err)
	}
	b.obs.mu.Lock()
	from := b.obs.seen
	b.obs.mu.Unlock()
	b.obs.waitFor(t, "pioreactor/test/marker", marker)
	b.obs.mu.Lock()
	defer b.obs.mu.Unlock()
	n := 0
	for _, m := range b.obs.msgs[from:b.obs.seen] {
		if m.Topic != "pioreactor/test/marker" {
			n++
		}
	}
	return n
}
