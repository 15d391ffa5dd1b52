package examples_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/simulate"
)

// The worked examples do what they say, on the whole simulated unit
// (stirring, od_reading, growth_rate_calculating and a temperature
// automation beside each): these tests judge each by its outcome, as a
// scientist judges a run by its plot.

func simulateSeries(t *testing.T, o simulate.Options) *simulate.Summary {
	t.Helper()
	o.Seed, o.Series = 7, true
	s, err := simulate.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 {
		t.Fatalf("the script failed %d times: %q", s.Errors, s.ErrorMessages)
	}
	return s
}

// mean is the mean of the points from..to.
func mean(points []simulate.Point, from, to time.Duration) (avg float64, n int) {
	var sum float64
	for _, p := range points {
		if p.T >= from && p.T <= to {
			sum += p.V
			n++
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), n
}

// The turbidostat holds its biomass signal within 10 % of its target for 12
// simulated hours after it first reaches it.
func TestTurbidostatHoldsItsTarget(t *testing.T) {
	const target = 3.0
	s := simulateSeries(t, simulate.Options{Script: "turbidostat.star", For: 24 * time.Hour})
	reached := time.Duration(-1)
	for _, p := range s.Series.NormalizedOD {
		if p.V >= target {
			reached = p.T
			break
		}
	}
	if reached < 0 || reached > 10*time.Hour {
		t.Fatalf("the culture reached normalized OD %v at %v; want within 10 h", target, reached)
	}
	n := 0
	for _, p := range s.Series.NormalizedOD {
		if p.T < reached || p.T > reached+12*time.Hour {
			continue
		}
		n++
		if math.Abs(p.V-target) > 0.1*target {
			t.Fatalf("normalized OD %.3f at %v, %v after first reaching %v: more than 10 %% off", p.V, p.T, p.T-reached, target)
		}
	}
	if n < 12*3600/5-10 {
		t.Errorf("%d readings in the 12 h after reaching the target, want one every 5 s", n)
	}
	if s.Doses < 20 {
		t.Errorf("%d dilutions in 12 h, want a turbidostat's dozens", s.Doses)
	}
}

// The chemostat's steady-state growth rate matches its dilution rate.
func TestChemostatGrowsAtItsDilutionRate(t *testing.T) {
	s := simulateSeries(t, simulate.Options{Script: "chemostat.star", For: 48 * time.Hour})
	// 0.4 mL into 14 mL, 6 times an hour: each exchange dilutes by 14/14.4.
	dilution := 6 * math.Log(14.4/14)
	rate, n := mean(s.Series.GrowthRate, 36*time.Hour, 48*time.Hour)
	if n == 0 || math.Abs(rate-dilution) > 0.1*dilution {
		t.Errorf("growth rate %.4f/h over the last 12 h (%d readings), want the dilution rate %.4f/h within 10 %%", rate, n, dilution)
	}
	// The simulated culture itself grows at the dilution rate its pump truly
	// gives (a simulated pump's flow differs a little from its calibration).
	var pumped float64
	for _, p := range s.Pumps {
		if p.Action == "add_media" {
			pumped = p.PumpedML
		}
	}
	trueDilution := 6 * math.Log(1+pumped/(6*48)/14)
	if tr := s.Reactor.GrowthRate; math.Abs(tr-trueDilution) > 0.03*trueDilution {
		t.Errorf("the simulated culture grows at %.4f/h at the end, want the true dilution rate %.4f/h (%.2f mL of media in 48 h)", tr, trueDilution, pumped)
	}
}

// The morbidostat keeps the growth rate near its target by dosing alt-media.
func TestMorbidostatHoldsTheGrowthRate(t *testing.T) {
	const target = 0.15
	s := simulateSeries(t, simulate.Options{Script: "morbidostat.star", For: 48 * time.Hour})
	rate, n := mean(s.Series.GrowthRate, 36*time.Hour, 48*time.Hour)
	if n == 0 || math.Abs(rate-target) > 0.1*target {
		t.Errorf("growth rate %.4f/h over the last 12 h, want %v within 10 %%", rate, target)
	}
	if s.EventML["add_alt_media"] < 5 || s.Model.AltMediaFraction < 0.1 {
		t.Errorf("alt-media dosed %.2f mL, fraction %.3f: the drug did not do the work", s.EventML["add_alt_media"], s.Model.AltMediaFraction)
	}
	// Without the drug the culture would grow faster than the target.
	if free := s.Reactor.GrowthRate / (1 - 1.5*s.Reactor.AltMediaFraction); free < 1.3*target {
		t.Errorf("the culture would grow at only %.3f/h without the drug: the test proves nothing", free)
	}
}

// The thermostat settles within 0.5 °C of its target.
func TestThermostatSettles(t *testing.T) {
	const target = 30.0
	var vial []float64
	s := simulateSeries(t, simulate.Options{Script: "thermostat.star", For: 8 * time.Hour,
		At: func(clk *sched.Virtual, _ *pubsub.Memory, env *runtime.Env) {
			r := env.Board.(*sim.Reactor)
			for at := 4 * time.Hour; at < 8*time.Hour; at += 10 * time.Second {
				clk.At(simulate.Epoch.Add(at), func() { vial = append(vial, r.State().Celsius) })
			}
		}})
	n := 0
	for _, p := range s.Series.Temperature {
		if p.T < 3*time.Hour {
			continue
		}
		n++
		if math.Abs(p.V-target) > 0.5 {
			t.Errorf("temperature %.2f °C at %v, want within 0.5 of %v", p.V, p.T, target)
		}
	}
	if n < 85 {
		t.Errorf("%d temperatures after 3 h, want one every 200 s", n)
	}
	// The vial itself: it cools a little while each measurement holds the
	// heater off (105 s of every 200 s), so its mean sits below the
	// measured temperature; within 1.5 °C.
	var sum float64
	for _, v := range vial {
		sum += v
	}
	if m := sum / float64(len(vial)); math.Abs(m-target) > 1.5 {
		t.Errorf("the vial averaged %.2f °C from 4 h to 8 h, want within 1.5 of %v", m, target)
	}
}

// The sunrise light program follows its day.
func TestSunriseFollowsTheDay(t *testing.T) {
	at := map[time.Duration]float64{}
	hours := []time.Duration{3 * time.Hour, 6*time.Hour + 30*time.Minute + time.Minute, 12 * time.Hour, 22 * time.Hour, 27 * time.Hour, 36 * time.Hour}
	simulateSeries(t, simulate.Options{Script: "sunrise.star", For: 40 * time.Hour,
		At: func(clk *sched.Virtual, _ *pubsub.Memory, env *runtime.Env) {
			r := env.Board.(*sim.Reactor)
			for _, h := range hours {
				clk.At(simulate.Epoch.Add(h), func() { at[h] = r.State().LEDs["B"] })
			}
		}})
	want := map[time.Duration][2]float64{ // low, high
		3 * time.Hour: {0, 0},
		6*time.Hour + 30*time.Minute + time.Minute: {20, 40},
		12 * time.Hour: {60, 60},
		22 * time.Hour: {0, 0},
		27 * time.Hour: {0, 0},
		36 * time.Hour: {60, 60},
	}
	for _, h := range hours {
		if v, w := at[h], want[h]; v < w[0] || v > w[1] {
			t.Errorf("white light %.1f %% at %v, want %v to %v", v, h, w[0], w[1])
		}
	}
}
