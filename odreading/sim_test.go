package odreading

import (
	"testing"
	"time"

	"github.com/piolab/pio/hw/sim"
)

// On the simulated reactor a growing culture reads as a growing OD, with
// the noise small enough that the REF never pauses dosing.
func TestOnTheSimulatedReactor(t *testing.T) {
	h := newHarness(t)
	h.env.Board = sim.New(h.clk, sim.Options{Seed: 7, OD: 0.1, GrowthPerHour: 0.5, MaxOD: 2.5})
	h.start(Options{})
	h.advance(2 * time.Hour)
	ods := h.ods()
	if len(ods) != 1440 {
		t.Errorf("%d readings in 2 h, want 1440", len(ods))
	}
	first, last := ods[0].ODs["2"].OD, ods[len(ods)-1].ODs["2"].OD
	t.Logf("od %v to %v", first, last)
	if !(first > 0) || !(last > 1.8*first) {
		t.Errorf("od went from %v to %v in 2 h at 0.5/h, want it to about double or more", first, last)
	}
	if got := h.rec.Payloads("pioreactor/unit1/exp1/dosing_automation/$state/set"); len(got) != 0 {
		t.Errorf("the simulated REF paused dosing: %q; warnings %q", got, h.logs("warning"))
	}
	h.stop()
}
