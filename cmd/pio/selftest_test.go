package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
	"github.com/piolab/pio/selftest"
)

// runSelfTest runs a pio command line in-process, as runPio does, with the
// self-test command in the app.
func runSelfTest(t *testing.T, args ...string) (stdout string, code int) {
	t.Helper()
	var out, log bytes.Buffer
	app := newApp(&out, &log)
	if app.Command("self-test") == nil {
		app.Commands = append(app.Commands, selfTestCommand())
	}
	err := app.RunContext(context.Background(), append([]string{"pio"}, args...))
	var exit *exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.code
	default:
		t.Fatalf("pio %s: %v\n%s", strings.Join(args, " "), err, log.String())
	}
	return out.String(), code
}

func TestSelfTestPassesOnTheSimulator(t *testing.T) {
	out, code := runSelfTest(t, "--home", t.TempDir(), "self-test")
	if code != 0 {
		t.Fatalf("exit status %d:\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(selftest.Checks())+1 {
		t.Fatalf("%d lines, want one per check and a summary:\n%s", len(lines), out)
	}
	for i, c := range selftest.Checks() {
		if !strings.HasPrefix(lines[i], "PASS  "+c.Name+" ") {
			t.Errorf("line %d is %q, want PASS %s", i+1, lines[i], c.Name)
		}
	}
	for _, want := range []string{"media 0.", "REF 0.2", "for the target 500 RPM", "rose 1.", "all 7 checks passed on simulated reactor"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSelfTestFailsWithExitStatus1(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.ini")
	// The heater unwired: the heater check fails, naming what is missing.
	os.WriteFile(cfg, []byte("[PWM]\n5=\n"), 0o644)
	out, code := runSelfTest(t, "--home", dir, "--config", cfg, "self-test")
	if code != 1 {
		t.Errorf("exit status %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"PASS  stirring ", "FAIL  heater                no PWM channel is wired to heating in [PWM]", "1 of 7 checks failed on simulated reactor: heater"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSelfTestJSON(t *testing.T) {
	out, code := runSelfTest(t, "--home", t.TempDir(), "--unit", "u7", "self-test", "--json", "--check", "leds", "--check", "heater")
	if code != 0 {
		t.Fatalf("exit status %d:\n%s", code, out)
	}
	var rep struct {
		Unit      string `json:"unit"`
		Simulated bool   `json:"simulated"`
		Passed    bool   `json:"all_tests_passed"`
		Results   []struct {
			Name, Description, Message string
			Passed                     bool
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if rep.Unit != "u7" || !rep.Simulated || !rep.Passed || len(rep.Results) != 2 ||
		rep.Results[0].Name != "leds" || rep.Results[1].Name != "heater" || !strings.HasPrefix(rep.Results[1].Message, "rose ") {
		t.Errorf("report %+v", rep)
	}
}

func TestSelfTestRefusesAnUnknownCheck(t *testing.T) {
	var out, log bytes.Buffer
	app := newApp(&out, &log)
	if app.Command("self-test") == nil {
		app.Commands = append(app.Commands, selfTestCommand())
	}
	err := app.RunContext(context.Background(), []string{"pio", "--home", t.TempDir(), "self-test", "--check", "heaters"})
	if err == nil || !strings.Contains(err.Error(), `no check is named "heaters"`) {
		t.Errorf("error %v", err)
	}
}

// --real-time runs on the unit's machine: its board (the simulated reactor
// here, in real time) and broker. Only the instant check runs.
func TestSelfTestRealTime(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	out, code := runSelfTest(t, "--home", t.TempDir(), "--broker", addr, "self-test", "--real-time", "--check", "pwm_outputs")
	if code != 0 || !strings.HasPrefix(out, "PASS  pwm_outputs ") {
		t.Errorf("exit status %d:\n%s", code, out)
	}
}
