package sim

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
)

// The reactor is a board with sensors, each of which works from the start.
func TestSensorsOfTheReactor(t *testing.T) {
	clk := &manualClock{t0}
	r := New(clk, Options{Seed: 1})
	s, err := hw.SensorsOf(r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	leds, err := s.LEDs()
	if err != nil {
		t.Fatal(err)
	}
	if err := leds.SetIntensity("A", 80); err != nil {
		t.Fatal(err)
	}
	for ch := 1; ch <= 4; ch++ {
		pd, err := s.Photodiode(ch)
		if err != nil {
			t.Fatalf("photodiode %d: %v", ch, err)
		}
		v, err := pd.Volts(ctx)
		if err != nil || v < 0 || v > 3 {
			t.Errorf("photodiode %d: %v V, %v", ch, v, err)
		}
	}
	if _, err := s.Photodiode(5); !errors.Is(err, hw.ErrNotConfigured) {
		t.Errorf("photodiode 5: %v", err)
	}
	th, _ := s.Thermometer()
	if c, err := th.Celsius(ctx); err != nil || math.Abs(c-22) > 0.3 {
		t.Errorf("thermometer at start: %v °C, %v", c, err)
	}
	rpm, _ := s.RPM()
	if n, err := rpm.Revolutions(); n != 0 || err != nil {
		t.Errorf("revolutions at start: %v, %v", n, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	pd, _ := s.Photodiode(2)
	if _, err := pd.Burst(cancelled, 10, time.Millisecond); !errors.Is(err, context.Canceled) {
		t.Errorf("burst on a cancelled context: %v", err)
	}
	if _, err := pd.Burst(ctx, 0, time.Millisecond); err == nil {
		t.Error("a burst of 0 samples is accepted")
	}
	if _, err := th.Celsius(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("thermometer on a cancelled context: %v", err)
	}
}

// LED channels are checked, and the LEDs are off once halted or once the
// board halts everything.
func TestLEDs(t *testing.T) {
	r := New(&manualClock{t0}, Options{})
	l, _ := r.LEDs()
	for _, tc := range []struct {
		ch   string
		pct  float64
		good bool
	}{
		{"A", 0, true}, {"B", 100, true}, {"D", 33.5, true},
		{"E", 10, false}, {"a", 10, false}, {"C", -1, false}, {"C", 100.5, false}, {"C", math.NaN(), false},
	} {
		err := l.SetIntensity(tc.ch, tc.pct)
		if (err == nil) != tc.good {
			t.Errorf("SetIntensity(%q, %v) = %v", tc.ch, tc.pct, err)
		}
		if tc.good && l.Intensity(tc.ch) != tc.pct {
			t.Errorf("Intensity(%q) = %v, want %v", tc.ch, l.Intensity(tc.ch), tc.pct)
		}
	}
	if got := r.State().LEDs; got["B"] != 100 || got["D"] != 33.5 {
		t.Errorf("State().LEDs = %v", got)
	}
	l.Halt()
	if got := l.Intensity("B"); got != 0 {
		t.Errorf("after Halt, B = %v", got)
	}
	l.SetIntensity("C", 50)
	r.HaltAll()
	if got := l.Intensity("C"); got != 0 {
		t.Errorf("after HaltAll, C = %v", got)
	}
}
