package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/calibration"
)

// defaultKeys lists every [section] key of Defaults, in order.
func defaultKeys() [][2]string {
	var keys [][2]string
	section := ""
	for _, line := range strings.Split(Defaults, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			key, _, _ := strings.Cut(line, "=")
			keys = append(keys, [2]string{section, key})
		}
	}
	return keys
}

// FuzzOptions gives one key pio reads any value, in a file read by Load and
// as an override (Set), and reads the Options. Nothing panics; a bad value
// is an *Error naming the key; and Options without an error hold only
// values within the bounds Options documents.
func FuzzOptions(f *testing.F) {
	keys := defaultKeys()
	for i := range keys {
		for _, v := range []string{
			"1e-300", "1e-12", "1e308", "1e-9", "-1", "0", "5e-324", "1e999", "NaN", "inf", "-inf",
			"0x1p-2", "1_000", "+1", "01", "18446744073709551616", "65536", "lost", "init", " ready ",
			"pioreactor_20ml", "a/b", "a#b", "x # comment", "", " ", "\xff\xfe", "\x00", "1\n  2", "%(x)s",
		} {
			f.Add(uint8(i), v)
		}
	}
	for i, k := range keys {
		if k[1] == "experiment" || k[1] == "initial_volume_ml" {
			f.Add(uint8(i), strings.Repeat("a", 1<<20))
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		k := keys[int(which)%len(keys)]
		section, key := k[0], k[1]
		path := filepath.Join(dir, "config.ini")
		if err := os.WriteFile(path, []byte("["+section+"]\n"+key+" = "+value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		fromFile, err := Load(path)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.File != path {
				t.Fatalf("Load of [%s] %s = %.80q: error %v does not name the file", section, key, value, err)
			}
		} else {
			checkOptions(t, fromFile, section, key, value)
		}
		override := New()
		override.Set(section, key, value)
		checkOptions(t, override, section, key, value)
	})
}

// checkOptions reads c's Options and checks them against their documented
// bounds.
func checkOptions(t *testing.T, c *Config, section, key, value string) {
	t.Helper()
	o, err := c.Options()
	what := "[" + section + "] " + key + " = " + value
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) || ce.Section == "" || ce.Key == "" {
			t.Fatalf("%.100s: error %v names no key", what, err)
		}
		return
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	within := func(name string, f, lo, hi float64) {
		if !finite(f) || f < lo || f > hi {
			t.Fatalf("%.100s: accepted, with %s = %v outside [%v, %v]", what, name, f, lo, hi)
		}
	}
	positive := func(name string, f float64) {
		if !finite(f) || !(f > 0) {
			t.Fatalf("%.100s: accepted, with %s = %v, which is not positive", what, name, f)
		}
	}
	for _, s := range []string{o.Unit.Name, o.Unit.Experiment} {
		if strings.ContainsAny(s, "/+#\n") {
			t.Fatalf("%.100s: accepted, with a topic level %q", what, s)
		}
	}
	within("broker_port", float64(o.MQTT.BrokerPort), 1, 65535)
	seen := map[string]bool{}
	for ch, dev := range o.PWM {
		if ch < 1 || ch > 9 || dev == "" || seen[dev] {
			t.Fatalf("%.100s: accepted, with PWM %d = %q", what, ch, dev)
		}
		seen[dev] = true
	}
	b := o.Bioreactor
	positive("capacity", b.Model.CapacityML)
	within("max fill", b.Model.MaxFillML, 0, b.Model.CapacityML)
	within("initial_volume_ml", b.InitialVolumeML, 0, b.Model.CapacityML)
	within("efflux_tube_volume_ml", b.EffluxTubeVolumeML, 0, b.Model.CapacityML)
	within("initial_alt_media_fraction", b.InitialAltMediaFraction, 0, 1)
	for name, v := range map[string]float64{
		"initial_cumulative_media_added_ml":     b.InitialCumulativeMediaAddedML,
		"initial_cumulative_alt_media_added_ml": b.InitialCumulativeAltMediaAddedML,
		"initial_cumulative_waste_removed_ml":   b.InitialCumulativeWasteRemovedML,
		"waste_removal_multiplier":              o.Dosing.WasteRemovalMultiplier,
	} {
		within(name, v, 0, math.MaxFloat64)
	}
	d := o.Dosing
	positive("max_subdose", d.MaxSubdoseML)
	within("pause_between_subdoses_seconds", d.PauseBetweenSubdoses.Seconds(), 0, math.MaxFloat64)
	within("first_run_delay_seconds", d.FirstRunDelay.Seconds(), 0, math.MaxFloat64)
	if d.MaxScriptSteps == 0 {
		t.Fatalf("%.100s: accepted, with max_script_steps 0", what)
	}
	if d.MaxExecute < MinMaxExecute {
		t.Fatalf("%.100s: accepted, with max_execute_minutes giving %v, less than %v", what, d.MaxExecute, MinMaxExecute)
	}
	within("pump_ml_per_second", o.Simulation.PumpMLPerSecond, calibration.MinSlope, calibration.MaxSlope)
	within("pump_flow_spread", o.Simulation.PumpFlowSpread, 0, math.Nextafter(1, 0))
}
