package growthrate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// logRec is a Logger that keeps "LEVEL: message" lines.
type logRec struct{ lines []string }

func (l *logRec) add(level, format string, a []any) {
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, a...))
}
func (l *logRec) Debug(f string, a ...any)   { l.add("DEBUG", f, a) }
func (l *logRec) Info(f string, a ...any)    { l.add("INFO", f, a) }
func (l *logRec) Warning(f string, a ...any) { l.add("WARNING", f, a) }
func (l *logRec) Error(f string, a ...any)   { l.add("ERROR", f, a) }

func (l *logRec) has(level, substr string) bool {
	for _, s := range l.lines {
		if strings.HasPrefix(s, level+": ") && strings.Contains(s, substr) {
			return true
		}
	}
	return false
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Second) }

func newCalc(samples int, cache Cache) (*Calculator, *logRec) {
	log := &logRec{}
	if cache == nil {
		cache = &MemCache{}
	}
	return NewCalculator(Settings{SamplesPerSecond: 0.2, SamplesForODStatistics: samples, OutlierStdThreshold: 5}, "exp", cache, log), log
}

func feed(t *testing.T, c *Calculator, i int, ods ODs) (Output, bool) {
	t.Helper()
	out, ok, err := c.Reading(ods, at(i))
	if err != nil {
		t.Fatalf("reading %d: %v", i, err)
	}
	return out, ok
}

// flagRec wraps the calculator's filter update, recording what it is given.
type flagRec struct {
	flags []bool
	dts   []float64
}

func (r *flagRec) watch(c *Calculator) {
	inner := c.update
	c.update = func(obs []float64, dt float64, dil bool) (float64, float64, error) {
		r.flags = append(r.flags, dil)
		r.dts = append(r.dts, dt)
		return inner(obs, dt, dil)
	}
}

// B8 test_post_dose_reset_window_is_exactly_two_successful_observations.
func TestPostDoseWindowIsTwoObservations(t *testing.T) {
	c, _ := newCalc(2, nil)
	feed(t, c, 0, ODs{"2": 1})
	feed(t, c, 1, ODs{"2": 1})
	var rec flagRec
	rec.watch(c)
	c.Dosing()
	if c.PostDoseRemaining() != 2 {
		t.Fatalf("post-dose counter %d after a dosing event; want 2", c.PostDoseRemaining())
	}
	// A reading the filter cannot take does not use up the window.
	if _, ok, err := c.Reading(ODs{"2": 0}, at(2)); ok || err != nil {
		t.Fatalf("a zero reading: ok %v, err %v; want skipped", ok, err)
	}
	for i := 3; i < 6; i++ {
		feed(t, c, i, ODs{"2": 0.9})
	}
	if want := []bool{true, true, false}; !slices.Equal(rec.flags, want) {
		t.Fatalf("dilution flags %v; want %v", rec.flags, want)
	}
	if c.PostDoseRemaining() != 0 {
		t.Fatalf("post-dose counter %d; want 0", c.PostDoseRemaining())
	}
}

// B8 test_dosing_during_warmup_restarts_observation_collection.
func TestDosingDuringWarmupRestartsCollection(t *testing.T) {
	c, log := newCalc(2, nil)
	feed(t, c, 0, ODs{"2": 1})
	c.Dosing()
	feed(t, c, 1, ODs{"2": 2})
	if c.Ready() {
		t.Fatal("the filter started from a warm-up a dose interrupted")
	}
	feed(t, c, 2, ODs{"2": 4})
	if !c.Ready() || c.Factors()["2"] != 3 {
		t.Fatalf("ready %v, factors %v; want the median of the readings after the dose (3)", c.Ready(), c.Factors())
	}
	if !log.has("INFO", "Dosing event observed during warmup. Restarting OD observation collection.") {
		t.Errorf("logs %q; want the restart logged", log.lines)
	}
	if c.PostDoseRemaining() != 0 {
		t.Errorf("a dose during the warm-up set the post-dose counter to %d", c.PostDoseRemaining())
	}
}

// B8 test_zero_reference_and_zero_od_coming_in.
func TestZeroFactorIsFatalInWarmup(t *testing.T) {
	cache := &MemCache{}
	cache.Save("exp", map[string]float64{"2": 0})
	c, log := newCalc(1, cache)
	_, _, err := c.Reading(ODs{"2": 0}, at(0))
	if err == nil || !strings.Contains(err.Error(), "non-positive OD normalization factor") {
		t.Fatalf("err = %v; want non-positive OD normalization factor", err)
	}
	if !log.has("ERROR", "Error processing warmup OD readings: non-positive OD normalization factor") {
		t.Fatalf("logs %q; want the error logged", log.lines)
	}
	if c.Ready() {
		t.Fatal("the filter started")
	}
}

func TestCachedFactors(t *testing.T) {
	for _, c := range []struct {
		name   string
		cached map[string]float64
		want   float64
	}{
		{"reused", map[string]float64{"2": 0.5}, 0.5},    // test_restart
		{"empty is recomputed", map[string]float64{}, 2}, // test_empty_cached_normalization_dicts_are_recomputed
		{"none", nil, 2},
	} {
		cache := &MemCache{}
		if c.cached != nil {
			cache.Save("exp", c.cached)
		}
		calc, _ := newCalc(3, cache)
		for i, od := range []float64{1, 2, 3} {
			feed(t, calc, i, ODs{"2": od})
		}
		got, _, _ := cache.Load("exp")
		if calc.Factors()["2"] != c.want || got["2"] != c.want {
			t.Errorf("%s: factors %v, cache %v; want %v", c.name, calc.Factors(), got, c.want)
		}
	}
}

func TestLiveErrorsAreSkipped(t *testing.T) {
	c, log := newCalc(1, nil)
	feed(t, c, 10, ODs{"2": 1, "1": 2})
	var rec flagRec
	rec.watch(c)
	for _, r := range []struct {
		ods  ODs
		i    int
		want string
	}{
		{ODs{"2": -1, "1": 2}, 11, "non-positive normalized value(s) observed"},
		{ODs{"2": 1}, 12, "the OD reading has no channel 1"},
	} {
		if _, ok, err := c.Reading(r.ods, at(r.i)); ok || err != nil {
			t.Fatalf("%v: ok %v, err %v; want skipped", r.ods, ok, err)
		}
		if !log.has("ERROR", "Error processing OD readings: "+r.want) {
			t.Errorf("logs %q; want %q", log.lines, r.want)
		}
	}
	// The first live reading's dt is the expected one; later ones come from
	// the timestamps; a reading older than the previous one is dropped.
	feed(t, c, 20, ODs{"2": 1, "1": 2})
	feed(t, c, 22, ODs{"2": 1, "1": 2})
	if _, ok, err := c.Reading(ODs{"2": 1, "1": 2}, at(21)); ok || err != nil {
		t.Fatalf("late data: ok %v, err %v; want skipped", ok, err)
	}
	if !log.has("ERROR", "late arriving data: timestamp=2026-01-01T00:01:45Z, time_of_previous_observation=2026-01-01T00:01:50Z") {
		t.Errorf("logs %q; want late data logged", log.lines)
	}
	feed(t, c, 23, ODs{"2": 1, "1": 2})
	want := []float64{ExpectedDT(0.2), 10.0 / 3600, 5.0 / 3600}
	if len(rec.dts) != 3 || !near(rec.dts[0], want[0], 1e-15) || !near(rec.dts[1], want[1], 1e-15) || !near(rec.dts[2], want[2], 1e-15) {
		t.Fatalf("dts %v; want %v", rec.dts, want)
	}
}

func TestOutputs(t *testing.T) {
	c, _ := newCalc(3, nil)
	for i := range 3 {
		if _, ok := feed(t, c, i, ODs{"2": 0.5}); ok {
			t.Fatalf("an output during the warm-up (reading %d)", i)
		}
	}
	out, ok := feed(t, c, 3, ODs{"2": 0.5})
	if !ok || out.At != at(3) || !near(out.ODFiltered, 1, 1e-3) || math.Abs(out.GrowthRate) > 0.01 {
		t.Fatalf("output %+v, %v; want od_filtered ≈ 1, growth rate ≈ 0 at the reading's time", out, ok)
	}
}

// Shutting down during the warm-up does not start the filter.
func TestNoFilterWithoutAFullWarmup(t *testing.T) {
	c, _ := newCalc(3, nil)
	feed(t, c, 0, ODs{"2": 1})
	if c.Ready() || c.Filter() != nil || c.Factors() != nil {
		t.Fatal("the filter started from a partial warm-up")
	}
}
