package simulate

import "time"

// Point is one value of a time series, at a virtual time since the start.
type Point struct {
	T time.Duration
	V float64
}

// Dose is one dosing event as the unit published it.
type Dose struct {
	T     time.Duration
	Event string  // add_media, add_alt_media, remove_waste, add_<name>
	ML    float64 // volume_change (negative for a correction)
}

// Series are the time series a simulation records from what the unit
// published: what its plot draws and its CSV holds.
type Series struct {
	// OD is the first signal channel's raw OD reading (od_reading/ods).
	OD []Point
	// NormalizedOD is growth_rate_calculating/od_filtered.
	NormalizedOD []Point
	// GrowthRate is growth_rate_calculating/growth_rate, per hour.
	GrowthRate []Point
	// Volume and AltMediaFraction are the liquid model (bioreactor/...).
	Volume           []Point
	AltMediaFraction []Point
	// Temperature is temperature_automation/temperature, °C.
	Temperature []Point
	// Target is the automation's target, if it has one the plot can draw
	// (target_biomass, target_normalized_od, target_temperature), by name.
	Targets map[string][]Point
	Doses   []Dose
	// Title names the run (automation, seed, length).
	Title string
	// End is the run's length: the time axis of a plot ends there.
	End time.Duration
}
