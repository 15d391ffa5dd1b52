package sim

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
)

type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time { return c.t }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestPumpsMoveLiquidWithEfflux(t *testing.T) {
	clk := &manualClock{t0}
	r := New(clk, Options{PumpMLPerSecond: 1, VolumeML: 14, EffluxML: 14, MaxOD: 1, OD: 0.5, GrowthPerHour: 1e-9})
	media, _ := r.Open(2, 250)
	waste, _ := r.Open(4, 250)
	media.SetDuty(50)
	clk.t = clk.t.Add(4 * time.Second) // 2 mL at half duty
	media.SetDuty(0)
	if st := r.State(); math.Abs(st.VolumeML-16) > 1e-9 || math.Abs(st.OD-0.5*14/16) > 1e-6 {
		t.Errorf("after media: %+v", st)
	}
	waste.SetDuty(100)
	clk.t = clk.t.Add(10 * time.Second) // the tube only reaches 2 mL
	waste.Close()
	st := r.State()
	if math.Abs(st.VolumeML-14) > 1e-9 || st.MovedML["waste"] != 10 {
		t.Errorf("after waste: %+v", st)
	}
	if d := waste.Duty(); d != 0 {
		t.Errorf("closed output duty %v", d)
	}
}

func TestOverflowAndAltFraction(t *testing.T) {
	clk := &manualClock{t0}
	r := New(clk, Options{PumpMLPerSecond: 1, VolumeML: 10, CapacityML: 12})
	alt, _ := r.Open(3, 250)
	alt.SetDuty(100)
	clk.t = clk.t.Add(4 * time.Second)
	r.HaltAll()
	st := r.State()
	if st.VolumeML != 12 || math.Abs(st.OverflowML-2) > 1e-9 || math.Abs(st.AltMediaFraction-4.0/14) > 1e-9 {
		t.Errorf("%+v", st)
	}
}

func TestChannelsAreExclusiveAndChecked(t *testing.T) {
	r := New(&manualClock{t0}, Options{})
	p, err := r.Open(2, 250)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(2, 250); !errors.Is(err, hw.ErrBusy) {
		t.Errorf("second open: %v", err)
	}
	if _, err := r.Open(12, 250); !errors.Is(err, hw.ErrNotConfigured) {
		t.Errorf("channel 12: %v", err)
	}
	if err := p.SetDuty(101); err == nil {
		t.Error("duty 101 accepted")
	}
	if err := p.SetDuty(math.NaN()); err == nil {
		t.Error("duty NaN accepted")
	}
	p.Close()
	if err := p.SetDuty(10); !errors.Is(err, hw.ErrClosed) {
		t.Errorf("closed output: %v", err)
	}
	if _, err := r.Open(2, 250); err != nil {
		t.Errorf("reopen after close: %v", err)
	}
}

func TestGrowthIsLogisticAndSeedSetsFlows(t *testing.T) {
	clk := &manualClock{t0}
	r := New(clk, Options{OD: 0.1, GrowthPerHour: 0.5, MaxOD: 2})
	clk.t = clk.t.Add(100 * time.Hour)
	if od := r.State().OD; math.Abs(od-2) > 1e-3 {
		t.Errorf("OD after 100 h = %v, want close to the carrying capacity 2", od)
	}
	a := New(clk, Options{Seed: 1, FlowSpread: 0.05})
	b := New(clk, Options{Seed: 1, FlowSpread: 0.05})
	c := New(clk, Options{Seed: 2, FlowSpread: 0.05})
	if a.flow[2] != b.flow[2] || a.flow[2] == c.flow[2] {
		t.Errorf("flows %v %v %v", a.flow[2], b.flow[2], c.flow[2])
	}
}
