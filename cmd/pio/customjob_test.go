package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A custom job over the real embedded broker, end to end: pio run-script
// starts it, it publishes its readings and $state, a second run-script of
// it is refused as any job's, pio mqtt shows it, and pio kill stops it,
// clearing its readings.
func TestCustomJobRunsAndIsKilled(t *testing.T) {
	b := newExternalBroker(t)
	script := filepath.Join(b.dir, "ticker.star")
	os.WriteFile(script, []byte(`api_version = 1
job_name = "ticker"
settings = {"interval": 0.2}

def run():
    n = store.get("n", 0) + 1
    store["n"] = n
    publish("count", n)
    publish("status", {"n": n, "rpm": store.get("rpm")})

def on_rpm(topic, payload):
    store["rpm"] = float(payload)

handlers = {"stirring/target_rpm": on_rpm}
`), 0o644)
	cmd := pio(t, b.dir, "run-script", script, "--broker", b.addr, "--interval", "0.1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	b.obs.waitFor(t, "pioreactor/u1/e1/ticker/interval", "0.1") // published before ready
	b.obs.waitFor(t, "pioreactor/u1/e1/ticker/$state", "ready")
	b.obs.waitFor(t, "pioreactor/u1/e1/ticker/count", "3")
	if err := b.obs.client.Publish("pioreactor/u1/e1/stirring/target_rpm", []byte("500"), 1, false); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(b.obs.last("pioreactor/u1/e1/ticker/status"), `"rpm":500.0`); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("status %q: the handler's value never reached run()\n%s", b.obs.last("pioreactor/u1/e1/ticker/status"), &stderr)
		}
	}

	out, err := pio(t, b.dir, "run-script", script, "--broker", b.addr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ticker job is already running") {
		t.Errorf("second run-script: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	mqtt := exec.CommandContext(ctx, pioBin, "--broker", b.addr, "mqtt", "--topic", "pioreactor/u1/e1/ticker/#")
	mqtt.Env = append(os.Environ(), "PIO_HOME="+b.dir)
	var tail syncBuffer
	mqtt.Stdout = &tail
	if err := mqtt.Start(); err != nil {
		t.Fatal(err)
	}
	defer mqtt.Process.Kill()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(tail.String(), "ticker/count"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pio mqtt never showed ticker/count:\n%s", tail.String())
		}
	}

	out, err = pio(t, b.dir, "kill", "--broker", b.addr, "ticker").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Killed 1 jobs.") {
		t.Errorf("pio kill ticker: %v\n%s", err, out)
	}
	waitExit(t, cmd, &stderr)
	b.obs.waitFor(t, "pioreactor/u1/e1/ticker/$state", "disconnected")
	for _, reading := range []string{"count", "status", "interval"} {
		if got := b.obs.last("pioreactor/u1/e1/ticker/" + reading); got != "" {
			t.Errorf("%s is %q after the job stopped, want it cleared", reading, got)
		}
	}
}

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
