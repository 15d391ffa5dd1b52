package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// runPioInput runs pio in-process with input as its stdin.
func runPioInput(t *testing.T, input string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, log bytes.Buffer
	app := newApp(&out, &log)
	app.Reader = strings.NewReader(input)
	err = app.RunContext(context.Background(), append([]string{"pio"}, args...))
	return out.String(), log.String(), err
}

// The duration-based protocol at the terminal, with the pump running on
// the simulator: three runs, the volumes typed (one typo), the line fitted,
// saved in upstream's layout and made active.
func TestCalibrationsRunOnTheSimulator(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	home := t.TempDir()
	input := "\n0.11\n\nabc\n0.2\n\n0.31\ny\n"
	out, _, err := runPioInput(t, input, "--home", home, "--broker", addr, "--unit", "u1", "--experiment", "e1",
		"calibrations", "run", "--device", "media_pump", "--durations", "0.2,0.4,0.6", "--name", "m1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"Run 1 of 3: press Enter to run media_pump for 0.2 s",
		`"abc" is not a volume`,
		"Fit: volume = 0.5000 mL/s · seconds +0.0067 mL (R² 0.9967 over 3 runs)",
		"Save as m1 and make it active? [Y/n] Saved media_pump/m1 in " + filepath.Join(home, "storage", "calibrations") + " and made it active.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	p, err := calibration.NewStore(home).Active("media_pump")
	if err != nil || p.Name != "m1" || p.Unit != "u1" || len(p.RecordedX) != 3 || p.RecordedY[1] != 0.2 || p.Hz != 250 || p.DC != 100 {
		t.Fatalf("active %+v %v", p, err)
	}
	b, err := os.ReadFile(filepath.Join(home, "storage", "calibrations", "media_pump", "m1.yaml"))
	if err != nil || !strings.HasPrefix(string(b), "calibration_type: simple_peristaltic_pump\ncalibration_name: m1\ncalibrated_on_pioreactor_unit: u1\n") ||
		!strings.Contains(string(b), "recorded_data:\n  x: [0.2, 0.4, 0.6]\n  y: [0.11, 0.2, 0.31]\n") {
		t.Errorf("stored file %v:\n%s", err, b)
	}
	out, _, err = runPio(t, "--home", home, "calibrations", "show", "media_pump")
	if err != nil || !strings.HasPrefix(out, "media_pump/m1: 0.5000 mL/s") || !strings.HasSuffix(out, "(active)\n") {
		t.Errorf("show after run: %v\n%s", err, out)
	}

	// Answering no saves nothing; input that ends early says so.
	home = t.TempDir()
	out, _, err = runPioInput(t, "\n1\n\n2\nn\n", "--home", home, "--broker", addr, "--unit", "u1", "--experiment", "e1",
		"calibrations", "run", "--device", "waste_pump", "--durations", "0.1,0.2")
	if err != nil || !strings.HasSuffix(out, "Not saved.\n") {
		t.Errorf("answer no: %v\n%s", err, out)
	}
	_, _, err = runPioInput(t, "", "--home", t.TempDir(), "--broker", addr, "--unit", "u1", "--experiment", "e1",
		"calibrations", "run", "--device", "waste_pump", "--durations", "0.1,0.2")
	if err == nil || err.Error() != "input ended before run 1; nothing saved" {
		t.Errorf("input ending early: %v", err)
	}
	if list, _ := calibration.NewStore(home).List("waste_pump"); len(list) != 0 {
		t.Errorf("waste_pump calibrations saved: %+v", list)
	}
}

func TestCalibrationsRunRefusals(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--device", "media"}, "--device media: a pump's device ends in _pump"},
		{[]string{"--device", "media_pump", "--durations", "1,1"}, "a line needs two or more distinct durations"},
		{[]string{"--device", "media_pump", "--durations", "1,500"}, `"500" is not a number of seconds above 0 and at most 120`},
		{[]string{"--device", "media_pump", "--dc", "0"}, "dc must be within (0, 100], got 0"},
		{[]string{"--device", "Media_pump"}, `device "Media_pump" is not a device name`},
	} {
		_, _, err := runPioInput(t, "", append([]string{"--home", t.TempDir(), "calibrations", "run"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// An upstream file copied into <home>/storage/calibrations/<device>/ is
// listed, displayed, made active, used by the pump, and deleted.
func TestCalibrationsManageUpstreamFiles(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(home, "storage", "calibrations")
	for _, rel := range []string{"media_pump/default_media_pump_cal.yaml", "media_pump/curved.yaml", "od90/od90-2025.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "calibration", "testdata", "upstream", rel))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	}
	pio := func(args ...string) string {
		t.Helper()
		out, _, err := runPio(t, append([]string{"--home", home, "calibrations"}, args...)...)
		if err != nil {
			t.Fatalf("pio calibrations %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	out := pio("list")
	for _, want := range []string{"media_pump           curved ", "media_pump           default_media_pump_cal", "od90                 od90-2025                                od "} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if out := pio("set-active", "--device", "media_pump", "--name", "curved"); out != "media_pump/curved is active\n" {
		t.Errorf("set-active: %q", out)
	}
	out = pio("display", "--device", "media_pump")
	for _, want := range []string{"media_pump/curved (active): simple_peristaltic_pump", "Volume = 0.002·x^2 + 0.5·x + 0.1, x = Duration", "recorded (5 points):", "---\ncalibration_type: simple_peristaltic_pump"} {
		if !strings.Contains(out, want) {
			t.Errorf("display lacks %q:\n%s", want, out)
		}
	}
	if out := pio("list", "--device", "media_pump"); !strings.Contains(out, "curved") || !strings.Contains(strings.SplitAfter(out, "\n")[1], "yes") {
		t.Errorf("list --device marks the active one:\n%s", out)
	}
	if out := pio("show", "media_pump"); !strings.HasPrefix(out, "media_pump/curved: ") || !strings.Contains(out, "mean rate of the curve 0.002·x^2 + 0.5·x + 0.1") {
		t.Errorf("show: %q", out)
	}
	if out := pio("delete", "--device", "media_pump", "--name", "curved"); out != "deleted media_pump/curved\n" {
		t.Errorf("delete: %q", out)
	}
	if out := pio("set-active", "--device", "media_pump"); out != "media_pump has no active calibration now\n" {
		t.Errorf("set-active without --name: %q", out)
	}
	if _, _, err := runPio(t, "--home", home, "calibrations", "display", "--device", "media_pump"); err == nil || !strings.Contains(err.Error(), "media_pump has no active calibration") {
		t.Errorf("display with none active: %v", err)
	}
}
