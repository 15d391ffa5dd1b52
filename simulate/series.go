package simulate

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// standardEvents are the dosing events upstream names, in the order plots
// and tables show them.
var standardEvents = []string{"add_media", "add_alt_media", "remove_waste"}

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

func cmpDuration(a, b time.Duration) int { return cmp.Compare(a, b) }

func hours(d time.Duration) float64 { return d.Hours() }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// printable drops control characters, which an SVG cannot hold, from a
// title; an empty title becomes "pio simulate".
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if strings.TrimSpace(s) == "" {
		return "pio simulate"
	}
	return s
}

// doseEvents lists the events of doses: the standard three first (those
// seen), then the others by name.
func doseEvents(doses []Dose) []string {
	seen := make(map[string]bool)
	for _, d := range doses {
		seen[d.Event] = true
	}
	var events, others []string
	for _, ev := range standardEvents {
		if seen[ev] {
			events = append(events, ev)
			delete(seen, ev)
		}
	}
	for ev := range seen {
		others = append(others, ev)
	}
	sort.Strings(others)
	return append(events, others...)
}

// sortedByTime is pts if they are in time order, else a sorted copy (the
// recorder appends in time order; a hand-made Series may not).
func sortedByTime(pts []Point) []Point {
	byT := func(a, b Point) int { return cmpDuration(a.T, b.T) }
	if slices.IsSortedFunc(pts, byT) {
		return pts
	}
	pts = slices.Clone(pts)
	slices.SortStableFunc(pts, byT)
	return pts
}
