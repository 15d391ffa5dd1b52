package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/unit"
)

var pioBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pio-cli-test")
	if err != nil {
		panic(err)
	}
	pioBin = filepath.Join(dir, "pio")
	// Job and output locks are per machine; the tests keep theirs apart.
	os.Setenv("PIO_RUN_DIR", filepath.Join(dir, "run"))
	if out, err := exec.Command("go", "build", "-o", pioBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// home makes a PIO_HOME with a config for broker port and a script that
// pumps media for 40 s (20 mL) as soon as the job is ready.
func home(t *testing.T, port int) (dir, script string) {
	dir = t.TempDir()
	cfg := fmt.Sprintf("[mqtt]\nbroker_port=%d\n[cluster.topology]\nunit_name=u1\nexperiment=e1\n[dosing_automation.config]\nfirst_run_delay_seconds=0\n", port)
	if err := os.WriteFile(filepath.Join(dir, "config.ini"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, "long_pump.star")
	os.WriteFile(script, []byte("def execute():\n    add_media(duration=40)\n"), 0o644)
	return dir, script
}

func pio(t *testing.T, home string, args ...string) *exec.Cmd {
	cmd := exec.Command(pioBin, args...)
	cmd.Env = append(os.Environ(), "PIO_HOME="+home)
	return cmd
}

type observer struct {
	client pubsub.Client
	mu     sync.Mutex
	msgs   []pubsub.Message
	// seen is how many messages waitFor has consumed.
	seen int
}

// observe connects to the broker at addr (retrying while it starts) and
// records everything under pioreactor/.
func observe(t *testing.T, addr string) *observer {
	o := &observer{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: fmt.Sprintf("obs-%d", time.Now().UnixNano())}, time.Second)
		if err == nil {
			o.client = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no broker at %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { o.client.Close() })
	o.client.Subscribe("pioreactor/#", 2, func(m pubsub.Message) {
		o.mu.Lock()
		o.msgs = append(o.msgs, m)
		o.mu.Unlock()
	})
	return o
}

func (o *observer) last(topic string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := ""
	for _, m := range o.msgs {
		if m.Topic == topic {
			v = string(m.Payload)
		}
	}
	return v
}

// waitFor waits until topic carries payload in a message newer than the one
// the previous waitFor matched. It looks for the message rather than the last
// value because a broker may deliver the retained snapshot sent at
// subscription after a live message that overtook it.
func (o *observer) waitFor(t *testing.T, topic, payload string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		o.mu.Lock()
		for i := o.seen; i < len(o.msgs); i++ {
			if o.msgs[i].Topic == topic && string(o.msgs[i].Payload) == payload {
				o.seen = i + 1
				o.mu.Unlock()
				return
			}
		}
		o.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s never became %q (last %q)", topic, payload, o.last(topic))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (o *observer) mediaEvents() []float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []float64
	for _, m := range o.msgs {
		if m.Topic == "pioreactor/u1/e1/dosing_events" {
			var e struct {
				V float64 `json:"volume_change"`
			}
			json.Unmarshal(m.Payload, &e)
			out = append(out, e.V)
		}
	}
	return out
}

func waitExit(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pio exited with %v\n%s", err, stderr)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("pio did not exit\n%s", stderr)
	}
}

// Every way of stopping a running script leaves the pump off and the job
// disconnected.
func TestStopPathsLeavePumpsOff(t *testing.T) {
	stops := map[string]func(t *testing.T, cmd *exec.Cmd, dir string){
		"SIGINT":  func(t *testing.T, cmd *exec.Cmd, _ string) { cmd.Process.Signal(os.Interrupt) },
		"SIGTERM": func(t *testing.T, cmd *exec.Cmd, _ string) { cmd.Process.Signal(syscall.SIGTERM) },
		"pio kill": func(t *testing.T, _ *exec.Cmd, dir string) {
			out, err := pio(t, dir, "kill", "dosing_automation").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Killed 1 jobs.") {
				t.Errorf("pio kill: %v\n%s", err, out)
			}
		},
	}
	for name, stop := range stops {
		t.Run(name, func(t *testing.T) {
			port := freePort(t)
			dir, script := home(t, port)
			cmd := pio(t, dir, "run-script", script)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			obs := observe(t, fmt.Sprintf("127.0.0.1:%d", port))
			obs.waitFor(t, "pioreactor/u1/e1/add_media/$state", "ready")
			stop(t, cmd, dir)
			waitExit(t, cmd, &stderr)
			if got := obs.last("pioreactor/u1/e1/add_media/$state"); got != "disconnected" {
				t.Errorf("add_media $state %q", got)
			}
			if got := obs.last("pioreactor/u1/e1/dosing_automation/$state"); got != "disconnected" {
				t.Errorf("dosing_automation $state %q\n%s", got, &stderr)
			}
			if ev := obs.mediaEvents(); len(ev) == 0 || ev[len(ev)-1] >= 0 {
				t.Errorf("dosing events %v: want an early-stop correction last\n%s", ev, &stderr)
			}
			if !strings.Contains(stderr.String(), "started the embedded broker") {
				t.Errorf("no log line about the embedded broker:\n%s", &stderr)
			}
		})
	}
}

// externalBroker is a broker that outlives the pio processes of a test, with
// an observer on it and a home whose script pumps media as soon as it runs.
type externalBroker struct {
	addr        string
	obs         *observer
	dir, script string
}

func newExternalBroker(t *testing.T) *externalBroker {
	broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	dir, script := home(t, 1)
	return &externalBroker{addr: broker.Addr(), obs: observe(t, broker.Addr()), dir: dir, script: script}
}

// runScript starts pio run-script against the broker and waits until the
// automation is ready.
func (b *externalBroker) runScript(t *testing.T) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := pio(t, b.dir, "run-script", b.script, "--broker", b.addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	b.obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/$state", "ready")
	return cmd, &stderr
}

// A job killed outright is marked lost by its last will, and can start again
// at once: nothing stale blocks it.
func TestKilledJobIsLostAndRestartable(t *testing.T) {
	b := newExternalBroker(t)
	cmd, _ := b.runScript(t)
	b.obs.waitFor(t, "pioreactor/u1/e1/add_media/$state", "ready")
	// The process that hosts the job (the script's process, a child of the
	// command) dies outright.
	e, ok := (&runtime.Registry{Dir: unit.RunDir("u1")}).Lookup("dosing_automation")
	if !ok {
		t.Fatal("dosing_automation is not in the unit's registry")
	}
	syscall.Kill(e.PID, syscall.SIGKILL)
	cmd.Wait()
	b.obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/$state", "lost")
	// The pump it was running is a job too: its own will marks it lost.
	for deadline := time.Now().Add(15 * time.Second); b.obs.last("pioreactor/u1/e1/add_media/$state") != "lost"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("add_media/$state is %q after its process died, want lost", b.obs.last("pioreactor/u1/e1/add_media/$state"))
		}
	}

	again, stderr := b.runScript(t)
	again.Process.Signal(syscall.SIGTERM)
	waitExit(t, again, stderr)
}

func TestOneAutomationPerUnit(t *testing.T) {
	b := newExternalBroker(t)
	first, stderr := b.runScript(t)
	out, err := pio(t, b.dir, "run-script", b.script, "--broker", b.addr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "dosing_automation job is already running") {
		t.Errorf("second automation: %v\n%s", err, out)
	}
	first.Process.Signal(os.Interrupt)
	waitExit(t, first, stderr)
}

func TestBadInputFailsWithOneClearLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.star")
	os.WriteFile(bad, []byte("settings = {\"volume\": 1.0}\ndef execute():\n    execute_io_action(media_ml=1.0 waste_ml=1.0)\n"), 0o644)
	good := "../../scripts/examples/three_pumps.star"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"simulate", bad}, "pio: bad.star:3:44: got identifier, want ','"},
		{[]string{"simulate", good, "--volumee", "1"}, `pio: unknown setting "volumee" for three_pumps (settings: duration, volume)`},
		{[]string{"simulate", good, "--volume", "lots"}, `pio: setting volume: want a number, got "lots"`},
		{[]string{"simulate", good, "--for", "-1h"}, "pio: --for: want a positive duration"},
		{[]string{"simulate", filepath.Join(dir, "missing.star")}, "no such file"},
		{[]string{"run", "add_media", "--ml", "1", "--duration", "1"}, "select exactly one of ml, duration, or continuously"},
		{[]string{"run", "add_media", "--ml", "-1"}, "ml must not be negative"},
		{[]string{"kill"}, "name a job"},
	}
	for _, tt := range tests {
		port := freePort(t)
		h, _ := home(t, port)
		out, err := pio(t, h, tt.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("pio %v: %v\n%s\nwant %q", tt.args, err, out, tt.want)
		}
	}
}

func TestSimulateRecordsAndSummarises(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "events.jsonl")
	out, err := pio(t, t.TempDir(), "simulate", "../../scripts/examples/three_pumps.star", "--for", "2h", "--seed", "3", "--record", rec, "--volume", "0.4").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"execute_io_action calls: 6 started, 6 completed, 0 failed", "script errors: 0", "pump_salty_media"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var first, last struct {
		T        float64 `json:"t"`
		Topic    string  `json:"topic"`
		Payload  string  `json:"payload"`
		Retained bool    `json:"retained"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.T != 0 || first.Topic == "" {
		t.Errorf("first line %s (%v)", lines[0], err)
	}
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if last.T != 7200 {
		t.Errorf("last line at t=%v, want 7200", last.T)
	}
	if !strings.Contains(string(b), `"topic":"pioreactor/sim/sim/dosing_automation/volume","payload":"0.4","retained":true`) {
		t.Error("the --volume override is not in the record")
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run-script", "--help"}, {"simulate", "--help"}, {"run", "add_media", "--help"}, {"kill", "--help"}, {"mqtt", "--help"}, {"version"}} {
		out, err := pio(t, t.TempDir(), args...).CombinedOutput()
		if err != nil || len(out) < 10 {
			t.Errorf("pio %v: %v\n%s", args, err, out)
		}
	}
	out, _ := pio(t, t.TempDir(), "run-script", "--help").CombinedOutput()
	if !strings.Contains(string(out), "--<setting>") {
		t.Errorf("run-script help does not explain settings:\n%s", out)
	}
}

// BenchmarkColdStartSimulate starts the pio binary on a trivial script in
// virtual time and waits for it to exit: process start, config, script
// compile, job start, the first execute() (at 2 s virtual), and shutdown.
func BenchmarkColdStartSimulate(b *testing.B) {
	dir := b.TempDir()
	script := filepath.Join(dir, "trivial.star")
	os.WriteFile(script, []byte("settings = {\"duration\": 20.0}\ndef execute():\n    log.info(\"hello\")\n"), 0o644)
	for b.Loop() {
		cmd := exec.Command(pioBin, "simulate", script, "--for", "3s", "--quiet")
		cmd.Env = append(os.Environ(), "PIO_HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

func TestManualPumpByVolumeAndKill(t *testing.T) {
	port := freePort(t)
	dir, _ := home(t, port)
	// A broker that outlives the pump commands, so the observer sees everything.
	broker, err := mqttnet.StartEmbedded(fmt.Sprintf("127.0.0.1:%d", port), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	obs := observe(t, broker.Addr())

	out, err := pio(t, dir, "run", "add_media", "--ml", "0.25").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "add_media: moved 0.2500 mL") {
		t.Fatalf("%v\n%s", err, out)
	}
	if ev := obs.mediaEvents(); len(ev) != 1 || ev[0] != 0.25 {
		t.Errorf("dosing events %v, want [0.25]", ev)
	}

	cont := pio(t, dir, "run", "remove_waste", "--continuously")
	var stderr bytes.Buffer
	cont.Stderr = &stderr
	if err := cont.Start(); err != nil {
		t.Fatal(err)
	}
	defer cont.Process.Kill()
	obs.waitFor(t, "pioreactor/u1/e1/remove_waste/$state", "ready")
	out, err = pio(t, dir, "kill", "--all").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Killed 1 jobs.") {
		t.Errorf("pio kill --all: %v\n%s", err, out)
	}
	waitExit(t, cont, &stderr)
	obs.waitFor(t, "pioreactor/u1/e1/remove_waste/$state", "disconnected")
}

// A unit's jobs and pumps belong to the machine, not to a home folder: a
// second run-script, or a manual pump, started with another home is told
// who holds what, and publishes nothing.
func TestUnitBelongsToTheMachineNotTheHome(t *testing.T) {
	b := newExternalBroker(t)
	first, stderr := b.runScript(t)
	b.obs.waitFor(t, "pioreactor/u1/e1/add_media/$state", "ready")
	otherHome, _ := home(t, 1)

	out, err := pio(t, otherHome, "run-script", b.script, "--broker", b.addr).CombinedOutput()
	// The pid is the process that runs the script (a child of the command
	// when scripts run under a memory budget).
	want := "dosing_automation job is already running (pid "
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("run-script from another home: %v\n%s\nwant %q", err, out, want)
	}
	out, err = pio(t, otherHome, "--broker", b.addr, "run", "add_media", "--duration", "1").CombinedOutput()
	want = "add_media: PWM channel 2 is in use by dosing_automation (add_media) (pid "
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("manual pump from another home: %v\n%s\nwant %q", err, out, want)
	}
	first.Process.Signal(os.Interrupt)
	waitExit(t, first, stderr)
}

// A script that does not load starts nothing: no embedded broker, no
// monitor, no message on a broker that runs.
func TestBrokenScriptStartsNothing(t *testing.T) {
	b := newExternalBroker(t)
	broken := filepath.Join(b.dir, "broken.star")
	os.WriteFile(broken, []byte("def execute():\n    x = 10**9\n"), 0o644)
	out, err := pio(t, b.dir, "run-script", broken, "--broker", b.addr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "broken.star:2:") {
		t.Fatalf("broken script: %v\n%s", err, out)
	}
	// pio has exited: whatever it published reached the broker before this
	// marker, and reaches the observer first.
	if err := b.obs.client.Publish("pioreactor/test/marker", []byte("end"), 1, false); err != nil {
		t.Fatal(err)
	}
	b.obs.waitFor(t, "pioreactor/test/marker", "end")
	b.obs.mu.Lock()
	n := len(b.obs.msgs)
	b.obs.mu.Unlock()
	if n != 1 {
		t.Errorf("a script that did not load published %d messages", n-1)
	}

	// Without a broker, none is started.
	dir, _ := home(t, freePort(t))
	out, err = pio(t, dir, "run-script", broken).CombinedOutput()
	if err == nil || strings.Contains(string(out), "embedded broker") {
		t.Errorf("broken script with no broker: %v\n%s", err, out)
	}
}
