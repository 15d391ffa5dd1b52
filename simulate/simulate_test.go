package simulate

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

func TestChemostatDay(t *testing.T) {
	var rec bytes.Buffer
	s, err := Run(context.Background(), Options{Script: "testdata/chemostat.star", For: 24 * time.Hour, Seed: 1, Record: &rec})
	if err != nil {
		t.Fatal(err)
	}
	if s.Doses != 72 || s.Errors != 0 {
		t.Fatalf("doses %d errors %d", s.Doses, s.Errors)
	}
	if math.Abs(s.EventML["add_media"]-72) > 1e-9 || math.Abs(s.EventML["remove_waste"]-72*3) > 1e-9 {
		t.Errorf("event volumes %v", s.EventML)
	}
	if s.Model.CumMediaML != 72 || s.Model.CurrentVolumeML != 14 {
		t.Errorf("model %+v", s.Model)
	}
	// The simulated pumps' true flows differ from nominal by the seed's spread,
	// so the true volumes moved are close to, not equal to, the model's.
	if got := s.Reactor.MovedML["media"]; math.Abs(got-72)/72 > 0.1 || got == 72 {
		t.Errorf("simulated media moved %v mL", got)
	}
	var sum Summary = *s
	var out strings.Builder
	sum.Print(&out)
	if !strings.Contains(out.String(), "doses (execute_io_action calls): 72") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestSeedChangesTheSimulatedReactor(t *testing.T) {
	a, _ := Run(context.Background(), Options{Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 1})
	b, _ := Run(context.Background(), Options{Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 2})
	c, _ := Run(context.Background(), Options{Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 1})
	if a.Reactor.MovedML["media"] == b.Reactor.MovedML["media"] {
		t.Error("seeds 1 and 2 gave the same pump flows")
	}
	if a.Reactor.MovedML["media"] != c.Reactor.MovedML["media"] || a.Reactor.OD != c.Reactor.OD {
		t.Error("the same seed gave different reactors")
	}
}

func TestScheduledCommandsInVirtualTime(t *testing.T) {
	// A scientist changes the exchange volume over MQTT at 1 h.
	s, err := Run(context.Background(), Options{Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 1,
		At: func(c *sched.Virtual, b *pubsub.Memory, env *runtime.Env) {
			ctl := b.Connect(pubsub.Options{ClientID: "ctl"})
			c.At(Epoch.Add(time.Hour), func() {
				ctl.Publish("pioreactor/sim/sim/dosing_automation/exchange_volume_ml/set", []byte("0.5"), 1, false)
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	// runs at 0:00:02, 0:20, 0:40 with 1 mL; 1:00, 1:20, 1:40 with 0.5 mL
	if math.Abs(s.EventML["add_media"]-4.5) > 1e-9 {
		t.Errorf("media %v mL, want 4.5", s.EventML["add_media"])
	}
}

// BenchmarkSimulateChemostat24h is a day of a chemostat (20-minute duration,
// 1 mL exchanges) in virtual time.
func BenchmarkSimulateChemostat24h(b *testing.B) {
	for b.Loop() {
		s, err := Run(context.Background(), Options{Script: "testdata/chemostat.star", For: 24 * time.Hour, Seed: 1})
		if err != nil || s.Doses != 72 {
			b.Fatal(err, s.Doses)
		}
	}
}
