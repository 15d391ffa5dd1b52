package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

func TestChemostatDay(t *testing.T) {
	var rec bytes.Buffer
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 24 * time.Hour, Seed: 1, Record: &rec})
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
	if !strings.Contains(out.String(), "execute_io_action calls: 72 started, 72 completed, 0 failed") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestSeedChangesTheSimulatedReactor(t *testing.T) {
	a, _ := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 1})
	b, _ := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 2})
	c, _ := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 1})
	if a.Reactor.MovedML["media"] == b.Reactor.MovedML["media"] {
		t.Error("seeds 1 and 2 gave the same pump flows")
	}
	if a.Reactor.MovedML["media"] != c.Reactor.MovedML["media"] || a.Reactor.OD != c.Reactor.OD {
		t.Error("the same seed gave different reactors")
	}
}

func TestScheduledCommandsInVirtualTime(t *testing.T) {
	// A scientist changes the exchange volume over MQTT at 1 h.
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 2 * time.Hour, Seed: 1,
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
		s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 24 * time.Hour, Seed: 1})
		if err != nil || s.Doses != 72 {
			b.Fatal(err, s.Doses)
		}
	}
}

// readingsEvery5s starts, beside the automation, a job that publishes a
// reading every 5 s (the shape of od_reading) for an hour: 720 readings.
func readingsEvery5s(c *sched.Virtual, b *pubsub.Memory, env *runtime.Env) {
	c.Go("od_reading", func() {
		ctl := b.Connect(pubsub.Options{ClientID: "od_reading"})
		for i := 1; i <= 720; i++ {
			if c.SleepUntil(context.Background(), Epoch.Add(time.Duration(i)*5*time.Second)) != nil {
				return
			}
			ctl.Publish("pioreactor/sim/sim/od_reading/od1", []byte(strconv.Itoa(i)), 0, false)
		}
	})
}

func TestHandlerSeesEveryMessageInOrderAtItsTime(t *testing.T) {
	var rec bytes.Buffer
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/on_reading.star", For: time.Hour + time.Minute, Seed: 1, Record: &rec, At: readingsEvery5s})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(rec.String()), "\n") {
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.Topic != "pioreactor/sim/sim/dosing_automation/latest_event" || !strings.Contains(r.Payload, `"reading `) {
			continue
		}
		n++
		if want := fmt.Sprintf(`"message":"reading %d"`, n); !strings.Contains(r.Payload, want) {
			t.Fatalf("event %d: %s, want %s", n, r.Payload, want)
		}
		// Each reading is handled at its time, unless a dose (0.1 mL at
		// 0.5 mL/s, the 5 s pause, waste) still runs: then right after it.
		at, latest := float64(5*n), float64(5*n)
		switch {
		case n%12 == 0: // its own dose, then the event
			latest = at + 6
		case n%12 == 1 && n > 1: // queued behind the dose of the reading before
			latest = at + 1
		}
		if r.T < at || r.T > latest {
			t.Fatalf("reading %d handled at t=%v s, want %v", n, r.T, at)
		}
	}
	if n != 720 || s.Doses != 60 || s.Errors != 0 {
		t.Fatalf("handled %d readings (want 720), %d doses (want 60), %d errors", n, s.Doses, s.Errors)
	}
}

func TestMultiJobSimulationIsDeterministic(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(0))
	var first []byte
	for i, procs := range []int{1, 2, 2} {
		goruntime.GOMAXPROCS(procs)
		var rec bytes.Buffer
		if _, err := Run(context.Background(), Options{Alone: true, Script: "testdata/on_reading.star", For: 2 * time.Hour, Seed: 3, Record: &rec, At: readingsEvery5s}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = rec.Bytes()
		} else if !bytes.Equal(first, rec.Bytes()) {
			t.Fatalf("run %d (GOMAXPROCS=%d) differs from the first", i+1, procs)
		}
	}
}
