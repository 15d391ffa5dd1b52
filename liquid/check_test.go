package liquid

import (
	"math"
	"strings"
	"testing"
)

func TestCheckEvent(t *testing.T) {
	vial := Vial{CapacityML: 40, Source: "[bioreactor] model pioreactor_40ml"}
	s := State{CurrentVolumeML: 14, EffluxTubeVolumeML: 14, CumMediaML: 6, CumAltMediaML: 0.5, CumWasteML: 2}
	tests := []struct {
		event string
		v     float64
		want  string // "" accepts
	}{
		{"add_media", 0.5, ""},
		{"add_media", -6, ""},         // takes back all that was booked
		{"add_media", -6 - 1e-12, ""}, // rounding of a pump's correction
		{"add_alt_media", -0.5, ""},   // same, alt media
		{"remove_waste", -2, ""},      // same, waste
		{"add_salty_media", -14, ""},  // a custom event corrects the volume
		{"remove_waste", 40, ""},      // a whole vial is still one event
		{"add_media", -1000, "volume_change=-1000.0 mL is more than one event may move: the vial's capacity, 40.0 mL ([bioreactor] model pioreactor_40ml)"},
		{"add_media", -6.5, "volume_change=-6.5 mL would take cumulative_media_added_ml from 6.0 mL below 0"},
		{"add_alt_media", -1, "would take cumulative_alt_media_added_ml from 0.5 mL below 0"},
		{"remove_waste", -3, "would take cumulative_waste_removed_ml from 2.0 mL below 0"},
		{"add_salty_media", -15, "would take current_volume_ml from 14.0 mL below 0"},
		{"remove_waste", 1e10, "volume_change=10000000000.0 mL is more than one event may move"},
		{"add_media", 40.001, "is more than one event may move"},
		{"add_media", math.NaN(), "volume_change=NaN is not a finite number of mL"},
		{"add_media", math.Inf(1), "volume_change=+Inf is not a finite number of mL"},
		{"drain", 1, `unknown dosing event "drain" (want add_<name> or remove_waste)`},
	}
	for _, tt := range tests {
		err := CheckEvent(s, tt.event, tt.v, vial)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %v: refused: %v", tt.event, tt.v, err)
		case tt.want != "" && err == nil:
			t.Errorf("%s %v: accepted, want %q", tt.event, tt.v, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("%s %v: %v, want %q", tt.event, tt.v, err, tt.want)
		}
	}
}
