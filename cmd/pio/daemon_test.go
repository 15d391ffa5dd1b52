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
	"time"

	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
	"github.com/piolab/pio/runtime"
)

// daemonHome is a home and a run dir of their own (a daemon in the shared
// run dir would take the other tests' work), on a broker that outlives the
// daemon, so that its last will can be seen.
func daemonHome(t *testing.T) (env []string, addr string) {
	addr = mqtttest.StartEmbedded(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	dir := t.TempDir()
	cfg := fmt.Sprintf("[mqtt]\nbroker_port=%s\n[cluster.topology]\nunit_name=d1\nexperiment=e1\n", port)
	if err := os.WriteFile(filepath.Join(dir, "config.ini"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "PIO_HOME="+dir, "PIO_RUN_DIR="+filepath.Join(dir, "run")), addr
}

func pioIn(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(pioBin, args...)
	cmd.Env = env
	return cmd
}

// startDaemon starts pio daemon and waits for its $state ready.
func startDaemon(t *testing.T, env []string, obs *observer) (*exec.Cmd, *bytes.Buffer) {
	cmd := pioIn(env, "daemon")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	obs.waitFor(t, "pioreactor/d1/$experiment/daemon/$state", "ready")
	return cmd, &stderr
}

// pio run on a unit whose daemon runs hands the job to the daemon: the
// job runs after the terminal's pio has exited, and pio kill stops it.
func TestDaemonHandOff(t *testing.T) {
	env, addr := daemonHome(t)
	obs := observe(t, addr)
	daemon, stderr := startDaemon(t, env, obs)

	out, err := pioIn(env, "run", "stirring", "--target-rpm", "400").CombinedOutput()
	if err != nil || string(out) != "stirring started under experiment e1 (hosted by the unit's daemon)\n" {
		t.Fatalf("pio run stirring: %v\n%s", err, out)
	}
	// pio run has exited; stirring runs on.
	obs.waitFor(t, "pioreactor/d1/e1/stirring/$state", "ready")

	out, err = pioIn(env, "run", "stirring").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "pio: stirring") || !strings.Contains(string(out), "already running") {
		t.Fatalf("a second stirring: %v\n%s", err, out)
	}

	// A script and its local module travel with the request.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "helpers.star"), []byte("target = 0.5\n"), 0o644)
	script := filepath.Join(dir, "mine.star")
	os.WriteFile(script, []byte("load(\"helpers.star\", \"target\")\napi_version = 1\ndef execute():\n    pass\n"), 0o644)
	out, err = pioIn(env, "run-script", script, "--experiment", "e2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dosing_automation started under experiment e2 (hosted by the unit's daemon)") {
		t.Fatalf("pio run-script: %v\n%s", err, out)
	}
	obs.waitFor(t, "pioreactor/d1/e2/dosing_automation/$state", "ready")

	out, err = pioIn(env, "kill", "stirring").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Killed 1 jobs.") {
		t.Fatalf("pio kill: %v\n%s", err, out)
	}
	obs.waitFor(t, "pioreactor/d1/e1/stirring/$state", "disconnected")

	// --foreground runs here: a one-off OD reading.
	out, err = pioIn(env, "run", "od_reading", "--snapshot", "--foreground").CombinedOutput()
	if err != nil || strings.Contains(string(out), "hosted by") {
		t.Fatalf("pio run --foreground: %v\n%s", err, out)
	}

	daemon.Process.Signal(syscall.SIGTERM)
	waitExit(t, daemon, stderr)
	obs.waitFor(t, "pioreactor/d1/e2/dosing_automation/$state", "disconnected")
	obs.waitFor(t, "pioreactor/d1/$experiment/daemon/$state", "disconnected")

	// No daemon: pio run works alone again (and would host the job here).
	out, err = pioIn(env, "kill", "stirring").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no job named stirring is running") {
		t.Fatalf("pio kill without a daemon: %v\n%s", err, out)
	}
}

// A daemon killed outright leaves itself and its jobs lost: their wills.
func TestDaemonKilledIsLost(t *testing.T) {
	env, addr := daemonHome(t)
	obs := observe(t, addr)
	startDaemon(t, env, obs)
	if out, err := pioIn(env, "run", "stirring").CombinedOutput(); err != nil {
		t.Fatalf("pio run stirring: %v\n%s", err, out)
	}
	obs.waitFor(t, "pioreactor/d1/e1/stirring/$state", "ready")
	// The daemon runs in a child of pio daemon (its memory budget); the
	// registry names the process that hosts the jobs.
	var runDir string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PIO_RUN_DIR="); ok {
			runDir = v
		}
	}
	entry, ok := (&runtime.Registry{Dir: filepath.Join(runDir, "d1")}).Lookup("daemon")
	if !ok || entry.PID <= 0 {
		t.Fatalf("no daemon in the registry: %+v", entry)
	}
	if err := syscall.Kill(entry.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"pioreactor/d1/$experiment/daemon/$state", "pioreactor/d1/e1/stirring/$state"} {
		deadline := time.Now().Add(15 * time.Second)
		for obs.last(topic) != "lost" {
			if time.Now().After(deadline) {
				t.Fatalf("%s is %q, want lost", topic, obs.last(topic))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// pio run no longer hands off: the registry entry died with the process.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, held := (&runtime.Registry{Dir: filepath.Join(runDir, "d1")}).Lookup("daemon"); !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon's registry entry outlived it")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
