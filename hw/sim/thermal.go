package sim

import "math"

// The vial relaxes toward room + vialGain·duty with the vial's time
// constant; the heating PCB, whose thermometer pio reads, relaxes toward the
// vial's temperature + pcbGain·duty with its own, shorter one. With the duty
// constant over a step both have a closed form.

// heatStep advances the vial's and the PCB's temperatures by dt seconds at
// heater duty (percent).
func (m *Model) heatStep(vial, pcb, duty, dt float64) (float64, float64) {
	d := duty / 100
	tv, tp := m.VialTimeConstant.Seconds(), m.PCBTimeConstant.Seconds()
	eq := m.RoomCelsius + m.VialHeaterGainCelsius*d
	D := vial - eq // the vial's distance from its equilibrium
	ev := math.Exp(-dt / tv)
	vial = eq + D*ev
	// The PCB's distance u from eq + pcbGain·d obeys u' = (D·e^{−t/tv} − u)/tp.
	u := pcb - eq - m.PCBHeaterGainCelsius*d
	ep := math.Exp(-dt / tp)
	if math.Abs(tv-tp) > 1e-9*tv {
		b := D * tv / (tv - tp)
		u = b*ev + (u-b)*ep
	} else {
		u = (u + D*dt/tp) * ep
	}
	return vial, eq + m.PCBHeaterGainCelsius*d + u
}
