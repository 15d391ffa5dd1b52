package dosing

import (
	"context"
	"testing"

	"github.com/piolab/pio/payload"
)

// BenchmarkExecuteIOActionLeaf measures execute_io_action's own overhead for a
// one-leaf call (media, waste, extra waste) with pumps that take no time, on a
// virtual clock with zero pauses: validation, resolution, the overflow check,
// the DosingStarted/Stopped events, and the accounting events of the three
// pump functions through the in-memory broker.
func BenchmarkExecuteIOActionLeaf(b *testing.B) {
	h := newHarness(&testing.T{}, "dosing_automation.config pause_between_subdoses_seconds 0")
	a, err := Start(h.env, Options{Program: &fakeProgram{stubs: returnML("media", "waste")}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	h.broker.Tap = nil
	doses := []payload.Dose{{Key: "media_ml", ML: 0.5}}
	custom := func(name string) (PumpFunc, bool) { return a.Program().(pumpSource).PumpFunc(a, name) }
	b.ReportAllocs()
	b.ResetTimer()

	h.do(func() {
		for b.Loop() {
			if _, err = a.ExecuteIOAction(context.Background(), 0.5, doses, custom); err != nil {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
}
