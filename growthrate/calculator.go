package growthrate

import (
	"math"
	"time"

	"github.com/piolab/pio/payload"
)

// PostDoseObservations is how many OD readings after a dosing event the
// filter treats as just after a dilution.
const PostDoseObservations = 2

// Logger is where the calculator reports; *runtime.Logger is one.
type Logger interface {
	Debug(format string, a ...any)
	Info(format string, a ...any)
	Warning(format string, a ...any)
	Error(format string, a ...any)
}

// Output is one processed OD reading's estimate.
type Output struct {
	GrowthRate float64   // h⁻¹
	ODFiltered float64   // e^log_od: the normalised OD, about 1.0 at start
	At         time.Time // the OD reading's timestamp
}

// Calculator is the job's stream logic without MQTT: it collects the
// warm-up, learns or loads the normalisation factors, starts the filter,
// and feeds it each later reading with its dt and post-dose flag.
type Calculator struct {
	settings   Settings
	experiment string
	cache      Cache
	log        Logger
	expectedDT float64 // hours

	warmup   []ODs
	factors  map[string]float64
	channels []string
	filter   *Filter
	// update is filter.Update (tests watch the post-dose flags through it).
	update func(obs []float64, dt float64, recentDilution bool) (logOD, rate float64, err error)

	postDose int       // readings still to flag as just after a dilution
	prev     time.Time // the last processed reading's timestamp
	hasPrev  bool
	scaled   []float64 // reused for each reading
}

// NewCalculator returns a calculator for an experiment with checked
// settings; factors are loaded from and saved to cache.
func NewCalculator(s Settings, experiment string, cache Cache, log Logger) *Calculator {
	return &Calculator{settings: s, experiment: experiment, cache: cache, log: log,
		expectedDT: ExpectedDT(s.SamplesPerSecond)}
}

// Ready reports whether the warm-up is over and the filter runs.
func (c *Calculator) Ready() bool { return c.filter != nil }

// Factors returns the normalisation factors (nil during the warm-up).
func (c *Calculator) Factors() map[string]float64 { return c.factors }

// Filter returns the filter (nil during the warm-up).
func (c *Calculator) Filter() *Filter { return c.filter }

// PostDoseRemaining is how many more readings will be flagged as just after
// a dilution.
func (c *Calculator) PostDoseRemaining() int { return c.postDose }

// Dosing handles a dosing event: during the warm-up it restarts the
// collection; after it, the next PostDoseObservations readings are flagged
// as just after a dilution. The event's volume and kind are not used.
func (c *Calculator) Dosing() {
	if c.filter == nil {
		c.log.Info("Dosing event observed during warmup. Restarting OD observation collection.")
		c.warmup = c.warmup[:0]
		return
	}
	c.postDose = PostDoseObservations
}

// Reading handles an OD reading taken at at. It returns the new estimate
// (ok) once the filter runs. A reading the filter cannot take (a bad value,
// late data) is logged and skipped; the error returned is fatal: the warm-up
// readings cannot start the filter (logged too).
func (c *Calculator) Reading(ods ODs, at time.Time) (out Output, ok bool, err error) {
	if c.filter == nil {
		c.warmup = append(c.warmup, ods)
		if len(c.warmup) < c.settings.SamplesForODStatistics {
			return Output{}, false, nil
		}
		if err := c.start(); err != nil {
			c.log.Error("Error processing warmup OD readings: %v", err)
			return Output{}, false, err
		}
		return Output{}, false, nil
	}

	c.scaled, err = Scale(c.scaled[:0], ods, c.factors, c.channels)
	if err != nil {
		c.log.Error("Error processing OD readings: %v", err)
		return Output{}, false, nil
	}
	dt := c.expectedDT
	if c.hasPrev {
		dt = at.Sub(c.prev).Hours()
		if dt < 0 {
			c.log.Error("Error processing OD readings: late arriving data: timestamp=%s, time_of_previous_observation=%s",
				payload.StructTimestamp(at), payload.StructTimestamp(c.prev))
			return Output{}, false, nil
		}
	}
	c.prev, c.hasPrev = at, true
	dilution := c.postDose > 0
	logOD, rate, err := c.update(c.scaled, dt, dilution)
	if err != nil {
		c.log.Error("Error processing OD readings: %v", err)
		return Output{}, false, nil
	}
	if dilution {
		c.postDose--
	}
	return Output{GrowthRate: rate, ODFiltered: math.Exp(logOD), At: at}, true, nil
}

// start ends the warm-up: factors from the cache (or the warm-up's medians,
// then cached), the warm-up scaled, and the filter started from it.
func (c *Calculator) start() error {
	c.factors = c.loadFactors()
	c.channels = Channels(c.factors)
	c.log.Debug("od_normalization_mean=%s", formatODs(c.factors, c.channels))

	scaled := make([][]float64, len(c.warmup))
	for i, r := range c.warmup {
		row, err := Scale(nil, r, c.factors, c.channels)
		if err != nil {
			return err
		}
		scaled[i] = row
	}
	c.log.Info("Initializing growth-rate filter from warmup observations.")
	f, err := NewFilter(Warmup(scaled, len(c.channels), c.expectedDT), c.settings.OutlierStdThreshold)
	if err != nil {
		return err
	}
	c.filter, c.update = f, f.Update
	c.warmup = nil
	return nil
}

// loadFactors returns the cached factors if there are any, else the warm-up's
// medians, which it caches.
func (c *Calculator) loadFactors() map[string]float64 {
	f, ok, err := c.cache.Load(c.experiment)
	switch {
	case err != nil:
		c.log.Error("OD normalization factors could not be read (%v); computing them from the warmup without caching them.", err)
		return MedianFactors(c.warmup)
	case ok && len(f) > 0:
		c.log.Debug("Loaded OD normalization factors from cache.")
		return f
	}
	c.log.Info("OD normalization factors not found in cache. Computing them now.")
	f = MedianFactors(c.warmup)
	if err := c.cache.Save(c.experiment, f); err != nil {
		c.log.Warning("OD normalization factors could not be cached: %v", err)
	} else {
		c.log.Debug("Cached OD normalization factors computed from warmup observations.")
	}
	c.log.Info("Completed OD normalization metrics.")
	return f
}
