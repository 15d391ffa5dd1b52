package simulate

import (
	"math"
	"time"
)

// turbidostat is a synthetic turbidostat run of length d with a reading
// every step: the normalized OD grows at 0.4/h up to its target, then each
// dose of 1 mL in a 14 mL vial (and 1 mL out) dilutes it, a sawtooth. The
// target is raised from 1.5 to 1.8 halfway.
func turbidostat(d, step time.Duration) *Series {
	s := &Series{Title: "turbidostat, seed 1", Targets: map[string][]Point{}}
	const vial, exchange, rate = 14.0, 1.0, 0.4
	target := 1.5
	s.Targets["target biomass"] = []Point{{0, target}}
	s.Volume = []Point{{0, vial}}
	s.AltMediaFraction = []Point{{0, 0}}
	nod := 1.0
	for i, t := 0, time.Duration(0); t <= d; i, t = i+1, t+step {
		if t > d/2 && target == 1.5 {
			target = 1.8
			s.Targets["target biomass"] = append(s.Targets["target biomass"], Point{t, target})
		}
		wobble := 0.01 * math.Sin(float64(i)*0.7)
		s.NormalizedOD = append(s.NormalizedOD, Point{t, nod + wobble})
		s.OD = append(s.OD, Point{t, 0.05*nod + wobble/20})
		s.GrowthRate = append(s.GrowthRate, Point{t, rate + wobble})
		if i%12 == 0 {
			s.Temperature = append(s.Temperature, Point{t, 30 + 5*wobble})
		}
		if nod >= target {
			s.Doses = append(s.Doses, Dose{t, "add_media", exchange}, Dose{t, "remove_waste", exchange})
			s.Volume = append(s.Volume, Point{t, vial + exchange}, Point{t, vial})
			nod *= vial / (vial + exchange)
		}
		nod *= math.Exp(rate * step.Hours())
	}
	return s
}
