package calibration

import (
	"math"
	"strings"
	"testing"
)

func TestFitLine(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		x, y                 []float64
		slope, intercept, r2 float64
		err                  string
	}{
		{name: "exact", x: []float64{1, 2, 3}, y: []float64{0.6, 1.1, 1.6}, slope: 0.5, intercept: 0.1, r2: 1},
		{name: "noisy", x: []float64{0, 1, 2, 3}, y: []float64{0, 1.1, 1.9, 3.0}, slope: 0.98, intercept: 0.03, r2: 0.996266},
		{name: "one duration", x: []float64{2, 2}, y: []float64{1, 1.1}, err: "at least two distinct durations; got 2 points"},
		{name: "empty", err: "at least two distinct durations; got 0 points"},
		{name: "uneven", x: []float64{1}, y: []float64{1, 2}, err: "1 durations and 2 volumes"},
		{name: "nan", x: []float64{1, 2}, y: []float64{1, math.NaN()}, err: "point 2 is (2 s, NaN mL)"},
	} {
		f, err := FitLine(tt.x, tt.y)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || math.Abs(f.Slope-tt.slope) > 1e-9 || math.Abs(f.Intercept-tt.intercept) > 1e-9 || math.Abs(f.R2-tt.r2) > 1e-5 {
			t.Errorf("%s: %+v, %v; want slope %v intercept %v R² %v", tt.name, f, err, tt.slope, tt.intercept, tt.r2)
		}
	}
}
