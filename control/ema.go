package control

import "fmt"

// EMA is upstream's ExponentialMovingAverage: the first update stores the
// value, each later one gives value = (1−α)·x + α·value. α = 0 keeps only the
// latest value; α = 1 keeps the first forever.
type EMA struct {
	alpha  float64
	value  float64
	filled bool
}

// NewEMA returns an empty average with smoothing alpha, which must be within
// [0, 1].
func NewEMA(alpha float64) (*EMA, error) {
	if !(alpha >= 0 && alpha <= 1) { // also refuses NaN
		return nil, fmt.Errorf("control: EMA alpha %v is outside [0, 1]", alpha)
	}
	return &EMA{alpha: alpha}, nil
}

// Update adds x and returns the new average.
func (e *EMA) Update(x float64) float64 {
	if !e.filled {
		e.value, e.filled = x, true
		return x
	}
	e.value = (1-e.alpha)*x + e.alpha*e.value
	return e.value
}

// Latest returns the average, and false when nothing was added since the
// average was made or cleared (upstream's get_latest raises there).
func (e *EMA) Latest() (float64, bool) {
	if !e.filled {
		return 0, false
	}
	return e.value, true
}

// Clear forgets every value.
func (e *EMA) Clear() { e.value, e.filled = 0, false }
