package selftest

import (
	"context"
	"testing"

	"github.com/piolab/pio/pubsub"
)

func TestEveryCheckPassesOnTheSimulator(t *testing.T) {
	broker := pubsub.NewMemory()
	rep, err := Simulate(context.Background(), SimOptions{Seed: 1, Broker: broker})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(Checks()) {
		t.Fatalf("%d results, want one per check (%d)", len(rep.Results), len(Checks()))
	}
	for _, r := range rep.Results {
		t.Logf("%s %v: %s (%.1f s)", r.Name, r.Passed, r.Message, r.Seconds)
		if !r.Passed {
			t.Errorf("%s failed on the simulator: %s", r.Name, r.Message)
		}
	}
	if !rep.Passed || rep.Failed() != 0 || !rep.Simulated {
		t.Errorf("report %+v, want every check passed on a simulated board", rep)
	}
}
