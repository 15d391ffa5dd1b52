package script

import (
	"context"
	"testing"

	"github.com/piolab/pio/dosing"
)

// BenchmarkExecuteIOActionFromStarlark is one execute() that calls
// execute_io_action once (one leaf) with Starlark pump functions that return
// at once: the script-level cost per leaf, including the Starlark calls.
func BenchmarkExecuteIOActionFromStarlark(b *testing.B) {
	u := newUnit(&testing.T{})
	u.env.Config.Set("dosing_automation.config", "pause_between_subdoses_seconds", "0")
	src := []byte(`
def add_fast_media_to_bioreactor(ml, unit, experiment, source_of_event):
    return ml

def remove_waste_from_bioreactor(ml, unit, experiment, source_of_event):
    return ml

def execute():
    execute_io_action(fast_media_ml=0.5, waste_ml=0.5)
`)
	s, err := Load("bench.star", src, "u1", "e1")
	if err != nil {
		b.Fatal(err)
	}
	a, err := dosing.Start(u.env, dosing.Options{Program: s})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	b.ReportAllocs()
	var runErr error
	u.clk.Go("bench", func() {
		for b.Loop() {
			if _, runErr = s.Execute(ctx, a); runErr != nil {
				return
			}
		}
	})
	u.clk.Run(ctx)
	if runErr != nil {
		b.Fatal(runErr)
	}
}
