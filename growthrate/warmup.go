package growthrate

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/piolab/pio/payload"
)

// ODs is one OD reading's value per photodiode channel ("1".."4").
type ODs map[string]float64

// Channels returns the channels of factors in the order the filter sees
// them: channel id descending ("2", then "1"), as upstream.
func Channels(factors map[string]float64) []string {
	ch := make([]string, 0, len(factors))
	for c := range factors {
		ch = append(ch, c)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ch)))
	return ch
}

// MedianFactors are the normalisation factors learnt from a warm-up: the
// median of each channel's readings.
func MedianFactors(warmup []ODs) map[string]float64 {
	byChannel := map[string][]float64{}
	for _, r := range warmup {
		for c, od := range r {
			byChannel[c] = append(byChannel[c], od)
		}
	}
	out := make(map[string]float64, len(byChannel))
	for c, v := range byChannel {
		out[c] = median(v)
	}
	return out
}

// Scale divides each channel's OD by its factor, in the order of channels
// (Channels(factors)), appending to dst. A factor or a scaled value that is
// not above 0, or a channel missing from the reading, is an error.
func Scale(dst []float64, ods ODs, factors map[string]float64, channels []string) ([]float64, error) {
	var bad []string
	for _, c := range channels {
		if !(factors[c] > 0) {
			bad = append(bad, c)
		}
	}
	if bad != nil {
		return dst, fmt.Errorf("non-positive OD normalization factor(s) for channel(s) %s: %s; a factor must be above 0 (pio run growth_rate_calculating clear_cache learns them again)",
			strings.Join(bad, ", "), formatODs(factors, channels))
	}
	start := len(dst)
	positive := true
	for _, c := range channels {
		od, ok := ods[c]
		if !ok {
			return dst[:start], fmt.Errorf("the OD reading has no channel %s; the normalization factors are for channel(s) %s", c, strings.Join(channels, ", "))
		}
		v := od / factors[c]
		positive = positive && v > 0
		dst = append(dst, v)
	}
	if !positive {
		scaled := ODs{}
		for i, c := range channels {
			scaled[c] = dst[start+i]
		}
		return dst[:start], fmt.Errorf("non-positive normalized value(s) observed: %s; likely the optical signal received is less than the blank signal or the OD reading is 0",
			formatODs(scaled, channels))
	}
	return dst, nil
}

// formatODs writes channel values as JSON, in the order of channels.
func formatODs(v map[string]float64, channels []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range channels {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q: %s", c, payload.PyFloat(v[c]))
	}
	b.WriteByte('}')
	return b.String()
}

// ExpectedDT is the time between OD readings in hours: 1/(3600·samples/s).
func ExpectedDT(samplesPerSecond float64) float64 { return 1 / (3600 * samplesPerSecond) }

// Warmup computes where the filter starts from the scaled warm-up readings
// (one row per reading, one column per sensor, in filter order) taken
// expectedDT hours apart, for sensors sensors.
//
//   - R: per sensor, σ = max(1.4826·MAD(residuals of a least-squares line of
//     ln(scaled) against time), 5e-3) and R_ii = σ²; 1e-3 with fewer than 2
//     readings.
//   - x0 = [ln(max(m, 1e-9)), 0, 0], m the median of the last 5 fused
//     readings (fused: the mean across sensors).
//   - P0 = diag(σ0², 0.03², 0.05²), σ0 = max(0.05, 2·robustStd(ln fused),
//     √mean(diag R)).
//   - Q = ProcessNoise(expectedDT).
func Warmup(scaled [][]float64, sensors int, expectedDT float64) Prior {
	r := ObservationNoise(scaled, sensors, expectedDT)

	fused := make([]float64, len(scaled))
	logFused := make([]float64, len(scaled))
	for i, row := range scaled {
		fused[i] = mean(row)
		logFused[i] = math.Log(math.Max(fused[i], minObservation))
	}
	last := fused[max(0, len(fused)-5):]
	m := 1.0 // no reading: a neutral start (the job never starts without one)
	if len(last) > 0 {
		m = median(last)
	}
	sigma0 := math.Max(0.05, math.Max(2*robustStd(logFused), math.Sqrt(mean(r))))
	return Prior{
		X0: vec3{math.Log(math.Max(m, minObservation)), 0, 0},
		P0: diag3(sigma0*sigma0, 0.03*0.03, 0.05*0.05),
		Q:  ProcessNoise(expectedDT),
		R:  r,
	}
}

// ObservationNoise is the diagonal of R from the scaled warm-up readings
// (see Warmup).
func ObservationNoise(scaled [][]float64, sensors int, expectedDT float64) []float64 {
	r := make([]float64, sensors)
	if len(scaled) < 2 {
		for i := range r {
			r[i] = 1e-3
		}
		return r
	}
	t := make([]float64, len(scaled))
	for i := range t {
		t[i] = float64(i) * expectedDT
	}
	y := make([]float64, len(scaled))
	res := make([]float64, len(scaled))
	for s := range sensors {
		for i, row := range scaled {
			y[i] = math.Log(math.Max(row[s], minObservation))
		}
		a, b := fitLine(t, y)
		for i := range y {
			res[i] = y[i] - (a + b*t[i])
		}
		sigma := math.Max(robustStd(res), 5e-3)
		r[s] = sigma * sigma
	}
	return r
}

// ProcessNoise is Q = diag(1e-8·s, 5e-8·s, 5e-6·s) with s = max(dt/5 s, 0.25):
// the noise of a 5-second step, scaled to the step.
func ProcessNoise(expectedDT float64) mat3 {
	s := math.Max(expectedDT/(5.0/3600), 0.25)
	return diag3(1e-8*s, 5e-8*s, 5e-6*s)
}

// fitLine is the least-squares line y ≈ a + b·t (b = 0 when t does not vary).
func fitLine(t, y []float64) (a, b float64) {
	mt, my := mean(t), mean(y)
	var stt, sty float64
	for i := range t {
		stt += (t[i] - mt) * (t[i] - mt)
		sty += (t[i] - mt) * (y[i] - my)
	}
	if stt > 0 {
		b = sty / stt
	}
	return my - b*mt, b
}

// robustStd is 1.4826·MAD: the standard deviation of normal data, robust to
// outliers (0 for no values).
func robustStd(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := median(v)
	dev := make([]float64, len(v))
	for i, x := range v {
		dev[i] = math.Abs(x - m)
	}
	return 1.4826 * median(dev)
}

// median is the middle value, or the mean of the two middle values.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
