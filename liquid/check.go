package liquid

import (
	"fmt"
	"math"
	"strings"

	"github.com/piolab/pio/payload"
)

// Vial is what an event is checked against: the model's capacity and where
// that number comes from, for messages ("[bioreactor] model pioreactor_40ml").
type Vial struct {
	CapacityML float64
	Source     string
}

func (v Vial) capacity() string {
	s := "the vial's capacity, " + num(v.CapacityML) + " mL"
	if v.Source != "" {
		s += " (" + v.Source + ")"
	}
	return s
}

// correctionSlack absorbs the rounding of a pump's final correction, which is
// computed from the same calibration as the chunks it corrects.
const correctionSlack = 1e-9

// CheckEvent applies pio's input rules for one dosing event, on top of
// upstream's formulas (Apply):
//
//   - the event is add_<name> or remove_waste;
//   - volume_change is a finite number of mL, and no more than the vial's
//     capacity either way: one event never moves more than a vial (pumps
//     report every 0.5 s, a dose is at most a vial);
//   - a negative volume_change is a correction (a pump stopped early had
//     reported a tick it did not finish), so it takes back at most what is
//     booked: the event's cumulative counter (cumulative_media_added_ml for
//     add_media, cumulative_alt_media_added_ml for add_alt_media,
//     cumulative_waste_removed_ml for remove_waste) or, for a custom
//     add_<name>, which has no counter, the current volume. Upstream floors
//     the counter at 0 instead, which lets one bad message zero it.
//
// The error names the value, the limit and the rule.
func CheckEvent(s State, event string, v float64, vial Vial) error {
	if event != "remove_waste" && !strings.HasPrefix(event, "add_") {
		return fmt.Errorf("unknown dosing event %q (want add_<name> or remove_waste)", event)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("volume_change=%v is not a finite number of mL", v)
	}
	if math.Abs(v) > vial.CapacityML {
		return fmt.Errorf("volume_change=%s mL is more than one event may move: %s", num(v), vial.capacity())
	}
	if v >= 0 {
		return nil
	}
	name, booked := Counter(s, event)
	if -v > booked+correctionSlack {
		return fmt.Errorf("volume_change=%s mL would take %s from %s mL below 0: a negative volume_change corrects liquid already booked under %s, at most %s mL",
			num(v), name, num(booked), event, num(booked))
	}
	return nil
}

// Counter is the variable a negative volume_change of event corrects, and
// its value in s.
func Counter(s State, event string) (name string, v float64) {
	switch event {
	case "add_media":
		return CumulativeMedia, s.CumMediaML
	case "add_alt_media":
		return CumulativeAltMedia, s.CumAltMediaML
	case "remove_waste":
		return CumulativeWaste, s.CumWasteML
	}
	return CurrentVolume, s.CurrentVolumeML
}

func num(f float64) string { return payload.PyFloat(f) }
