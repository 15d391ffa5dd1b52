package odreading

import (
	"math"
	"time"

	"github.com/piolab/pio/hw"
)

// mainsHz is the frequency of the mains hum the estimator fits away.
// Upstream detects 50 or 60 Hz at start-up; pio fits 60 Hz (see
// docs/od_reading.md).
const mainsHz = 60.0

// estimator turns a burst of samples into one signal level, as upstream's
// ADC reader does for sigma-delta ADCs: a least-squares fit of
// C + A·sin(2π·f·t + φ) at the mains frequency, with the smallest and the
// largest sample dropped and a ridge penalty pulling C toward the previous
// estimate.
type estimator struct {
	omega float64 // 2π·f
}

func newEstimator() estimator { return estimator{omega: 2 * math.Pi * mainsHz} }

// level estimates C from samples, each with offset subtracted and floored
// at 0. penalty is the ridge weight of the prior (0: no pull, as for the
// first reading).
func (e estimator) level(samples []hw.Sample, offset, prior, penalty float64) float64 {
	n := len(samples)
	if n == 0 {
		return 0
	}
	lo, hi := 0, 0
	for i, s := range samples {
		if s.Volts < samples[lo].Volts {
			lo = i
		}
		if s.Volts > samples[hi].Volts {
			hi = i
		}
	}
	if hi == lo {
		hi = (lo + 1) % n
	}
	t0 := samples[0].At
	// Normal equations of y = C + a·sin(ωt) + b·cos(ωt), with the penalty
	// λ·(C − prior)² added: (XᵀX + λ·e₁e₁ᵀ)β = Xᵀy + λ·prior·e₁.
	var m [3][3]float64
	var v [3]float64
	used, sum := 0, 0.0
	for i, s := range samples {
		if n > 3 && (i == lo || i == hi) {
			continue
		}
		y := math.Max(s.Volts-offset, 0)
		t := s.At.Sub(t0).Seconds()
		x := [3]float64{1, math.Sin(e.omega * t), math.Cos(e.omega * t)}
		for r := 0; r < 3; r++ {
			for c := 0; c < 3; c++ {
				m[r][c] += x[r] * x[c]
			}
			v[r] += x[r] * y
		}
		used++
		sum += y
	}
	m[0][0] += penalty
	v[0] += penalty * prior
	c, ok := solve3(m, v)
	if !ok || used < 4 {
		// Too few samples or a degenerate design (all at one phase): the
		// penalised mean.
		c = (sum + penalty*prior) / (float64(used) + penalty)
	}
	return math.Max(c, 0)
}

// solve3 solves m·x = v by Gaussian elimination with partial pivoting and
// returns x[0].
func solve3(m [3][3]float64, v [3]float64) (float64, bool) {
	for col := 0; col < 3; col++ {
		p := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if math.Abs(m[p][col]) < 1e-12 {
			return 0, false
		}
		m[col], m[p] = m[p], m[col]
		v[col], v[p] = v[p], v[col]
		for r := col + 1; r < 3; r++ {
			f := m[r][col] / m[col][col]
			for c := col; c < 3; c++ {
				m[r][c] -= f * m[col][c]
			}
			v[r] -= f * v[col]
		}
	}
	var x [3]float64
	for r := 2; r >= 0; r-- {
		s := v[r]
		for c := r + 1; c < 3; c++ {
			s -= m[r][c] * x[c]
		}
		x[r] = s / m[r][r]
	}
	if math.IsNaN(x[0]) || math.IsInf(x[0], 0) {
		return 0, false
	}
	return x[0], true
}

// burstSpacing spaces samplesPerReading samples over about 0.85 s.
const (
	samplesPerReading = 40
	burstSpacing      = 850 * time.Millisecond / samplesPerReading
)
