package main

import (
	"strings"
	"testing"
)

func TestCalibrationsShowWhatThePumpRunsWith(t *testing.T) {
	home := t.TempDir()
	// No active calibration: the simulated board's factory calibration.
	out, _, err := runPio(t, "--home", home, "calibrations", "show", "media_pump")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "media_pump/simulated: 0.5000 mL/s (+ 0.0000 mL) at 250 Hz, 100% (factory: no active calibration") ||
		!strings.Contains(out, "pio calibrations set --device media_pump") {
		t.Errorf("show media_pump:\n%s", out)
	}
	// An active calibration wins, and says so.
	if _, _, err := runPio(t, "--home", home, "calibrations", "set", "--device", "media_pump", "--ml-per-second", "0.25", "--name", "m1"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runPio(t, "--home", home, "calibrations", "show", "media_pump")
	if err != nil || !strings.HasPrefix(out, "media_pump/m1: 0.2500 mL/s") || !strings.HasSuffix(out, "(active)\n") {
		t.Errorf("show media_pump after set: %v\n%s", err, out)
	}
	// A device with no [PWM] channel is named as such.
	out, _, err = runPio(t, "--home", home, "calibrations", "show", "nope_pump")
	if err != nil || !strings.Contains(out, `note: no [PWM] channel is assigned to "nope"`) {
		t.Errorf("show nope_pump: %v\n%s", err, out)
	}
}
