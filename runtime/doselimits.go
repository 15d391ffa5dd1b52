package runtime

import (
	"fmt"
	"math"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
)

// The largest single dose a unit accepts is one vial: a request by volume
// may move at most the model's capacity, and a request by time may run at
// most as long as the pump's calibration needs to move that much. More than
// a vial at once is a typo (1e10 for 10) or a unit mix-up, never a dose; a
// pump that must run longer (a rinse, priming the lines) runs
// --continuously and is stopped by hand, or stops at max fill.
//
// An inflow (any pump but waste) must also leave the vial at or below its
// max fill, by the liquid model, as the dosing automation requires: a manual
// `pio run add_media --ml 30` on a vial modelled at 24 mL is refused.
//
// Every refusal happens before the pump's job publishes anything and names
// the value, the limit and where the limit comes from.

// checkDoseLimits refuses a volume or time the vial cannot take.
// current is the modelled volume of the vial before the dose.
func checkDoseLimits(action, device string, req PumpRequest, model config.Model, cal calibration.Pump, current float64) error {
	vial := func() string {
		return fmt.Sprintf("the vial's capacity, %s mL ([bioreactor] model %s)", payload.PyFloat(model.CapacityML), model.Name)
	}
	var ml float64
	switch {
	case req.ML != nil:
		ml = *req.ML
		if ml > model.CapacityML {
			return fmt.Errorf("%s: ml=%s is more than one dose may move: %s; to move more, run it --continuously and stop it, or dose in steps",
				action, payload.PyFloat(ml), vial())
		}
	case req.Duration != nil:
		ml = cal.DurationToML(*req.Duration)
		if ml > model.CapacityML || math.IsInf(ml, 0) {
			maxSeconds := cal.MLToDuration(model.CapacityML)
			return fmt.Errorf("%s: duration=%s s is longer than one dose may run: %s s moves %s at %s_pump's calibration %q (%s mL/s); to run longer, run it --continuously and stop it",
				action, payload.PyFloat(*req.Duration), formatSeconds(maxSeconds), vial(), device, cal.Name, payload.PyFloat(cal.Slope))
		}
	default:
		return nil
	}
	if device == "waste" || ml <= 0 {
		return nil
	}
	if after := current + ml; after > model.MaxFillML {
		room := math.Max(0, model.MaxFillML-current)
		return fmt.Errorf("%s: %s mL would take the vial from %s mL to %s mL, above its max fill of %s mL ([bioreactor] model %s); add at most %s mL, or remove waste first",
			action, payload.PyFloat(round4(ml)), payload.PyFloat(round4(current)), payload.PyFloat(round4(after)),
			payload.PyFloat(model.MaxFillML), model.Name, payload.PyFloat(math.Floor(room*1e4)/1e4))
	}
	return nil
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func formatSeconds(s float64) string { return payload.PyFloat(math.Floor(s*100) / 100) }
