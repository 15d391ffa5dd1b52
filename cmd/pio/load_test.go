package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// loadTree writes a script that loads a helper next to it and one of pio's
// library modules, and returns the script's path.
func loadTree(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "helpers.star"), []byte("def half(ml):\n    return ml / 2\n"), 0o644)
	path := filepath.Join(dir, "halves.star")
	os.WriteFile(path, []byte(`load("helpers.star", "half")
load("@stdlib/units.star", "minutes")

settings = {"volume": 1.0}

def execute():
    execute_io_action(media_ml = half(setting("volume")), waste_ml = half(setting("volume")))
    log.info(fmt("dosed %.2f mL, next in %d s", half(setting("volume")), minutes(1)))
`), 0o644)
	return path
}

// pio simulate runs a script whose helper is next to it, in virtual time.
func TestSimulateLoadsAHelperNextToTheScript(t *testing.T) {
	path := loadTree(t)
	out, log, err := runPio(t, "--home", t.TempDir(), "simulate", path, "--for", "1h", "--volume", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "execute_io_action calls: 1 started, 1 completed, 0 failed") || !strings.Contains(log, "dosed 0.25 mL, next in 60 s") {
		t.Errorf("output:\n%s\nlog:\n%s", out, log)
	}
}

// pio run-script runs it too, on the unit.
func TestRunScriptLoadsAHelperNextToTheScript(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	path := loadTree(t)
	_, log, err := runPio(t, "--home", t.TempDir(), "--broker", addr, "--unit", "u1", "--experiment", "e1", "run-script", path, "--volume", "0.02")
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if !strings.Contains(log, "dosed 0.01 mL, next in 60 s") {
		t.Errorf("log:\n%s", log)
	}
}

// A load error stops both commands with the line of the load statement,
// before anything runs.
func TestLoadErrorsStopSimulateAndRunScript(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.star"), []byte("load(\"b.star\", \"B\")\n\ndef execute():\n    pass\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.star"), []byte("load(\"a.star\", \"execute\")\nB = 1\n"), 0o644)
	want := `a.star:1:1: load("b.star"): cycle: a.star -> b.star -> a.star`
	for _, cmd := range []string{"simulate", "run-script"} {
		_, _, err := runPio(t, "--home", dir, "--broker", "127.0.0.1:1", cmd, filepath.Join(dir, "a.star"))
		if err == nil || err.Error() != want {
			t.Errorf("pio %s: error %v, want %s", cmd, err, want)
		}
	}
}
