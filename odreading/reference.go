package odreading

import (
	"fmt"
	"math"

	"github.com/piolab/pio/control"
)

// refTracker is upstream's IR LED reference tracker: it follows the
// reference photodiode (REF), which sees the IR LED directly, so that a
// drift of the LED's output does not read as a change of OD.
//
// unity divides each REF reading by the experiment's first one (kept in
// the cache, so a restart keeps the scale); classic divides by 1.0. The
// relative intensity is smoothed by an EMA (pd_reference_ema) that a noisy
// REF does not feed: the residual from a baseline EMA (α 0.8), squared,
// feeds a power EMA (α 0.95, seeded with 1e-6); above the noise limit the
// reading is left out.
type refTracker struct {
	unity   bool
	initial float64 // unity: the experiment's first REF reading (0: none yet)

	ema      *control.EMA // of the relative intensity, α pd_reference_ema
	baseline *control.EMA // α 0.8
	power    float64
}

const (
	baselineAlpha = 0.8
	powerAlpha    = 0.95
	powerSeed     = 1e-6
	// noiseLimit is the largest residual RMS at an interval of 5 s; it
	// scales with √(interval/5).
	noiseLimit = 0.025
)

func newRefTracker(unity bool, emaAlpha float64) (*refTracker, error) {
	ema, err := control.NewEMA(emaAlpha)
	if err != nil {
		return nil, fmt.Errorf("pd_reference_ema: %w", err)
	}
	baseline, _ := control.NewEMA(baselineAlpha)
	return &refTracker{unity: unity, ema: ema, baseline: baseline, power: powerSeed}, nil
}

// relative is a REF reading relative to the reference scale.
func (r *refTracker) relative(ref float64) float64 {
	if r.unity {
		return ref / r.initial
	}
	return ref / 1.0
}

// update folds one REF reading in, unless the REF is noisy; it returns the
// residual RMS and whether it was over the limit for interval seconds.
func (r *refTracker) update(ref, interval float64) (rms float64, noisy bool) {
	rel := r.relative(ref)
	residual := 0.0
	if b, ok := r.baseline.Latest(); ok {
		residual = rel - b
	}
	r.baseline.Update(rel)
	r.power = (1-powerAlpha)*residual*residual + powerAlpha*r.power
	rms = math.Sqrt(r.power)
	if rms > noiseLimit*math.Sqrt(interval/5) {
		r.baseline.Clear()
		r.power = powerSeed
		return rms, true
	}
	r.ema.Update(rel)
	return rms, false
}

// intensity is the smoothed relative intensity of the IR LED.
func (r *refTracker) intensity() (float64, bool) { return r.ema.Latest() }

// normalize divides a signal by the relative intensity.
func (r *refTracker) normalize(v float64) (float64, error) {
	rel, ok := r.ema.Latest()
	if !ok || !(rel > 0) {
		return 0, fmt.Errorf("the reference photodiode's relative intensity is %v, not above 0: is the IR LED on and REF in its pocket?", rel)
	}
	return v / rel, nil
}
