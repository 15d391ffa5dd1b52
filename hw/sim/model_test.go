package sim

import (
	"context"
	"math"
	"testing"
	"time"
)

// ideal is the default model without noise, drift, ripple or lag.
func ideal() *Model {
	m := DefaultModel().Ideal()
	return &m
}

// The growth curve has its phases: a lag during which the culture barely
// grows, exponential growth at the maximum rate, and saturation at the
// carrying capacity.
func TestGrowthPhases(t *testing.T) {
	m := ideal()
	m.LagHours = 2
	clk := &manualClock{t0}
	r := New(clk, Options{OD: 0.01, GrowthPerHour: 0.5, MaxOD: 2, Model: m})
	at := func(h float64) State {
		clk.t = t0.Add(time.Duration(h * float64(time.Hour)))
		return r.State()
	}
	for _, tc := range []struct {
		hours            float64
		minRate, maxRate float64 // true growth rate, per hour
		minOD, maxOD     float64
	}{
		{0, 0.17, 0.19, 0.01, 0.01}, // start of the lag: α = q0/(1+q0) = e^(−μλ) = 1/e
		{1, 0.05, 0.3, 0.01, 0.02},  // still lagging
		{6, 0.42, 0.5, 0.05, 0.15},  // exponential, near the maximum rate
		{40, 0, 0.01, 1.98, 2},      // saturated
	} {
		st := at(tc.hours)
		if st.GrowthRate < tc.minRate || st.GrowthRate > tc.maxRate || st.OD < tc.minOD || st.OD > tc.maxOD {
			t.Errorf("after %v h: OD %.4f (want %v to %v), growth rate %.4f/h (want %v to %v)",
				tc.hours, st.OD, tc.minOD, tc.maxOD, st.GrowthRate, tc.minRate, tc.maxRate)
		}
	}
	// Without lag, a dilute culture grows at the maximum rate: ln(OD)
	// rises by μ·t.
	clk = &manualClock{t0}
	r = New(clk, Options{OD: 0.001, GrowthPerHour: 0.5, MaxOD: 100, Model: ideal()})
	clk.t = t0.Add(4 * time.Hour)
	if got := math.Log(r.State().OD / 0.001); math.Abs(got-2) > 0.01 {
		t.Errorf("ln(OD/OD0) after 4 h at 0.5/h = %.4f, want 2", got)
	}
}

// The lag's closed form matches a fine integration of Baranyi's model over
// steps of any length.
func TestGrowthStepsAgree(t *testing.T) {
	mu := 0.4 / 3600
	q0 := lagState(mu, 1.5)
	odA, qA := 0.02, q0
	odB, qB := 0.02, q0
	for i := 0; i < 3600; i++ { // 10 h in 10 s steps
		odA, qA = growCulture(odA, qA, mu, 0.8, 2, 10)
	}
	for i := 0; i < 600; i++ { // the same in 60 s steps
		odB, qB = growCulture(odB, qB, mu, 0.8, 2, 60)
	}
	if math.Abs(odA-odB) > 1e-9 || math.Abs(qA-qB)/qA > 1e-9 {
		t.Errorf("10 s steps: OD %v q %v; 60 s steps: OD %v q %v", odA, qA, odB, qB)
	}
}

// Alt-media slows growth in proportion to its fraction; temperature does
// when q10 is not 1.
func TestGrowthFactor(t *testing.T) {
	for _, tc := range []struct {
		k, q10, altFrac, celsius, want float64
	}{
		{0, 1, 0.5, 30, 1},
		{1.5, 1, 0, 30, 1},
		{1.5, 1, 0.2, 30, 0.7},
		{1.5, 1, 0.5, 30, 0.25},
		{1.5, 1, 0.8, 30, 0},
		{0, 2, 0, 40, 2},
		{0, 2, 0, 20, 0.5},
		{1, 2, 0.5, 40, 1},
		{0, 0, 0, 10, 1}, // q10 0 is off too
	} {
		m := Model{AltMediaInhibition: tc.k, GrowthTemperatureQ10: tc.q10, GrowthReferenceCelsius: 30}
		if got := m.growthFactor(tc.altFrac, tc.celsius); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("k %v q10 %v: factor at alt fraction %v, %v °C = %v, want %v", tc.k, tc.q10, tc.altFrac, tc.celsius, got, tc.want)
		}
	}
}

// A dose dilutes the culture, and alt-media in the vial slows its growth.
func TestDilutionAndAltMediaSlowing(t *testing.T) {
	clk := &manualClock{t0}
	r := New(clk, Options{PumpMLPerSecond: 1, VolumeML: 14, OD: 0.5, GrowthPerHour: 0.6, MaxOD: 5, Model: ideal()})
	before := r.State()
	alt, _ := r.Open(3, 250)
	alt.SetDuty(100)
	clk.t = clk.t.Add(7 * time.Second) // 7 mL of alt-media: a third of 21 mL
	alt.SetDuty(0)
	after := r.State()
	if got := after.OD / before.OD; math.Abs(got-14.0/21) > 1e-3 {
		t.Errorf("OD diluted by %v, want 14/21", got)
	}
	if math.Abs(after.AltMediaFraction-1.0/3) > 1e-9 {
		t.Errorf("alt-media fraction %v, want 1/3", after.AltMediaFraction)
	}
	want := before.GrowthRate * (1 - 1.5/3) * (1 - after.OD/5) / (1 - before.OD/5)
	if math.Abs(after.GrowthRate-want) > 1e-3 {
		t.Errorf("growth rate with a third alt-media %v/h, want %v/h (was %v/h)", after.GrowthRate, want, before.GrowthRate)
	}
}

// The vial and the PCB approach their steady temperatures with their time
// constants: 63 % of the way after one.
func TestTemperatureStepResponse(t *testing.T) {
	m := ideal()
	clk := &manualClock{t0}
	r := New(clk, Options{Model: m})
	heater, _ := r.Open(5, 16)
	heater.SetDuty(40)
	tv := m.VialTimeConstant
	rise := m.VialHeaterGainCelsius * 0.4
	clk.t = t0.Add(tv)
	st := r.State()
	if got := (st.Celsius - m.RoomCelsius) / rise; math.Abs(got-(1-math.Exp(-1))) > 1e-9 {
		t.Errorf("vial after one time constant: %.4f of the rise, want 1-1/e", got)
	}
	clk.t = t0.Add(20 * tv)
	st = r.State()
	if math.Abs(st.Celsius-(m.RoomCelsius+rise)) > 1e-6 || math.Abs(st.PCBCelsius-(st.Celsius+m.PCBHeaterGainCelsius*0.4)) > 1e-6 {
		t.Errorf("steady: vial %v, PCB %v", st.Celsius, st.PCBCelsius)
	}
	// Heater off: the PCB falls quickly toward the vial, which cools slowly.
	heater.SetDuty(0)
	vial, pcb := st.Celsius, st.PCBCelsius
	clk.t = clk.t.Add(m.PCBTimeConstant)
	st = r.State()
	if drop := (pcb - st.PCBCelsius) / (pcb - vial); drop < 0.55 || drop > 0.7 {
		t.Errorf("PCB after its time constant fell %.3f of its lead over the vial, want about 1-1/e", drop)
	}
	if vial-st.Celsius > 0.1*(vial-m.RoomCelsius) {
		t.Errorf("vial cooled from %v to %v in %v", vial, st.Celsius, m.PCBTimeConstant)
	}
}

// The thermometer reads in the TMP1075's steps of 0.0625 °C, with noise
// of the configured size.
func TestThermometerResolutionAndNoise(t *testing.T) {
	clk := &manualClock{t0}
	r := New(clk, Options{Seed: 3})
	th, _ := r.Thermometer()
	var sum, sq float64
	const n = 2000
	for i := 0; i < n; i++ {
		c, _ := th.Celsius(context.Background())
		if steps := c / 0.0625; steps != math.Round(steps) {
			t.Fatalf("reading %v is not a multiple of 0.0625", c)
		}
		sum += c
		sq += c * c
	}
	mean := sum / n
	std := math.Sqrt(sq/n - mean*mean)
	if math.Abs(mean-22) > 0.01 || std < 0.01 || std > 0.04 {
		t.Errorf("thermometer at 22 °C: mean %.4f, std %.4f", mean, std)
	}
}

// RPM follows the duty: none within the dead zone, linear above it,
// reached with the stirrer's time constant; the counter integrates it.
func TestStirring(t *testing.T) {
	m := ideal()
	for _, tc := range []struct{ duty, rpm float64 }{
		{0, 0}, {5, 0}, {10, 0}, {30, 500}, {50, 1000}, {100, 2250},
	} {
		if got := m.stirTarget(tc.duty); got != tc.rpm {
			t.Errorf("RPM at %v %% = %v, want %v", tc.duty, got, tc.rpm)
		}
	}
	clk := &manualClock{t0}
	r := New(clk, Options{Model: m})
	stir, _ := r.Open(1, 200)
	counter, _ := r.RPM()
	stir.SetDuty(30)
	clk.t = t0.Add(m.StirringTimeConstant)
	if got := r.State().RPM; math.Abs(got-500*(1-math.Exp(-1))) > 1e-6 {
		t.Errorf("RPM after one time constant = %v", got)
	}
	clk.t = t0.Add(10 * time.Minute)
	revs, _ := counter.Revolutions()
	// 500 RPM for 10 minutes less the spin-up: 5000 − 500·τ/60.
	if want := 5000 - 500*m.StirringTimeConstant.Seconds()/60; math.Abs(revs-want) > 1e-6 {
		t.Errorf("revolutions in 10 min = %v, want %v", revs, want)
	}
	later, _ := r.RPM() // a new counter starts from 0
	clk.t = clk.t.Add(time.Minute)
	if n, _ := later.Revolutions(); math.Abs(n-500) > 1e-6 {
		t.Errorf("new counter after a minute at 500 RPM: %v", n)
	}
}

// The 90° signal is linear in OD at low OD, mildly saturating above, and
// linear in the IR LED's intensity; REF follows the IR only. The noise has
// the configured standard deviation.
func TestPhotodiodes(t *testing.T) {
	m := ideal()
	volts := func(od, ir float64, ch int) float64 {
		clk := &manualClock{t0}
		r := New(clk, Options{OD: od, MaxOD: 50, GrowthPerHour: 1e-9, Model: m})
		l, _ := r.LEDs()
		l.SetIntensity("A", ir)
		pd, _ := r.Photodiode(ch)
		v, _ := pd.Volts(context.Background())
		return v
	}
	dark := m.DarkVolts
	for _, tc := range []struct{ od, ir float64 }{{0.05, 80}, {0.1, 80}, {0.2, 40}, {0.4, 100}} {
		got := volts(tc.od, tc.ir, 2) - dark
		lin := m.SignalVoltsPerOD * tc.od * tc.ir / 100
		if got > lin || got < 0.95*lin {
			t.Errorf("90° at OD %v, IR %v %%: %v V above dark, linear %v V", tc.od, tc.ir, got, lin)
		}
	}
	if v := volts(0.05, 80, 2); v < 0.02 || v > 0.05 {
		t.Errorf("90° at OD 0.05, IR 80 %%: %v V, want 0.02 to 0.05", v)
	}
	if v := volts(0.05, 80, 1); v < 0.1 || v > 0.3 {
		t.Errorf("REF at IR 80 %%: %v V, want 0.1 to 0.3", v)
	}
	if a, b := volts(0.05, 80, 1), volts(2, 80, 1); a != b {
		t.Errorf("REF depends on OD: %v, %v", a, b)
	}
	if v := volts(5, 100, 2); v >= 3 {
		t.Errorf("90° at OD 5, IR 100 %%: %v V, want under 3", v)
	}
	if v := volts(1, 0, 2); v != dark {
		t.Errorf("90° with the IR off: %v V, want the dark %v V", v, dark)
	}
	if s4, s2 := volts(4, 80, 2), volts(2, 80, 2); s4 >= 2*s2 || s4 <= 1.5*s2 {
		t.Errorf("saturation: %v V at OD 4, %v V at OD 2", s4, s2)
	}

	// Noise: the standard deviation of a long burst.
	clk := &manualClock{t0}
	r := New(clk, Options{Seed: 9, OD: 0.5})
	l, _ := r.LEDs()
	l.SetIntensity("A", 80)
	d := DefaultModel()
	for _, tc := range []struct {
		ch  int
		std float64
	}{{1, d.ReferenceNoiseVolts}, {2, d.SignalNoiseVolts}} {
		pd, _ := r.Photodiode(tc.ch)
		samples, _ := pd.Burst(context.Background(), 20000, 21*time.Millisecond)
		var sum, sq float64
		for _, s := range samples {
			sum += s.Volts
			sq += s.Volts * s.Volts
		}
		n := float64(len(samples))
		mean := sum / n
		got := math.Sqrt(sq/n - mean*mean)
		// White noise and the ripple (amplitude a adds a²/2 of variance).
		want := math.Sqrt(tc.std*tc.std + d.MainsRippleVolts*d.MainsRippleVolts/2)
		if math.Abs(got-want) > 0.05*want {
			t.Errorf("photodiode %d: std %.6f V, want %.6f V", tc.ch, got, want)
		}
		if samples[1].At.Sub(samples[0].At) != 21*time.Millisecond || !samples[0].At.Equal(clk.t) {
			t.Errorf("photodiode %d: samples stamped %v, %v", tc.ch, samples[0].At, samples[1].At)
		}
	}
}

// The same seed gives the same samples, whatever else is read in between;
// another seed gives others.
func TestDeterministicForASeed(t *testing.T) {
	run := func(seed int64, interleave bool) []float64 {
		clk := &manualClock{t0}
		r := New(clk, Options{Seed: seed})
		l, _ := r.LEDs()
		l.SetIntensity("A", 80)
		ref, _ := r.Photodiode(1)
		sig, _ := r.Photodiode(2)
		th, _ := r.Thermometer()
		var out []float64
		for i := 0; i < 50; i++ {
			clk.t = clk.t.Add(5 * time.Second)
			if interleave {
				ref.Burst(context.Background(), 40, 21*time.Millisecond)
			}
			s, _ := sig.Burst(context.Background(), 40, 21*time.Millisecond)
			for _, x := range s {
				out = append(out, x.Volts)
			}
			c, _ := th.Celsius(context.Background())
			out = append(out, c)
		}
		return out
	}
	a, b, c, d := run(1, true), run(1, true), run(1, false), run(2, true)
	same := func(x, y []float64) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return len(x) == len(y)
	}
	if !same(a, b) {
		t.Error("seed 1 twice: different samples")
	}
	if !same(a, c) {
		t.Error("seed 1: the signal's samples depend on reads of the reference")
	}
	if same(a, d) {
		t.Error("seeds 1 and 2: identical samples")
	}
}

// A simulated day of od_reading at upstream's default rate: 17280 bursts
// of 40 samples on 2 channels.
func BenchmarkDayOfReadings(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		clk := &manualClock{t0}
		r := New(clk, Options{Seed: 1})
		l, _ := r.LEDs()
		ref, _ := r.Photodiode(1)
		sig, _ := r.Photodiode(2)
		for k := 0; k < 17280; k++ {
			clk.t = clk.t.Add(5 * time.Second)
			l.SetIntensity("A", 80)
			ref.Burst(ctx, 40, 21*time.Millisecond)
			sig.Burst(ctx, 40, 21*time.Millisecond)
			l.SetIntensity("A", 0)
		}
	}
}
