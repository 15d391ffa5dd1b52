package growthrate

import (
	"math"
	"testing"
	"time"
)

// BenchmarkFilterUpdate is one filter update: od_reading's default rate
// makes 17280 of them per simulated day.
func BenchmarkFilterUpdate(b *testing.B) {
	for _, sensors := range []int{1, 2} {
		b.Run([]string{"", "one_sensor", "two_sensors"}[sensors], func(b *testing.B) {
			dt := ExpectedDT(0.2)
			warm := make([][]float64, 10)
			for i := range warm {
				warm[i] = make([]float64, sensors)
				for s := range sensors {
					warm[i][s] = 1 + 0.01*float64((i+s)%3-1)
				}
			}
			f, err := NewFilter(Warmup(warm, sensors, dt), 5)
			if err != nil {
				b.Fatal(err)
			}
			obs := make([]float64, sensors)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// A turbidostat's sawtooth: an hour's growth, then a dilution.
				od := math.Exp(0.3*float64(i%720)*dt) * (1 + 0.01*float64(i%5-2))
				for s := range obs {
					obs[s] = od
				}
				if _, _, err := f.Update(obs, dt, i%720 == 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCalculatorReading is one reading through the calculator:
// scaling, dt and the filter update.
func BenchmarkCalculatorReading(b *testing.B) {
	c := NewCalculator(Settings{SamplesPerSecond: 0.2, SamplesForODStatistics: 10, OutlierStdThreshold: 5}, "exp", &MemCache{}, nopLogger{})
	for i := range 10 {
		if _, _, err := c.Reading(ODs{"2": 0.05, "1": 1}, t0.Add(time.Duration(i)*5*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	ods := ODs{"2": 0.05, "1": 1}
	b.ReportAllocs()
	for i := 10; b.Loop(); i++ {
		if i%720 == 0 {
			c.Dosing()
		}
		ods["2"] = 0.05 * math.Exp(0.3*float64(i%720)/720)
		if _, ok, err := c.Reading(ods, t0.Add(time.Duration(i)*5*time.Second)); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any)   {}
func (nopLogger) Info(string, ...any)    {}
func (nopLogger) Warning(string, ...any) {}
func (nopLogger) Error(string, ...any)   {}
