package odreading

import (
	"reflect"
	"strings"
	"testing"

	"github.com/piolab/pio/config"
)

// Every key of the sections this package owns is read: a bad value in any
// of them is an error that names it.
func TestEveryKeyOfOwnedSectionsIsRead(t *testing.T) {
	for section, owner := range config.OwnedSections {
		if owner != "odreading" {
			continue
		}
		keys := config.New().Section(section).Keys()
		if len(keys) == 0 {
			t.Fatalf("[%s] has no keys in Defaults", section)
		}
		for _, key := range keys {
			c := config.New()
			c.Set(section, key, "nonsense")
			_, err := readSettings(c)
			want := "[" + section + "] " + key + ": "
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("[%s] %s=nonsense: error %v, want one naming %q", section, key, err, want)
			}
		}
	}
}

func TestDefaultSettings(t *testing.T) {
	s, err := readSettings(config.New())
	if err != nil {
		t.Fatal(err)
	}
	if s.ref == nil || s.ref.number != 1 || len(s.signals) != 1 || s.signals[0] != (channel{2, "2", "90"}) {
		t.Errorf("channels: ref %+v, signals %+v; want REF on 1, 90° on 2", s.ref, s.signals)
	}
	want := settings{samplesPerSecond: 0.2, irIntensity: 80, pdReferenceEMA: 0.75, refNormalization: "unity",
		useDarkOffsets: true, smoothingPenalizer: 3, turnOffLEDs: true, irChannel: "A"}
	s.signals, s.ref = nil, nil
	if !reflect.DeepEqual(s, want) {
		t.Errorf("settings = %+v, want %+v", s, want)
	}
}

func TestChannelAndLEDConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines [][3]string
		err   string // "" for none
	}{
		{"two REF", [][3]string{{channelSection, "3", "REF"}}, "[od_config.photodiode_channel] 3: only one channel can be REF; channels 1 and 3 are"},
		{"no angle", [][3]string{{channelSection, "2", ""}}, "[od_config.photodiode_channel] 1: need to supply a signal channel"},
		{"bad angle", [][3]string{{channelSection, "2", "91"}}, `[od_config.photodiode_channel] 2: want REF, an angle (45, 90, 135, 180) or nothing, got "91"`},
		{"bad key", [][3]string{{channelSection, "5", "90"}}, "[od_config.photodiode_channel] 5: want a photodiode channel from 1 to 4"},
		{"no REF, two angles", [][3]string{{channelSection, "1", ""}, {channelSection, "3", "135"}}, ""},
		{"ref lowercase", [][3]string{{channelSection, "1", "ref"}}, ""},
		{"no IR", [][3]string{{ledsSection, "A", ""}}, "[leds] A: no LED channel is labelled IR"},
		{"IR moved", [][3]string{{ledsSection, "A", ""}, {ledsSection, "C", "IR"}}, ""},
		{"two IR", [][3]string{{ledsSection, "D", "IR"}}, "[leds] D: only one LED channel can be labelled IR; channels A and D are"},
		{"intensity auto", [][3]string{{readingSection, "ir_led_intensity", "auto"}}, ""},
		{"intensity 101", [][3]string{{readingSection, "ir_led_intensity", "101"}}, "ir_led_intensity: want a percentage from 0 to 100, or auto"},
		{"no readings", [][3]string{{readingSection, "samples_per_second", "0"}}, "samples_per_second: want a number of readings per second above 0"},
		{"normalization", [][3]string{{readingSection, "ref_normalization", "none"}}, "ref_normalization: want one of unity, classic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.New()
			for _, l := range tc.lines {
				c.Set(l[0], l[1], l[2])
			}
			_, err := readSettings(c)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// An error names the file and line of the bad value.
func TestConfigErrorNamesFileAndLine(t *testing.T) {
	path := t.TempDir() + "/config.ini"
	writeFile(t, path, "[od_reading.config]\nsamples_per_second=0.2\npd_reference_ema=2\n")
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readSettings(c)
	want := path + ":3: [od_reading.config] pd_reference_ema: want a number from 0 to 1"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}
