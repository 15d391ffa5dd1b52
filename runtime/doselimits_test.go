package runtime

import (
	"context"
	"strings"
	"testing"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/config"
)

func TestDoseLimits(t *testing.T) {
	model := config.Model{Name: "pioreactor_40ml", CapacityML: 40, MaxFillML: 36}
	cal := calibration.Pump{Name: "c1", Slope: 0.5, Hz: 100, DC: 60}
	tests := []struct {
		name    string
		device  string
		req     PumpRequest
		current float64
		want    string // "" accepts
	}{
		{"a dose", "media", PumpRequest{ML: ptr(1)}, 14, ""},
		{"up to max fill", "media", PumpRequest{ML: ptr(22)}, 14, ""},
		{"past max fill", "media", PumpRequest{ML: ptr(30)}, 24, "30.0 mL would take the vial from 24.0 mL to 54.0 mL, above its max fill of 36.0 mL ([bioreactor] model pioreactor_40ml); add at most 12.0 mL"},
		{"past max fill by time", "alt_media", PumpRequest{Duration: ptr(60)}, 14, "30.0 mL would take the vial from 14.0 mL to 44.0 mL"},
		{"an extra pump is an inflow", "acid", PumpRequest{ML: ptr(23)}, 14, "above its max fill"},
		{"waste ignores max fill", "waste", PumpRequest{ML: ptr(39)}, 35, ""},
		{"more than a vial", "waste", PumpRequest{ML: ptr(1e10)}, 14, "ml=10000000000.0 is more than one dose may move: the vial's capacity, 40.0 mL ([bioreactor] model pioreactor_40ml); to move more, run it --continuously"},
		{"1e308 mL", "media", PumpRequest{ML: ptr(1e308)}, 14, "ml=1e+308 is more than one dose may move"},
		{"longer than a vial", "waste", PumpRequest{Duration: ptr(1e10)}, 14, "duration=10000000000.0 s is longer than one dose may run: 80.0 s moves the vial's capacity, 40.0 mL ([bioreactor] model pioreactor_40ml) at waste_pump's calibration \"c1\" (0.5 mL/s)"},
		{"1e308 s", "waste", PumpRequest{Duration: ptr(1e308)}, 14, "duration=1e+308 s is longer"},
		{"a vial's worth of time", "waste", PumpRequest{Duration: ptr(80)}, 14, ""},
	}
	for _, tt := range tests {
		err := checkDoseLimits(ActionName(tt.device), tt.device, tt.req, model, cal, tt.current)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// A refused manual dose publishes nothing: no $state, no dosing event, no PWM.
func TestRefusedManualDosePublishesNothing(t *testing.T) {
	for _, req := range []PumpRequest{
		{Device: "waste", Duration: ptr(1e10)},
		{Device: "waste", ML: ptr(1e308)},
		{Device: "media", ML: ptr(30)}, // 14 + 30 mL > 36 mL max fill
	} {
		h := newHarness(t)
		_, err := h.pump(context.Background(), req)
		if err == nil {
			t.Errorf("%+v: accepted", req)
			continue
		}
		if n := h.rec.Len(); n != 0 {
			t.Errorf("%+v: refused (%v) but %d messages were published", req, err, n)
		}
		if n := len(h.reactor.DutyTrace()); n != 0 {
			t.Errorf("%+v: the pump moved", req)
		}
	}
}
