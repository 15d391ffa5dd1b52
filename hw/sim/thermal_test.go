package sim

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

// inferVial is upstream's temperature model for the 40 ml and later 20 ml
// units (the linear model of temperature_automation): 21 readings of the
// PCB, 5 s apart with the heater off, and the duty before; every feature
// divided by 35, plus x[1]² and x[20]·x[0].
func inferVial(duty float64, pcb []float64) float64 {
	coef := [24]float64{-13.7221255, 150.807347, 15.2808570, -71.7124615, -81.5352596, -58.2053398,
		-84.9915201, -36.9729300, -0.0851994806, 11.2635670, 33.7434235, 33.6348041, 42.5731033,
		67.2551219, 83.7883314, 62.9508694, 49.5735854, 18.6594862, 0.312848519, -38.2815596,
		-56.2834504, -92.7840943, -7.62113224, 8.18877406}
	x := make([]float64, 0, 24)
	x = append(x, duty/35)
	for _, t := range pcb {
		x = append(x, t/35)
	}
	x = append(x, x[1]*x[1], x[20]*x[0])
	sum := -6.171633633597331
	for i, c := range coef {
		sum += c * x[i]
	}
	return sum
}

// With the default model, upstream's inference recovers the vial's
// temperature while heating at 5 to 50 % duty. The heater runs as under
// temperature_automation: at the duty for 95 s, then off for an inference
// of 21 readings 5 s apart (each the mean of 6 thermometer samples 0.05 s
// apart), every 200 s. Once past the first few cycles (1000 s), each
// inference is within 0.5 °C of the vial's temperature when the heater
// went off, and the mean error within 0.3 °C.
func TestUpstreamTemperatureInference(t *testing.T) {
	ctx := context.Background()
	for _, duty := range []float64{5, 10, 20, 30, 40, 50} {
		t.Run(fmt.Sprint(duty), func(t *testing.T) {
			clk := &manualClock{t0}
			r := New(clk, Options{Seed: int64(duty)})
			heater, _ := r.Open(5, 16)
			th, _ := r.Thermometer()
			read := func() float64 {
				var sum float64
				for i := 0; i < 6; i++ {
					c, err := th.Celsius(ctx)
					if err != nil {
						t.Fatal(err)
					}
					sum += c
					clk.t = clk.t.Add(50 * time.Millisecond)
				}
				return sum / 6
			}
			var worst, sumErr float64
			n := 0
			for cycle := 0; cycle < 40; cycle++ {
				heater.SetDuty(duty)
				clk.t = clk.t.Add(95 * time.Second)
				heater.SetDuty(0)
				vial := r.State().Celsius
				start := clk.t
				pcb := make([]float64, 21)
				for i := range pcb {
					clk.t = start.Add(time.Duration(i) * 5 * time.Second)
					pcb[i] = read()
				}
				clk.t = start.Add(105 * time.Second)
				if cycle < 5 {
					continue
				}
				e := inferVial(duty, pcb) - vial
				worst = math.Max(worst, math.Abs(e))
				sumErr += e
				n++
			}
			t.Logf("duty %v %%: vial %.2f °C at the end; worst error %.3f °C, mean %.3f °C", duty, r.State().Celsius, worst, sumErr/float64(n))
			if worst > 0.5 || math.Abs(sumErr/float64(n)) > 0.3 {
				t.Errorf("duty %v %%: worst error %.3f °C, mean %.3f °C", duty, worst, sumErr/float64(n))
			}
		})
	}
}
