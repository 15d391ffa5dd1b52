package sim

import "math"

// The culture grows by a Baranyi-Roberts model: logistic growth toward the
// carrying capacity, held back at first by a lag that fades as the cells'
// physiological state q grows (α = q/(1+q) of the maximum rate), slowed by
// alt-media and, optionally, by temperature. Over a step in which the rate
// is constant the model has a closed form, so a step may be long.

// lagState is q at the start for a lag of lagHours at growth rate mu (per
// second): Baranyi's q0 = 1/(exp(mu·λ) − 1). No lag is +Inf.
func lagState(mu, lagHours float64) float64 {
	if lagHours <= 0 {
		return math.Inf(1)
	}
	return 1 / math.Expm1(mu*lagHours*3600)
}

// noLag is the q above which the lag no longer matters (α = 1 within 1e-12).
const noLag = 1e12

// growthFactor is the multiplier of the maximum growth rate for the
// alt-media fraction and the vial's temperature.
func (m *Model) growthFactor(altFrac, celsius float64) float64 {
	f := math.Max(0, 1-m.AltMediaInhibition*altFrac)
	if q := m.GrowthTemperatureQ10; q > 0 && q != 1 {
		f *= math.Pow(q, (celsius-m.GrowthReferenceCelsius)/10)
	}
	return f
}

// growCulture advances OD and q by dt seconds at maximum rate mu (per
// second) times factor, toward capacity k.
func growCulture(od, q, mu, factor, k, dt float64) (float64, float64) {
	// ∫α ds over the step, in seconds of full-rate growth.
	active := dt
	if q < noLag {
		// ln((1 + q·e^x)/(1 + q)) / mu; steps are short, so q·e^x is finite.
		e := math.Exp(mu * dt)
		active = (math.Log1p(q*e) - math.Log1p(q)) / mu
		q *= e
	}
	r := mu * factor * active
	if od <= 0 || r == 0 {
		return od, q
	}
	return k / (1 + (k/od-1)*math.Exp(-r)), q
}

// alpha is the fraction of the full rate the lag allows.
func alpha(q float64) float64 {
	if q >= noLag {
		return 1
	}
	return q / (1 + q)
}
