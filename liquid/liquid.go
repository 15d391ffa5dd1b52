// Package liquid is the bioreactor liquid model: volume, alt-media fraction,
// efflux tube volume and cumulative counters, updated from dosing events with
// upstream Pioreactor's formulas (bioreactor.py).
//
// The functions here are pure; the monitor job in package runtime owns the
// one State per unit and experiment, applies events to it and publishes it.
package liquid

import (
	"fmt"
	"math"
	"strings"
)

// Variable names, which are also the last segment of their MQTT topics.
const (
	CurrentVolume        = "current_volume_ml"
	EffluxTubeVolume     = "efflux_tube_volume_ml"
	AltMediaFraction     = "alt_media_fraction"
	CumulativeMedia      = "cumulative_media_added_ml"
	CumulativeAltMedia   = "cumulative_alt_media_added_ml"
	CumulativeWaste      = "cumulative_waste_removed_ml"
	PumpCalibrationEvent = "pump_calibration"
)

// Variables lists every variable, in publication order.
var Variables = []string{AltMediaFraction, CurrentVolume, EffluxTubeVolume, CumulativeMedia, CumulativeAltMedia, CumulativeWaste}

// State is the model of one vial.
type State struct {
	CurrentVolumeML    float64
	EffluxTubeVolumeML float64
	AltMediaFraction   float64
	CumMediaML         float64
	CumAltMediaML      float64
	CumWasteML         float64
}

// Get returns a variable by name.
func (s State) Get(name string) (float64, bool) {
	switch name {
	case CurrentVolume:
		return s.CurrentVolumeML, true
	case EffluxTubeVolume:
		return s.EffluxTubeVolumeML, true
	case AltMediaFraction:
		return s.AltMediaFraction, true
	case CumulativeMedia:
		return s.CumMediaML, true
	case CumulativeAltMedia:
		return s.CumAltMediaML, true
	case CumulativeWaste:
		return s.CumWasteML, true
	}
	return 0, false
}

// With returns s with one variable replaced.
func (s State) With(name string, v float64) (State, error) {
	switch name {
	case CurrentVolume:
		s.CurrentVolumeML = v
	case EffluxTubeVolume:
		s.EffluxTubeVolumeML = v
	case AltMediaFraction:
		s.AltMediaFraction = v
	case CumulativeMedia:
		s.CumMediaML = v
	case CumulativeAltMedia:
		s.CumAltMediaML = v
	case CumulativeWaste:
		s.CumWasteML = v
	default:
		return s, fmt.Errorf("liquid: unknown variable %q", name)
	}
	return s, nil
}

// Validate checks one variable against its bounds for a vial of the given
// capacity (mL): volumes within [0, capacity], the fraction within [0, 1],
// cumulatives at least 0.
func Validate(name string, v, capacity float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("liquid: %s must be finite, got %v", name, v)
	}
	lo, hi := 0.0, math.Inf(1)
	switch name {
	case CurrentVolume, EffluxTubeVolume:
		hi = capacity
	case AltMediaFraction:
		hi = math.Min(1, capacity)
	case CumulativeMedia, CumulativeAltMedia, CumulativeWaste:
	default:
		return fmt.Errorf("liquid: unknown variable %q", name)
	}
	if v < lo || v > hi {
		return fmt.Errorf("liquid: %s=%v is outside [%v, %v]", name, v, lo, hi)
	}
	return nil
}

// ValidateAll checks every variable of s.
func (s State) ValidateAll(capacity float64) error {
	for _, name := range Variables {
		v, _ := s.Get(name)
		if err := Validate(name, v, capacity); err != nil {
			return err
		}
	}
	return nil
}

// UpdatedVolume is the volume after an event of volume v named event, with V
// the current volume and E the efflux tube volume. Events starting with add_
// add; remove_waste removes down to the efflux tube, never below it.
func UpdatedVolume(event string, v, V, E float64) (float64, error) {
	switch {
	case event == "remove_waste":
		if V <= E {
			return math.Max(V, 0), nil
		}
		return math.Max(math.Max(V-v, E), 0), nil
	case strings.HasPrefix(event, "add_"):
		return math.Max(V+v, 0), nil
	}
	return 0, fmt.Errorf("liquid: unknown dosing event %q (want add_<name> or remove_waste)", event)
}

// UpdatedAltMediaFraction is the alt-media fraction after an event. Only
// add_media and add_alt_media change it; custom add_<x> events leave it alone
// (upstream does not model a third liquid, and neither do we).
func UpdatedAltMediaFraction(event string, v, V, f float64) float64 {
	var nf float64
	switch event {
	case "add_media":
		if V+v <= 0 {
			return f
		}
		nf = f * V / (V + v)
	case "add_alt_media":
		if V+v <= 0 {
			return f
		}
		nf = (f*V + v) / (V + v)
	default:
		return f
	}
	if math.Abs(nf) < 1e-12 {
		return 0
	}
	if math.Abs(1-nf) < 1e-12 {
		return 1
	}
	return math.Min(1, math.Max(0, nf))
}

// Apply returns the state after one dosing event. The whole event is refused
// (error, state unchanged) if any result is out of bounds, e.g. a volume above
// the vial's capacity.
func Apply(s State, event string, v, capacity float64) (State, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return s, fmt.Errorf("liquid: volume_change must be finite, got %v", v)
	}
	nv, err := UpdatedVolume(event, v, s.CurrentVolumeML, s.EffluxTubeVolumeML)
	if err != nil {
		return s, err
	}
	n := s
	n.AltMediaFraction = UpdatedAltMediaFraction(event, v, s.CurrentVolumeML, s.AltMediaFraction)
	n.CurrentVolumeML = nv
	switch event {
	case "add_media":
		n.CumMediaML = math.Max(0, s.CumMediaML+v)
	case "add_alt_media":
		n.CumAltMediaML = math.Max(0, s.CumAltMediaML+v)
	case "remove_waste":
		n.CumWasteML = math.Max(0, s.CumWasteML+v)
	}
	if err := n.ValidateAll(capacity); err != nil {
		return s, err
	}
	return n, nil
}
