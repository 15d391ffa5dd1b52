package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/unit"
)

// testBudgetMB is the [scripts] memory_limit_mb of these tests.
const testBudgetMB = 64

// Scripts that ask for far more memory than a unit has: in one step, and by
// doubling.
var greedyScripts = map[string]string{
	"string repeat": `s = "a" * 1000000000`,
	"list repeat":   `l = [0] * 1000000000`,
	"doubling": `s = "ab"
    for i in range(40):
        s = s + s`,
}

// budgetHome is a home whose config gives scripts testBudgetMB, with a
// script whose execute() runs body after an optional first line.
func budgetHome(t *testing.T, first, body string) (dir, script string) {
	t.Helper()
	dir = t.TempDir()
	cfg := fmt.Sprintf("[cluster.topology]\nunit_name=u1\nexperiment=e1\n[scripts]\nmemory_limit_mb=%d\n[dosing_automation.config]\nfirst_run_delay_seconds=0\n", testBudgetMB)
	if err := os.WriteFile(filepath.Join(dir, "config.ini"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, "greedy.star")
	src := "def execute():\n"
	if first != "" {
		src += "    " + first + "\n"
	}
	src += "    " + body + "\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, script
}

// runToEnd runs cmd to its end and returns its status, output, logs and the peak
// resident memory of the process tree (pio and the process that ran the
// script).
func runToEnd(t *testing.T, cmd *exec.Cmd) (code int, stdout, stderr string, maxRSS int64) {
	t.Helper()
	var out, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &log
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxRSS = int64(ru.Maxrss) << 10
	}
	return cmd.ProcessState.ExitCode(), out.String(), log.String(), maxRSS
}

// A script that asks for more memory than its budget is stopped with one
// line that names the budget and where it is set, and the allocation never
// happens: the peak resident memory of pio stays below twice the budget.
func TestSimulatedScriptPastItsBudgetIsStopped(t *testing.T) {
	for name, body := range greedyScripts {
		t.Run(name, func(t *testing.T) {
			dir, script := budgetHome(t, "", body)
			code, stdout, stderr, maxRSS := runToEnd(t, pio(t, dir, "simulate", script, "--for", "1h"))
			want := fmt.Sprintf("pio: the script was stopped: it needed more than its memory budget of %d MB ([scripts] memory_limit_mb in %s:5)\n",
				testBudgetMB, filepath.Join(dir, "config.ini"))
			if code != 1 || !strings.HasSuffix(stderr, want) || stdout != "" {
				t.Errorf("exit status %d\nstdout %q\nstderr %q\nwant status 1 and a last line %q", code, stdout, stderr, want)
			}
			noDump(t, stderr)
			if maxRSS >= 2*testBudgetMB<<20 {
				t.Errorf("peak RSS %d MB, want less than %d MB", maxRSS>>20, 2*testBudgetMB)
			}
		})
	}
}

// noDump fails if the Go runtime's dying words reached the user.
func noDump(t *testing.T, stderr string) {
	t.Helper()
	for _, dump := range []string{"goroutine ", "fatal error", "SIGSEGV", "runtime."} {
		if strings.Contains(stderr, dump) {
			t.Errorf("stderr shows the Go runtime's %q:\n%s", dump, stderr)
		}
	}
}

// On a unit, the automation that passed its budget is gone: its jobs read
// lost, pio turns the outputs off and says so.
func TestRunScriptPastItsBudgetTurnsTheOutputsOff(t *testing.T) {
	b := newExternalBroker(t)
	dir, script := budgetHome(t, "add_media(ml=0.5)", greedyScripts["string repeat"])
	code, _, stderr, maxRSS := runToEnd(t, pio(t, dir, "run-script", script, "--broker", b.addr))
	want := fmt.Sprintf("pio: the script was stopped: it needed more than its memory budget of %d MB ([scripts] memory_limit_mb in %s:5); every output is off\n",
		testBudgetMB, filepath.Join(dir, "config.ini"))
	if code != 1 || !strings.HasSuffix(stderr, want) {
		t.Errorf("exit status %d, stderr\n%s\nwant status 1 and a last line %q", code, stderr, want)
	}
	noDump(t, stderr)
	if maxRSS >= 2*testBudgetMB<<20 {
		t.Errorf("peak RSS %d MB, want less than %d MB", maxRSS>>20, 2*testBudgetMB)
	}
	if ev, sum := b.obs.mediaEvents(), 0.0; true {
		for _, v := range ev {
			sum += v
		}
		if sum != 0.5 {
			t.Errorf("dosing events %v, want the 0.5 mL dosed before the script passed its budget", ev)
		}
	}
	b.obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/$state", "lost")
}

// A pio whose script process is killed outright (by the kernel's OOM
// killer, or kill -9 of the pid the job registry shows) reports it and
// turns the outputs off; the jobs read lost.
func TestKilledScriptProcessIsReported(t *testing.T) {
	b := newExternalBroker(t)
	cmd, stderr := b.runScript(t)
	b.obs.waitFor(t, "pioreactor/u1/e1/add_media/$state", "ready")
	reg := &runtime.Registry{Dir: unit.RunDir("u1")}
	e, ok := reg.Lookup("dosing_automation")
	if !ok || e.PID == cmd.Process.Pid {
		t.Fatalf("registry entry %+v (found %v): want the pid of the script's process, not pio's %d", e, ok, cmd.Process.Pid)
	}
	syscall.Kill(e.PID, syscall.SIGKILL)
	err := cmd.Wait()
	want := "pio: the script's process ended abruptly (signal: killed); every output is off\n"
	if cmd.ProcessState.ExitCode() != 128+int(syscall.SIGKILL) || !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("%v, stderr\n%s\nwant status 137 and a last line %q", err, stderr, want)
	}
	b.obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/$state", "lost")
}

// If pio itself is killed outright, the script's process stops cleanly: the
// pump stops and the jobs disconnect.
func TestKilledPioStopsTheScriptCleanly(t *testing.T) {
	b := newExternalBroker(t)
	cmd, _ := b.runScript(t)
	b.obs.waitFor(t, "pioreactor/u1/e1/add_media/$state", "ready")
	cmd.Process.Kill()
	cmd.Wait()
	b.obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/$state", "disconnected")
	if ev := b.obs.mediaEvents(); len(ev) == 0 || ev[len(ev)-1] >= 0 {
		t.Errorf("dosing events %v: want an early-stop correction last", ev)
	}
}

// pio scripts check, install and test run a script's top level: a top
// level that asks for more than the budget is stopped there too, in one
// line, and nothing is installed.
func TestScriptsCommandsKeepTheBudget(t *testing.T) {
	dir, _ := budgetHome(t, "", "pass")
	script := filepath.Join(dir, "greedy_top.star")
	os.WriteFile(script, []byte("api_version = 1\nX = \"x\" * 900000000\n\ndef execute():\n    pass\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "greedy_top_test.star"), []byte("def test_runs():\n    simulate(hours = 1)\n"), 0o644)
	want := fmt.Sprintf("pio: the script was stopped: it needed more than its memory budget of %d MB ([scripts] memory_limit_mb in %s:5)\n",
		testBudgetMB, filepath.Join(dir, "config.ini"))
	for _, args := range [][]string{{"scripts", "check", script}, {"scripts", "install", script}, {"scripts", "test", script}} {
		code, _, stderr, maxRSS := runToEnd(t, pio(t, dir, args...))
		if code != 1 || !strings.HasSuffix(stderr, want) {
			t.Errorf("pio %s: exit status %d, stderr\n%s\nwant status 1 and a last line %q", strings.Join(args, " "), code, stderr, want)
		}
		noDump(t, stderr)
		if maxRSS >= 2*testBudgetMB<<20 {
			t.Errorf("pio %s: peak RSS %d MB, want less than %d MB", strings.Join(args, " "), maxRSS>>20, 2*testBudgetMB)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "scripts", "greedy_top")); !os.IsNotExist(err) {
		t.Errorf("the greedy script is in the library: %v", err)
	}
}
