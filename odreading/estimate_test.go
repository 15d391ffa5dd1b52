package odreading

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func samples(n int, f func(t float64) float64) []hw.Sample {
	out := make([]hw.Sample, n)
	for i := range out {
		at := time.Duration(i) * burstSpacing
		out[i] = hw.Sample{At: epoch.Add(at), Volts: f(at.Seconds())}
	}
	return out
}

func TestEstimatorLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hum := func(t float64) float64 { return 0.05 * math.Sin(2*math.Pi*60*t+0.7) }
	for _, tc := range []struct {
		name                  string
		s                     []hw.Sample
		offset, prior, lambda float64
		want, tol             float64
	}{
		{"constant", samples(40, func(float64) float64 { return 0.3 }), 0, 0, 0, 0.3, 1e-12},
		{"offset removed", samples(40, func(float64) float64 { return 0.3 }), 0.1, 0, 0, 0.2, 1e-12},
		{"floored at 0", samples(40, func(float64) float64 { return 0.05 }), 0.1, 0, 0, 0, 0},
		// A 60 Hz hum of ±50 mV around 0.3 V: the fit removes it; a plain
		// mean of 40 samples spread over 0.83 s would not, exactly.
		{"mains hum", samples(40, func(t float64) float64 { return 0.3 + hum(t) }), 0, 0, 0, 0.3, 1e-9},
		// Two outliers are the dropped min and max.
		{"outliers dropped", func() []hw.Sample {
			s := samples(40, func(float64) float64 { return 0.3 })
			s[3].Volts, s[17].Volts = 3.0, 0
			return s
		}(), 0, 0, 0, 0.3, 1e-12},
		// The ridge prior: 38 samples at 0.3 and λ 38 toward 0.1 meet about
		// halfway (the sine terms take a little of the pull).
		{"prior pull", samples(40, func(float64) float64 { return 0.3 }), 0, 0.1, 38, 0.2, 1e-3},
		{"noise", samples(40, func(float64) float64 { return 0.3 + 0.01*rng.NormFloat64() }), 0, 0, 0, 0.3, 0.006},
		{"one sample", samples(1, func(float64) float64 { return 0.3 }), 0, 0, 0, 0.3, 1e-12},
		{"none", nil, 0, 0, 0, 0, 0},
	} {
		got := newEstimator().level(tc.s, tc.offset, tc.prior, tc.lambda)
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: level = %v, want %v ± %v", tc.name, got, tc.want, tc.tol)
		}
	}
}

func TestRefTrackerNoise(t *testing.T) {
	r, err := newRefTracker(true, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	r.initial = 0.2
	for i := 0; i < 50; i++ {
		if _, noisy := r.update(0.2, 5); noisy {
			t.Fatalf("a steady REF was noisy at reading %d", i)
		}
	}
	if rel, _ := r.intensity(); rel != 1 {
		t.Errorf("relative intensity %v, want 1", rel)
	}
	noisy := false
	for i := 0; i < 20 && !noisy; i++ {
		_, noisy = r.update(0.2*(1+0.3*float64(i%2*2-1)), 5)
	}
	if !noisy {
		t.Error("a REF jumping ±30 % was never noisy")
	}
	if _, err := newRefTracker(true, 1.5); err == nil {
		t.Error("pd_reference_ema 1.5 accepted")
	}
}

func TestFileCache(t *testing.T) {
	dir := t.TempDir()
	c := NewFileCache(dir + "/cache")
	if _, ok, err := c.Get(RefCache, "exp1"); ok || err != nil {
		t.Fatalf("empty cache: ok %v, err %v", ok, err)
	}
	if err := c.Set(RefCache, "exp1", "0.2"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(RefCache, "exp2", "0.3"); err != nil {
		t.Fatal(err)
	}
	c2 := NewFileCache(dir + "/cache")
	if v, ok, err := c2.Get(RefCache, "exp1"); v != "0.2" || !ok || err != nil {
		t.Errorf("Get = %q %v %v, want 0.2", v, ok, err)
	}
	if err := c.Set("../evil", "exp1", "1"); err == nil {
		t.Error("a cache name with a path was accepted")
	}
	writeFile(t, dir+"/cache/od_blank.json", "[1, 2]")
	if _, _, err := c.Get(BlankCache, "exp1"); err == nil {
		t.Error("a malformed cache file read without error")
	}
}

func TestParseBlank(t *testing.T) {
	if m, err := parseBlank(`{"2": 0.05, "3": 0.01}`); err != nil || m["2"] != 0.05 || m["3"] != 0.01 {
		t.Errorf("parseBlank = %v, %v", m, err)
	}
	if _, err := parseBlank(`0.05`); err == nil {
		t.Error("a bare number accepted as a blank")
	}
}
