package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// runPio runs the command line in-process and returns its output and logs.
func runPio(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, log bytes.Buffer
	err = Run(context.Background(), append([]string{"pio"}, args...), &out, &log)
	return out.String(), log.String(), err
}

func TestInProcessVersion(t *testing.T) {
	out, _, err := runPio(t, "version")
	if err != nil || !strings.HasPrefix(out, "pio "+Version) {
		t.Fatalf("version: %q, %v", out, err)
	}
}

func TestInProcessSimulate(t *testing.T) {
	out, _, err := runPio(t, "--home", t.TempDir(), "simulate", "../../scripts/examples/three_pumps.star", "--for", "24h", "--seed", "1", "--volume", "0.25")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"simulated 24h0m0s of three_pumps", "execute_io_action calls: 72 started, 72 completed, 0 failed", "booked    18.000 mL", "162.000 mL"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestInProcessRefusals(t *testing.T) {
	dir := t.TempDir()
	temp := filepath.Join(dir, "hold.star")
	os.WriteFile(temp, []byte("automation_type = \"temperature\"\n\ndef execute():\n    pass\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "other"), 0o755)
	badCfg := filepath.Join(dir, "other", "config.ini")
	os.WriteFile(badCfg, []byte("[dosing_automation.config]\nmax_subdose=-1\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "../../scripts/examples/three_pumps.star", "--for", "1h", "--volume", "lots"}, `setting volume: want a number, got "lots"`},
		{[]string{"simulate", temp, "--for", "1h", "--target-temperature", "warm"}, `--target-temperature: want a temperature in °C, got "warm"`},
		{[]string{"simulate", temp, "--for", "1h", "--plot", "run.jpg"}, "--plot run.jpg: pio draws .png and .svg files"},
		{[]string{"simulate", "turbidostatt", "--for", "1h"}, "pio ships no automation of that name (dosing: chemostat, fed_batch, pid_morbidostat, silent, turbidostat"},
		{[]string{"--config", badCfg, "simulate", "../../scripts/examples/three_pumps.star", "--for", "1h"}, "[dosing_automation.config] max_subdose"},
		{[]string{"--broker", "127.0.0.1:1", "run", "add_media", "--ml", "1"}, "no MQTT broker answers at 127.0.0.1:1"},
	}
	for _, tt := range tests {
		_, _, err := runPio(t, append([]string{"--home", dir}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("pio %s: error %v, want one containing %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}

func TestInProcessManualPumpOnAnEmbeddedBroker(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	home := t.TempDir()
	out, _, err := runPio(t, "--home", home, "--broker", addr, "--unit", "u1", "--experiment", "e1", "run", "add_media", "--duration", "0.2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "add_media: moved 0.1000 mL") {
		t.Errorf("output %q, want the 0.1 mL the simulated pump moves in 0.2 s", out)
	}
	// The calibration commands work on the same home.
	if _, _, err := runPio(t, "--home", home, "calibrations", "set", "--device", "media_pump", "--ml-per-second", "0.25"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runPio(t, "--home", home, "calibrations", "show", "media_pump")
	if err != nil || !strings.Contains(out, "media_pump/") || !strings.Contains(out, "0.2500 mL/s") {
		t.Errorf("calibrations show: %q, %v", out, err)
	}
}

// Global flags may follow a manual pump's name, as they follow run-script's
// file and kill's name.
func TestInProcessManualPumpTakesGlobalFlagsAfterItsName(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	out, _, err := runPio(t, "run", "add_media", "--duration", "0.2", "--home", t.TempDir(), "--broker", addr, "--unit", "u1", "--experiment", "e1")
	if err != nil || !strings.Contains(out, "add_media: moved 0.1000 mL") {
		t.Errorf("pio run add_media ... --home DIR --broker ADDR: %q, %v", out, err)
	}
}
