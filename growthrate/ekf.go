package growthrate

import (
	"errors"
	"fmt"
	"math"
)

// Growth rates outside [MinGrowthRate, MaxGrowthRate] (h⁻¹) are clipped.
const (
	MinGrowthRate = -1.0
	MaxGrowthRate = 3.0
)

// minObservation is the smallest OD (and state OD) the filter takes a log of.
const minObservation = 1e-9

// Filter is upstream's CultureGrowthEKF (grpredict 26.4.7) in its linear
// form: the state is [log_od, growth_rate, growth_rate_drift], each sensor
// observes the normalised OD, and each update fuses the sensors' log
// measurements into one by inverse-variance weighting.
type Filter struct {
	x vec3 // [log_od, growth_rate (h⁻¹), growth_rate_drift (h⁻²)]
	p mat3 // state covariance
	q mat3 // process noise per step
	// r is the diagonal of the observation noise, one per sensor, in OD
	// space; the adaptive noise rewrites it after each ordinary update.
	r         []float64
	threshold float64 // outlier threshold, in standard deviations
	// vBase is the floor of a sensor's log-measurement variance; vAdapt the
	// adaptive log-measurement variance, at least vBase.
	vBase, vAdapt float64
}

// Prior is what a filter starts from: the warm-up's result (Warmup).
type Prior struct {
	X0 vec3      // initial state
	P0 mat3      // initial covariance
	Q  mat3      // process noise
	R  []float64 // observation noise (diagonal), one per sensor
}

// NewFilter returns a filter that starts from s, marking as outliers the
// innovations beyond threshold standard deviations. Q and P0 must be
// positive-definite, every R_ii positive and the state finite.
func NewFilter(s Prior, threshold float64) (*Filter, error) {
	switch {
	case len(s.R) == 0:
		return nil, errors.New("growth-rate filter: no sensors (the observation noise is empty)")
	case !s.Q.positiveDefinite():
		return nil, fmt.Errorf("growth-rate filter: process_noise_covariance %v must be positive definite", s.Q)
	case !s.P0.positiveDefinite():
		return nil, fmt.Errorf("growth-rate filter: initial_covariance %v must be positive definite", s.P0)
	case !s.X0.finite():
		return nil, fmt.Errorf("growth-rate filter: initial_state %v must contain only finite values", s.X0)
	}
	for i, v := range s.R {
		if !(v > 0) || math.IsInf(v, 1) {
			return nil, fmt.Errorf("growth-rate filter: observation_noise_covariance[%d][%d]=%v must be positive (positive definite)", i, i, v)
		}
	}
	f := &Filter{x: s.X0, p: s.P0, q: s.Q, r: append([]float64(nil), s.R...), threshold: threshold}
	f.x[1] = clipRate(f.x[1])
	od := math.Exp(f.x[0])
	f.vBase = math.Max(2e-5, 3*mean(f.r)/math.Max(od*od, minObservation))
	f.vAdapt = f.vBase
	return f, nil
}

// State returns the state: log OD, growth rate (h⁻¹), growth-rate drift.
func (f *Filter) State() (logOD, rate, drift float64) { return f.x[0], f.x[1], f.x[2] }

// Sensors is the number of sensors the filter fuses.
func (f *Filter) Sensors() int { return len(f.r) }

// ObservationNoise returns the diagonal of the observation noise, in OD space.
func (f *Filter) ObservationNoise() []float64 { return append([]float64(nil), f.r...) }

// Update takes one observation (a normalised OD per sensor, in the order of
// the filter's R) dt hours after the previous one. recentDilution widens the
// process noise for this step (+0.05 on log OD, +1e-4 on the growth rate),
// so a dilution's drop goes to the OD and not to the growth rate. It returns
// the new log OD and growth rate; on an error the state is unchanged.
func (f *Filter) Update(obs []float64, dt float64, recentDilution bool) (logOD, rate float64, err error) {
	if len(obs) != len(f.r) {
		return f.x[0], f.x[1], fmt.Errorf("growth-rate filter: obs must contain one value per sensor: got %d, expected %d", len(obs), len(f.r))
	}
	z, vz := f.fuse(obs)

	tr := transition(dt)
	xp := tr.mulVec(f.x)
	trT := tr.transpose()
	fp := tr.mul(&f.p)
	pp := fp.mul(&trT)
	pp = pp.add(&f.q)
	if recentDilution {
		pp[0][0] += 0.05
		pp[1][1] += 1e-4
	}

	e := z - xp[0]
	v := math.Max(vz, f.vAdapt)
	s := pp[0][0] + v
	std := e / math.Sqrt(math.Max(s, 1e-12))
	outlier := math.Abs(std) > f.threshold
	if outlier {
		ratio := math.Abs(std) / math.Max(f.threshold, 1e-12)
		v *= math.Max(ratio*ratio, 1)
		s = pp[0][0] + v
	}

	var x vec3
	var p mat3
	sDiv := math.Max(s, 1e-12)
	for i := range 3 {
		k := pp[i][0] / sDiv
		x[i] = xp[i] + k*e
		for j := range 3 {
			p[i][j] = pp[i][j] - k*pp[0][j]
		}
	}
	for i := range 3 {
		p[i][i] = math.Max(p[i][i], 1e-12)
	}
	x[1] = clipRate(x[1])
	if math.IsNaN(x[0]) || math.IsNaN(x[1]) || math.IsNaN(x[2]) {
		return f.x[0], f.x[1], errors.New("growth-rate filter: NaNs detected after calculation")
	}
	f.x, f.p = x, p

	if !outlier && !recentDilution {
		e2 := math.Min(e*e, 16*s)
		f.vAdapt = math.Max(f.vBase, 0.98*f.vAdapt+0.02*e2)
		od := math.Max(math.Exp(f.x[0]), minObservation)
		for i := range f.r {
			f.r[i] = f.vAdapt * od * od
		}
	}
	return f.x[0], f.x[1], nil
}

// fuse turns the sensors' ODs into one log-OD measurement and its variance:
// sensor i measures ln(y_i) with variance max(R_ii/y_i², vBase), and the
// measurements are combined by inverse-variance weighting.
func (f *Filter) fuse(obs []float64) (z, v float64) {
	var sumW, sumWZ float64
	for i, y := range obs {
		y = math.Max(y, minObservation)
		vi := math.Max(math.Max(f.r[i], 1e-12)/(y*y), f.vBase)
		w := 1 / vi
		sumW += w
		sumWZ += w * math.Log(y)
	}
	v = 1 / sumW
	return sumWZ * v, v
}

// transition is F for a step of dt hours: log OD grows by the rate, the rate
// by the drift, and the drift decays.
func transition(dt float64) mat3 {
	return mat3{
		{1, dt, dt * dt / 2},
		{0, 1, dt},
		{0, 0, 0.995},
	}
}

func clipRate(r float64) float64 { return math.Min(math.Max(r, MinGrowthRate), MaxGrowthRate) }

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
