package growthrate

import (
	"fmt"
	"math"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
)

// Config sections and keys the job reads.
const (
	sectionGrowth = "growth_rate_calculating.config"
	sectionOD     = "od_reading.config"
)

// Settings are the job's configuration.
type Settings struct {
	// SamplesPerSecond is [od_reading.config] samples_per_second: the OD
	// reading rate, which sets the expected time between readings.
	SamplesPerSecond float64
	// SamplesForODStatistics is [growth_rate_calculating.config]
	// samples_for_od_statistics: the OD readings of the warm-up.
	SamplesForODStatistics int
	// OutlierStdThreshold is [growth_rate_calculating.config]
	// ekf_outlier_std_threshold: innovations beyond it are outliers.
	OutlierStdThreshold float64
}

// Check applies upstream's rules: samples_per_second > 0,
// samples_for_od_statistics ≥ 1, ekf_outlier_std_threshold > 2.
func (s Settings) Check() error {
	switch {
	case !(s.SamplesPerSecond > 0):
		return fmt.Errorf("growth_rate_calculating: [%s] samples_per_second=%s: want a value above 0", sectionOD, payload.PyFloat(s.SamplesPerSecond))
	case s.SamplesForODStatistics < 1:
		return fmt.Errorf("growth_rate_calculating: [%s] samples_for_od_statistics=%d: want a value of at least 1", sectionGrowth, s.SamplesForODStatistics)
	case !(s.OutlierStdThreshold > 2):
		return fmt.Errorf("growth_rate_calculating: [%s] ekf_outlier_std_threshold=%s: want a value above 2", sectionGrowth, payload.PyFloat(s.OutlierStdThreshold))
	}
	return nil
}

// ReadSettings reads the job's settings from cfg. A bad value is an error
// naming the file, line, section, key and value.
func ReadSettings(cfg *config.Config) (Settings, error) {
	od := cfg.Section(sectionOD)
	gr := cfg.Section(sectionGrowth)
	s := Settings{
		SamplesPerSecond:       od.Float("samples_per_second", nil, "a number"),
		SamplesForODStatistics: gr.Int("samples_for_od_statistics", math.MinInt, math.MaxInt),
		OutlierStdThreshold:    gr.Float("ekf_outlier_std_threshold", nil, "a number"),
	}
	if err := od.Err(); err != nil {
		return s, err
	}
	if err := gr.Err(); err != nil {
		return s, err
	}
	// The rules, reported where the value was written.
	if !(s.SamplesPerSecond > 0) {
		od.Fail("samples_per_second", "samples_per_second=%s: want a value above 0", payload.PyFloat(s.SamplesPerSecond))
		return s, od.Err()
	}
	if s.SamplesForODStatistics < 1 {
		gr.Fail("samples_for_od_statistics", "samples_for_od_statistics=%d: want a value of at least 1", s.SamplesForODStatistics)
	}
	if !(s.OutlierStdThreshold > 2) {
		gr.Fail("ekf_outlier_std_threshold", "ekf_outlier_std_threshold=%s: want a value above 2", payload.PyFloat(s.OutlierStdThreshold))
	}
	return s, gr.Err()
}
