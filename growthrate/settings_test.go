package growthrate

import (
	"strings"
	"testing"

	"github.com/piolab/pio/config"
)

func TestDefaultSettings(t *testing.T) {
	s, err := ReadSettings(config.New())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Settings{SamplesPerSecond: 0.2, SamplesForODStatistics: 10, OutlierStdThreshold: 5}); s != want {
		t.Fatalf("ReadSettings(defaults) = %+v; want %+v", s, want)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// B8 invalid config: each message names the value as upstream does.
func TestSettingsRefused(t *testing.T) {
	for _, c := range []struct {
		section, key, value string
		want                string
	}{
		{"od_reading.config", "samples_per_second", "0", "[od_reading.config] samples_per_second: samples_per_second=0.0: want a value above 0"},
		{"od_reading.config", "samples_per_second", "-1", "samples_per_second=-1.0"},
		{"growth_rate_calculating.config", "samples_for_od_statistics", "0", "samples_for_od_statistics=0: want a value of at least 1"},
		{"growth_rate_calculating.config", "samples_for_od_statistics", "1.5", `want a whole number`},
		{"growth_rate_calculating.config", "ekf_outlier_std_threshold", "2", "ekf_outlier_std_threshold=2.0: want a value above 2"},
		{"growth_rate_calculating.config", "ekf_outlier_std_threshold", "nan", `want a number, got "nan"`},
	} {
		cfg := config.New()
		cfg.Set(c.section, c.key, c.value)
		_, err := ReadSettings(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: err = %v; want it to contain %q", c.key, c.value, err, c.want)
		}
	}
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Settings{0, 10, 5}, "samples_per_second=0.0"},
		{Settings{0.2, 0, 5}, "samples_for_od_statistics=0"},
		{Settings{0.2, 10, 2}, "ekf_outlier_std_threshold=2.0"},
	} {
		if err := c.s.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%+v) = %v; want it to contain %q", c.s, err, c.want)
		}
	}
}

// Every key of the sections this package owns is read: a bad value in any
// of them is refused, naming the key.
func TestReadsEveryKeyOfItsSections(t *testing.T) {
	n := 0
	for section, owner := range config.OwnedSections {
		if owner != "growthrate" {
			continue
		}
		for _, key := range config.New().Section(section).Keys() {
			n++
			cfg := config.New()
			cfg.Set(section, key, "not a value")
			if _, err := ReadSettings(cfg); err == nil || !strings.Contains(err.Error(), "["+section+"] "+key+":") {
				t.Errorf("[%s] %s = not a value: err = %v; want it refused by name", section, key, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no section of config.OwnedSections is owned by growthrate")
	}
}
