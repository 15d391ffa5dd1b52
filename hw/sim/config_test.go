package sim

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
)

// FromConfigFile reads the photodiode channels and the IR LED's channel;
// a file's empty value unwires a channel the defaults give a role.
func TestFromConfigFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  [][3]string
		pds  map[int]string
		ir   string
		err  string
	}{
		{"defaults", nil, map[int]string{1: "REF", 2: "90"}, "A", ""},
		{"moved", [][3]string{{"od_config.photodiode_channel", "1", ""}, {"od_config.photodiode_channel", "3", "135"},
			{"leds", "A", "white_light"}, {"leds", "B", "IR"}}, map[int]string{2: "90", 3: "135"}, "B", ""},
		{"bad role", [][3]string{{"od_config.photodiode_channel", "2", "91"}}, nil, "", `photodiode channel 2: want REF, an angle (45, 90, 135, 180) or nothing, got "91"`},
		{"two REF", [][3]string{{"od_config.photodiode_channel", "2", "REF"}}, nil, "", "2 channels are REF, want at most one"},
		{"no IR", [][3]string{{"leds", "A", "white_light"}}, nil, "", "no channel (A to D) is labelled IR"},
		{"bad simulation", [][3]string{{"simulation", "mains_hz", "55"}}, nil, "", "[simulation] mains_hz: want 50 or 60"},
	} {
		cfg := config.New()
		for _, kv := range tc.set {
			cfg.Set(kv[0], kv[1], kv[2])
		}
		o, err := FromConfigFile(cfg, 7)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(o.Photodiodes, tc.pds) || o.IRChannel != tc.ir || o.Seed != 7 || o.Model == nil || *o.Model != DefaultModel() {
			t.Errorf("%s: photodiodes %v, IR %q, seed %d", tc.name, o.Photodiodes, o.IRChannel, o.Seed)
		}
	}
}

// A photodiode channel with nothing in front of it reads the dark offset;
// a bad IR channel given to New is an error when a photodiode is asked for,
// not a crash.
func TestPhotodiodeRolesAtUse(t *testing.T) {
	r := New(&manualClock{t0}, Options{IRChannel: "E"})
	if _, err := r.Photodiode(1); !errors.Is(err, hw.ErrNotConfigured) || !strings.Contains(err.Error(), `"E"`) {
		t.Errorf("IR on E: %v", err)
	}
	r = New(&manualClock{t0}, Options{Photodiodes: map[int]string{1: "REF", 2: "sideways"}})
	if _, err := r.Photodiode(2); err == nil {
		t.Error("a photodiode seeing sideways is accepted")
	}
	if _, err := r.Photodiode(1); err != nil {
		t.Errorf("REF beside a bad channel: %v", err)
	}
}
