package stirring

import (
	"strings"
	"testing"

	"github.com/piolab/pio/config"
)

// Every key of the sections stirring owns is read: a bad value in any of
// them stops the job, with an error naming the key.
func TestReadsEveryKeyOfItsSections(t *testing.T) {
	for section, owner := range config.OwnedSections {
		if owner != "stirring" {
			continue
		}
		keys := config.New().Section(section).Keys()
		if len(keys) == 0 {
			t.Errorf("[%s] has no keys in Defaults", section)
		}
		for _, key := range keys {
			cfg := config.New()
			cfg.Set(section, key, "not-a-value")
			_, err := readParams(cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("[%s] %s = not-a-value: %v; want an error naming %s", section, key, err, key)
			}
		}
	}
	p, err := readParams(config.New(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.targetRPM != 500 || p.dutyCycle != 30 || p.pwmHz != 200 || p.updateEvery.Seconds() != 23 || p.enableDodging ||
		p.pre.Seconds() != 1.5 || p.post.Seconds() != 0.25 || p.targetDuringOD != 0 || p.targetOutsideOD != 500 ||
		p.kp != 0.005 || p.ki != 0 || p.kd != 0 {
		t.Errorf("defaults: %+v", p)
	}
}

func TestOptionsOverrideTheConfig(t *testing.T) {
	p, err := readParams(config.New(), Options{TargetRPM: fptr(800), DutyCycle: fptr(40), EnableDodgingOD: bptr(true),
		TargetRPMDuringOD: fptr(100), TargetRPMOutsideOD: fptr(600)})
	if err != nil {
		t.Fatal(err)
	}
	if p.targetRPM != 800 || p.dutyCycle != 40 || !p.enableDodging || p.targetDuringOD != 100 || p.targetOutsideOD != 600 {
		t.Errorf("params %+v", p)
	}
	p, _ = readParams(config.New(), Options{TargetRPM: fptr(800)})
	if p.targetOutsideOD != 800 {
		t.Errorf("target outside OD readings = %v; want the target, 800", p.targetOutsideOD)
	}
}

func TestRPMWindow(t *testing.T) {
	for _, tc := range []struct{ target, want float64 }{{0, 1}, {500, 1.2}, {60, 5}, {100, 5}, {1000, 1}, {5000, 1}, {300, 2}} {
		if got := rpmWindow(tc.target).Seconds(); got != tc.want {
			t.Errorf("rpmWindow(%v) = %v s; want %v", tc.target, got, tc.want)
		}
	}
}
