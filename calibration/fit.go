package calibration

import (
	"fmt"
	"math"
)

// Fit is a least-squares line through measured points: volume (mL) =
// Slope·seconds + Intercept, as upstream's duration-based protocol fits it,
// with its coefficient of determination.
type Fit struct {
	Slope, Intercept float64
	// R2 is 1 - residual/total sum of squares: 1 for points on the line.
	// It is 1 when every volume is the same and on the line.
	R2 float64
}

// FitLine fits a line to durations x (s) and volumes y (mL). It needs as
// many of each, finite, and at least two distinct durations.
func FitLine(x, y []float64) (Fit, error) {
	if len(x) != len(y) {
		return Fit{}, fmt.Errorf("calibration: %d durations and %d volumes; want as many of each", len(x), len(y))
	}
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		if !finite(x[i]) || !finite(y[i]) {
			return Fit{}, fmt.Errorf("calibration: point %d is (%v s, %v mL); want finite numbers", i+1, x[i], y[i])
		}
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		sxy += (x[i] - mx) * (y[i] - my)
		syy += (y[i] - my) * (y[i] - my)
	}
	if len(x) < 2 || !(sxx > 0) {
		return Fit{}, fmt.Errorf("calibration: a line needs at least two distinct durations; got %d points", len(x))
	}
	f := Fit{Slope: sxy / sxx}
	f.Intercept = my - f.Slope*mx
	var ssr float64
	for i := range x {
		r := y[i] - (f.Slope*x[i] + f.Intercept)
		ssr += r * r
	}
	f.R2 = 1
	if syy > 0 {
		f.R2 = math.Max(0, 1-ssr/syy)
	}
	return f, nil
}
