package growthrate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// prior is a simple start: OD 1, rate 0, unit-ish covariances.
func prior(r ...float64) Prior {
	return Prior{X0: vec3{0, 0, 0}, P0: diag3(1e-2, 1e-3, 1e-4), Q: diag3(1e-8, 5e-8, 5e-6), R: r}
}

func mustFilter(t *testing.T, p Prior, threshold float64) *Filter {
	t.Helper()
	f, err := NewFilter(p, threshold)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewFilterRefuses(t *testing.T) {
	good := prior(1e-4)
	for _, c := range []struct {
		name string
		edit func(p *Prior)
		want string
	}{
		{"no sensors", func(p *Prior) { p.R = nil }, "no sensors"},
		{"R zero", func(p *Prior) { p.R = []float64{0} }, "observation_noise_covariance[0][0]=0 must be positive"},
		{"R NaN", func(p *Prior) { p.R = []float64{1e-4, math.NaN()} }, "observation_noise_covariance[1][1]=NaN"},
		{"Q not PD", func(p *Prior) { p.Q[2][2] = 0 }, "process_noise_covariance"},
		{"Q not symmetric", func(p *Prior) { p.Q[0][1] = 1e-9 }, "process_noise_covariance"},
		{"P0 not PD", func(p *Prior) { p.P0 = mat3{{1, 2, 0}, {2, 1, 0}, {0, 0, 1}} }, "initial_covariance"},
		{"state NaN", func(p *Prior) { p.X0[0] = math.NaN() }, "initial_state"},
	} {
		p := good
		p.R = append([]float64(nil), good.R...)
		c.edit(&p)
		if _, err := NewFilter(p, 5); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v; want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestPositiveDefinite(t *testing.T) {
	for _, c := range []struct {
		m    mat3
		want bool
	}{
		{diag3(1, 2, 3), true},
		{mat3{{2, 1, 0}, {1, 2, 1}, {0, 1, 2}}, true},
		{mat3{{1, 2, 0}, {2, 1, 0}, {0, 0, 1}}, false},
		{diag3(1, -1, 1), false},
		{mat3{{2, 1, 0}, {0, 2, 0}, {0, 0, 2}}, false}, // not symmetric
	} {
		if got := c.m.positiveDefinite(); got != c.want {
			t.Errorf("positiveDefinite(%v) = %v; want %v", c.m, got, c.want)
		}
	}
}

func TestBaseVarianceAndClipAtStart(t *testing.T) {
	for _, c := range []struct {
		logOD float64
		r     []float64
		vBase float64
	}{
		{0, []float64{1e-4, 3e-4}, 6e-4},             // 3·mean(R)/1
		{math.Log(10), []float64{1e-4}, 2e-5},        // 3e-4/100 = 3e-6: floored at 2e-5
		{math.Log(0.1), []float64{1e-4}, 3e-4 / .01}, // divided by OD²
	} {
		p := prior(c.r...)
		p.X0[0] = c.logOD
		f := mustFilter(t, p, 5)
		if !near(f.vBase, c.vBase, 1e-12) || f.vAdapt != f.vBase {
			t.Errorf("log OD %v, R %v: vBase %v, vAdapt %v; want %v for both", c.logOD, c.r, f.vBase, f.vAdapt, c.vBase)
		}
	}
	for _, c := range []struct{ in, want float64 }{{5, 3}, {-5, -1}, {0.5, 0.5}} {
		p := prior(1e-4)
		p.X0[1] = c.in
		if _, r, _ := mustFilter(t, p, 5).State(); r != c.want {
			t.Errorf("initial rate %v: State rate %v; want %v", c.in, r, c.want)
		}
	}
}

// An observation equal to the prediction moves nothing: the state is F·x.
func TestTransition(t *testing.T) {
	p := prior(1e-4)
	p.X0 = vec3{0.2, 0.5, 0.1}
	f := mustFilter(t, p, 5)
	dt := 0.1
	want := vec3{0.2 + 0.5*dt + 0.1*dt*dt/2, 0.5 + 0.1*dt, 0.1 * 0.995}
	logOD, rate, err := f.Update([]float64{math.Exp(want[0])}, dt, false)
	if err != nil {
		t.Fatal(err)
	}
	_, _, drift := f.State()
	if !near(logOD, want[0], 1e-12) || !near(rate, want[1], 1e-12) || !near(drift, want[2], 1e-12) {
		t.Fatalf("state %v %v %v; want %v", logOD, rate, drift, want)
	}
}

func TestFuseIsInverseVarianceWeighted(t *testing.T) {
	p := prior(1e-4, 1.6e-3)
	p.X0[0] = math.Log(100) // vBase at its floor, 2e-5
	f := mustFilter(t, p, 5)
	// Sensor 1: ln 1 = 0 with 1e-4/1²; sensor 2: ln 2 with 1.6e-3/2² = 4e-4.
	z, v := f.fuse([]float64{1, 2})
	if !near(z, 0.2*math.Ln2, 1e-12) || !near(v, 8e-5, 1e-15) {
		t.Fatalf("fuse = %v, %v; want %v, 8e-5", z, v, 0.2*math.Ln2)
	}
	// A sensor's variance is floored at vBase; an OD at 1e-9.
	z, v = f.fuse([]float64{0, 0})
	if !near(z, math.Log(1e-9), 1e-9) || v <= 0 {
		t.Fatalf("fuse of zeros = %v, %v; want ln(1e-9)", z, v)
	}
	p = prior(1e-6)
	f = mustFilter(t, p, 5) // vBase 2e-5 > 1e-6
	if _, v := f.fuse([]float64{1}); v != 2e-5 {
		t.Fatalf("floored variance = %v; want vBase 2e-5", v)
	}
}

// oneStep is the update written out for one sensor, from the formulas.
func oneStep(f *Filter, y, dt float64, dilution bool) (x vec3, outlier bool) {
	vz := math.Max(f.r[0]/(y*y), f.vBase)
	tr := transition(dt)
	xp := tr.mulVec(f.x)
	pp := tr.mul(&f.p)
	trT := tr.transpose()
	pp = pp.mul(&trT)
	pp = pp.add(&f.q)
	if dilution {
		pp[0][0] += 0.05
		pp[1][1] += 1e-4
	}
	e := math.Log(y) - xp[0]
	v := math.Max(vz, f.vAdapt)
	s := pp[0][0] + v
	if z := math.Abs(e / math.Sqrt(s)); z > f.threshold {
		outlier = true
		s = pp[0][0] + v*(z/f.threshold)*(z/f.threshold)
	}
	for i := range 3 {
		x[i] = xp[i] + pp[i][0]/s*e
	}
	return x, outlier
}

func TestUpdateFollowsTheFormulas(t *testing.T) {
	for _, c := range []struct {
		name     string
		y        float64
		dilution bool
		outlier  bool
	}{
		{"ordinary", 1.01, false, false},
		{"dilution", 0.9, true, false},
		{"outlier", 3, false, true},
	} {
		f := mustFilter(t, prior(1e-4), 3)
		want, outlier := oneStep(f, c.y, 1.0/720, c.dilution)
		if outlier != c.outlier {
			t.Fatalf("%s: the test's step says outlier=%v; want %v", c.name, outlier, c.outlier)
		}
		logOD, rate, err := f.Update([]float64{c.y}, 1.0/720, c.dilution)
		if err != nil {
			t.Fatal(err)
		}
		if !near(logOD, want[0], 1e-12) || !near(rate, want[1], 1e-12) {
			t.Errorf("%s: log OD, rate = %v, %v; want %v, %v", c.name, logOD, rate, want[0], want[1])
		}
		// The adaptive noise learns from ordinary updates only, and then
		// rewrites R in OD space.
		if adapted := f.r[0] != 1e-4; adapted != (!c.outlier && !c.dilution) {
			t.Errorf("%s: R %v after the update; want it rewritten only after an ordinary update", c.name, f.r)
		}
	}
}

func TestOutlierIsDampened(t *testing.T) {
	step := func(threshold float64) float64 {
		f := mustFilter(t, prior(1e-4), threshold)
		logOD, _, _ := f.Update([]float64{3}, 1.0/720, false)
		return logOD
	}
	if dampened, plain := step(3), step(1e9); !(dampened < plain) {
		t.Fatalf("an outlier moved log OD to %v, as much as without outlier handling (%v)", dampened, plain)
	}
}

func TestAdaptiveNoise(t *testing.T) {
	f := mustFilter(t, prior(1e-4), 5)
	base := f.vBase
	vz := math.Max(1e-4/(1.01*1.01), base)
	tr := transition(1.0 / 720)
	pp := tr.mul(&f.p)
	trT := tr.transpose()
	pp = pp.mul(&trT)
	s := pp[0][0] + f.q[0][0] + math.Max(vz, f.vAdapt)
	e := math.Log(1.01)
	want := math.Max(base, 0.98*base+0.02*math.Min(e*e, 16*s))
	logOD, _, _ := f.Update([]float64{1.01}, 1.0/720, false)
	if !near(f.vAdapt, want, 1e-15) {
		t.Fatalf("vAdapt = %v; want %v", f.vAdapt, want)
	}
	od := math.Exp(logOD)
	if r := f.ObservationNoise(); !near(r[0], want*od*od, 1e-15) {
		t.Fatalf("R = %v; want vAdapt·od² = %v", r, want*od*od)
	}
}

func TestCovarianceFloorAndRateClip(t *testing.T) {
	p := Prior{X0: vec3{0, 2.99, 50}, P0: diag3(1e-20, 1e-20, 1e-20), Q: diag3(1e-20, 1e-20, 1e-20), R: []float64{1e-4}}
	f := mustFilter(t, p, 5)
	_, rate, err := f.Update([]float64{1}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if rate != MaxGrowthRate {
		t.Errorf("rate %v; want clipped to %v", rate, MaxGrowthRate)
	}
	for i := range 3 {
		if f.p[i][i] < 1e-12 {
			t.Errorf("P[%d][%d] = %v; want at least 1e-12", i, i, f.p[i][i])
		}
	}
	p.X0 = vec3{0, -0.99, -50}
	f = mustFilter(t, p, 5)
	if _, rate, _ := f.Update([]float64{1}, 1, false); rate != MinGrowthRate {
		t.Errorf("rate %v; want clipped to %v", rate, MinGrowthRate)
	}
}

func TestUpdateRefuses(t *testing.T) {
	f := mustFilter(t, prior(1e-4, 1e-4), 5)
	if _, _, err := f.Update([]float64{1}, 1, false); err == nil || !strings.Contains(err.Error(), "got 1, expected 2") {
		t.Errorf("one value for two sensors: err = %v", err)
	}
	before := f.x
	if _, _, err := f.Update([]float64{1, 1}, math.NaN(), false); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN dt: err = %v; want NaNs detected", err)
	}
	if f.x != before {
		t.Errorf("state after a refused update %v; want unchanged %v", f.x, before)
	}
}

// B8 test_90_angle: a synthetic exponential at 0.025 h⁻¹ gives a positive
// growth rate soon after the warm-up, which then converges near 0.025.
func TestSyntheticExponentialConverges(t *testing.T) {
	const rate = 0.025
	dt := ExpectedDT(0.2)
	rng := rand.New(rand.NewPCG(8, 8))
	od := func(i int) float64 { return 0.05 * math.Exp(rate*float64(i)*dt) * (1 + 0.002*rng.NormFloat64()) }
	var warm [][]float64
	for i := range 35 {
		warm = append(warm, []float64{od(i) / 0.05})
	}
	f := mustFilter(t, Warmup(warm, 1, dt), 3)
	var est float64
	for i := 35; i < 35+720*12; i++ {
		_, r, err := f.Update([]float64{od(i) / 0.05}, dt, false)
		if err != nil {
			t.Fatal(err)
		}
		if i == 35+7 && !(r > 0) {
			t.Errorf("after 35 s: growth rate %v; want above 0", r)
		}
		est = r
	}
	if math.Abs(est-rate) > 0.1*rate {
		t.Fatalf("after 12 h: growth rate %v; want within 10%% of %v", est, rate)
	}
}
