package growthrate

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestChannelsAreDescending(t *testing.T) {
	got := Channels(map[string]float64{"1": 0.5, "2": 0.8, "4": 1, "3": 2})
	if want := []string{"4", "3", "2", "1"}; !slices.Equal(got, want) {
		t.Fatalf("Channels = %v; want %v", got, want)
	}
}

// B8 test_scaling_works and test_observation_order_is_preserved_in_job.
func TestScale(t *testing.T) {
	for _, c := range []struct {
		name    string
		factors map[string]float64
		ods     ODs
		want    []float64 // in Channels order
	}{
		{"scaling works", map[string]float64{"1": 0.5, "2": 0.8}, ODs{"1": 0.5, "2": 0.8}, []float64{1.0, 1.0}},
		{"order preserved", map[string]float64{"1": 2, "2": 1}, ODs{"1": 0.5, "2": 2.0}, []float64{2.0, 0.25}},
		{"extra channel ignored", map[string]float64{"2": 0.5}, ODs{"1": 9, "2": 0.25}, []float64{0.5}},
	} {
		ch := Channels(c.factors)
		if !slices.Equal(ch, []string{"2", "1"}[:len(c.factors)]) {
			t.Fatalf("%s: channels %v; want 2 first", c.name, ch)
		}
		got, err := Scale(nil, c.ods, c.factors, ch)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: Scale(%v, %v) = %v, %v; want %v", c.name, c.ods, c.factors, got, err, c.want)
		}
	}
}

func TestScaleRefuses(t *testing.T) {
	for _, c := range []struct {
		name    string
		factors map[string]float64
		ods     ODs
		want    string
	}{
		{"zero factor", map[string]float64{"1": 0, "2": 1}, ODs{"1": 0, "2": 1}, `non-positive OD normalization factor(s) for channel(s) 1: {"2": 1.0, "1": 0.0}`},
		{"negative factor", map[string]float64{"2": -0.5}, ODs{"2": 1}, `channel(s) 2: {"2": -0.5}`},
		{"zero OD", map[string]float64{"2": 0.5}, ODs{"2": 0}, `non-positive normalized value(s) observed: {"2": 0.0}`},
		{"negative OD", map[string]float64{"2": 0.5}, ODs{"2": -0.1}, `{"2": -0.2}`},
		{"missing channel", map[string]float64{"1": 1, "2": 1}, ODs{"2": 1}, "the OD reading has no channel 1; the normalization factors are for channel(s) 2, 1"},
	} {
		dst := []float64{7}
		got, err := Scale(dst, c.ods, c.factors, Channels(c.factors))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v; want it to contain %q", c.name, err, c.want)
		}
		if !slices.Equal(got, []float64{7}) {
			t.Errorf("%s: dst = %v; want it unchanged", c.name, got)
		}
	}
}

func TestMedianFactors(t *testing.T) {
	got := MedianFactors([]ODs{{"1": 3, "2": 0.1}, {"1": 1, "2": 0.4}, {"1": 2, "2": 0.2}, {"2": 0.3}})
	want := map[string]float64{"1": 2, "2": 0.25}
	if len(got) != 2 || got["1"] != want["1"] || !near(got["2"], want["2"], 1e-15) {
		t.Fatalf("MedianFactors = %v; want %v", got, want)
	}
}

func TestRobustStatistics(t *testing.T) {
	for _, c := range []struct {
		v              []float64
		median, robust float64
	}{
		{[]float64{5}, 5, 0},
		{[]float64{1, 3}, 2, 1.4826},
		{[]float64{3, 1, 2}, 2, 1.4826},
		{[]float64{1, 2, 3, 100}, 2.5, 1.4826},
		{nil, math.NaN(), 0},
	} {
		if len(c.v) > 0 {
			if got := median(c.v); got != c.median {
				t.Errorf("median(%v) = %v; want %v", c.v, got, c.median)
			}
		}
		if got := robustStd(c.v); !near(got, c.robust, 1e-12) {
			t.Errorf("robustStd(%v) = %v; want %v", c.v, got, c.robust)
		}
	}
}

func TestFitLine(t *testing.T) {
	a, b := fitLine([]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7})
	if !near(a, 1, 1e-12) || !near(b, 2, 1e-12) {
		t.Fatalf("fitLine = %v, %v; want 1, 2", a, b)
	}
	if a, b := fitLine([]float64{0, 0}, []float64{1, 3}); a != 2 || b != 0 {
		t.Fatalf("fitLine with one time = %v, %v; want 2, 0", a, b)
	}
}

func TestObservationNoise(t *testing.T) {
	dt := ExpectedDT(0.2)
	if got := ObservationNoise([][]float64{{1, 1}}, 2, dt); !slices.Equal(got, []float64{1e-3, 1e-3}) {
		t.Errorf("one reading: R = %v; want 1e-3 each", got)
	}
	// A clean exponential: residuals 0, so σ is the floor 5e-3.
	var clean [][]float64
	for i := range 10 {
		clean = append(clean, []float64{math.Exp(0.3 * float64(i) * dt)})
	}
	if got := ObservationNoise(clean, 1, dt); !near(got[0], 25e-6, 1e-18) {
		t.Errorf("clean: R = %v; want 2.5e-05", got)
	}
	// Residuals ±0.1 about a line: MAD 0.1, σ = 0.14826.
	var noisy [][]float64
	for i := range 10 {
		d := 0.1
		if i%2 == 1 {
			d = -0.1
		}
		noisy = append(noisy, []float64{math.Exp(d)})
	}
	got := ObservationNoise(noisy, 1, dt)[0]
	a, b := fitLine([]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []float64{.1, -.1, .1, -.1, .1, -.1, .1, -.1, .1, -.1})
	res := make([]float64, 10)
	for i := range res {
		res[i] = []float64{.1, -.1}[i%2] - (a + b*float64(i))
	}
	want := math.Pow(robustStd(res), 2)
	if !near(got, want, 1e-12) || got < 0.01 {
		t.Errorf("noisy: R = %v; want %v", got, want)
	}
}

// B8 test_obs_noise_covariance_uses_same_channel_order_as_live_updates: the
// noisy channel 1 gets the larger variance, at its place in the live order.
func TestNoisyChannelGetsTheLargerVariance(t *testing.T) {
	var warm []ODs
	for i := range 20 {
		jitter := 0.2
		if i%2 == 0 {
			jitter = -0.2
		}
		warm = append(warm, ODs{"1": 1 + jitter, "2": 0.5 + 0.0001*float64(i%3)})
	}
	factors := MedianFactors(warm)
	ch := Channels(factors)
	var scaled [][]float64
	for _, w := range warm {
		row, err := Scale(nil, w, factors, ch)
		if err != nil {
			t.Fatal(err)
		}
		scaled = append(scaled, row)
	}
	r := ObservationNoise(scaled, len(ch), ExpectedDT(0.2))
	if !slices.Equal(ch, []string{"2", "1"}) || !(r[0] < r[1]) {
		t.Fatalf("channels %v, R = %v; want channel 2 (R[0]) below the noisy channel 1 (R[1])", ch, r)
	}
}

func TestProcessNoise(t *testing.T) {
	for _, c := range []struct {
		sps   float64
		scale float64
	}{
		{0.2, 1},  // 5 s: the reference step
		{0.1, 2},  // 10 s
		{1, 0.25}, // 1 s would be 0.2: floored at 0.25
		{10, 0.25},
	} {
		q := ProcessNoise(ExpectedDT(c.sps))
		want := diag3(1e-8*c.scale, 5e-8*c.scale, 5e-6*c.scale)
		for i := range 3 {
			for j := range 3 {
				if !near(q[i][j], want[i][j], 1e-20) {
					t.Fatalf("ProcessNoise at %v/s = %v; want %v", c.sps, q, want)
				}
			}
		}
	}
}

func TestWarmupPrior(t *testing.T) {
	dt := ExpectedDT(0.2)
	// Fused values (means across 2 sensors): 1.0 1.1 0.9 1.2 0.8 1.05 0.95.
	fused := []float64{1.0, 1.1, 0.9, 1.2, 0.8, 1.05, 0.95}
	var scaled [][]float64
	for _, f := range fused {
		scaled = append(scaled, []float64{f - 0.01, f + 0.01})
	}
	p := Warmup(scaled, 2, dt)
	// m: the median of the last 5 fused: 0.9 1.2 0.8 1.05 0.95 → 0.95.
	if !near(p.X0[0], math.Log(0.95), 1e-12) || p.X0[1] != 0 || p.X0[2] != 0 {
		t.Errorf("x0 = %v; want [ln 0.95, 0, 0]", p.X0)
	}
	logs := make([]float64, len(fused))
	for i, f := range fused {
		logs[i] = math.Log(f)
	}
	r := ObservationNoise(scaled, 2, dt)
	sigma0 := math.Max(0.05, math.Max(2*robustStd(logs), math.Sqrt((r[0]+r[1])/2)))
	if sigma0 <= 0.05 {
		t.Fatalf("test data should set σ0 from the warm-up's spread, got %v", sigma0)
	}
	want := diag3(sigma0*sigma0, 0.03*0.03, 0.05*0.05)
	if p.P0 != want {
		t.Errorf("P0 = %v; want %v", p.P0, want)
	}
	if p.Q != ProcessNoise(dt) || !slices.Equal(p.R, r) {
		t.Errorf("Q, R = %v, %v; want %v, %v", p.Q, p.R, ProcessNoise(dt), r)
	}
	// A quiet warm-up: σ0 is its floor 0.05.
	quiet := Warmup([][]float64{{1}, {1}, {1}}, 1, dt)
	if !near(quiet.P0[0][0], 0.0025, 1e-15) {
		t.Errorf("quiet P0[0][0] = %v; want 0.0025", quiet.P0[0][0])
	}
	// A non-positive reading is floored at 1e-9 before its log.
	if floor := Warmup([][]float64{{0}}, 1, dt); floor.X0[0] != math.Log(1e-9) {
		t.Errorf("x0 of a zero reading = %v; want ln(1e-9)", floor.X0)
	}
}
