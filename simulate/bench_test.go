package simulate

import (
	"context"
	goruntime "runtime"
	"strconv"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// BenchmarkManySmallDoses is 4,000 execute_io_action(media_ml=0.05,
// waste_ml=0.05) calls with no pauses, end to end in pio simulate: every
// message upstream publishes is published, the monitor applies every event.
// It reports the wall time per call (a media pump, a waste pump and the extra
// waste pump each).
func BenchmarkManySmallDoses(b *testing.B) {
	cfg := config.New()
	cfg.Set("dosing_automation.config", "pause_between_subdoses_seconds", "0")
	for b.Loop() {
		s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/many_small_doses.star", For: 24 * time.Hour, Seed: 1, Config: cfg})
		if err != nil || s.Doses != 4000 {
			b.Fatal(err, s.Doses)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/4000, "µs/call")
}

// everyFiveSeconds starts a job publishing a reading every 5 s until the
// end of the simulation (the shape of od_reading).
func everyFiveSeconds(c *sched.Virtual, b *pubsub.Memory, env *runtime.Env) {
	c.Go("od_reading", func() {
		ctl := b.Connect(pubsub.Options{ClientID: "od_reading"})
		for i := 1; ; i++ {
			if c.SleepUntil(context.Background(), Epoch.Add(time.Duration(i)*5*time.Second)) != nil {
				return
			}
			ctl.Publish("pioreactor/sim/sim/od_reading/od1", []byte(strconv.Itoa(i)), 0, false)
		}
	})
}

// BenchmarkChemostat24hBesideAFiveSecondJob is a day of a chemostat while a
// second job wakes every 5 s.
func BenchmarkChemostat24hBesideAFiveSecondJob(b *testing.B) {
	for b.Loop() {
		s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 24 * time.Hour, Seed: 1, At: everyFiveSeconds})
		if err != nil || s.Doses != 72 || s.Messages < 17280 {
			b.Fatal(err, s.Doses, s.Messages)
		}
	}
}

// TestLiveHeapIsFlatOverASimulatedWeek measures the live heap after a forced
// GC on simulated day 1 and day 7 of a chemostat beside a 5 s job.
func TestLiveHeapIsFlatOverASimulatedWeek(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulated week")
	}
	var heap [8]uint64
	measure := func(c *sched.Virtual, b *pubsub.Memory, env *runtime.Env) {
		everyFiveSeconds(c, b, env)
		for _, day := range []int{1, 7} {
			c.At(Epoch.Add(time.Duration(day)*24*time.Hour), func() {
				goruntime.GC()
				var m goruntime.MemStats
				goruntime.ReadMemStats(&m)
				heap[day] = m.HeapAlloc
			})
		}
	}
	if _, err := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 7*24*time.Hour + time.Minute, Seed: 1, At: measure}); err != nil {
		t.Fatal(err)
	}
	const slack = 256 << 10
	if heap[1] == 0 || float64(heap[7]) > 1.1*float64(heap[1])+slack {
		t.Fatalf("live heap %d KiB on day 1, %d KiB on day 7: not flat", heap[1]>>10, heap[7]>>10)
	}
	t.Logf("live heap %d KiB on day 1, %d KiB on day 7", heap[1]>>10, heap[7]>>10)
}
