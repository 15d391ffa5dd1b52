package clock

import (
	"context"
	"slices"
	"testing"
	"time"
)

// One benchmark iteration makes overshootSamples waits of overshootWait each
// (15 s); run it once:
//
//	go test -run XXX -bench RealSleepOvershoot -benchtime 1x ./clock
//	python3 clock/testdata/python_event_wait.py    # the same for threading.Event
const (
	overshootSamples = 300
	overshootWait    = 50 * time.Millisecond
)

// BenchmarkRealSleepOvershoot measures how late Real{}.SleepUntil returns: the
// time.Now after it returns minus the deadline, for waits of 50 ms. It reports
// the p50, p99, max and min over all samples in µs (nearest-rank percentiles,
// as testdata/python_event_wait.py computes them). A negative min would be a
// bug: SleepUntil must never return before its deadline.
func BenchmarkRealSleepOvershoot(b *testing.B) {
	benchOvershoot(b, Real{}.SleepUntil)
}

// BenchmarkTimerSpinSleepOvershoot measures the design Real had before, a Go
// timer until 2 ms before the deadline and a spin on time.Now after it, for
// comparison:
//
//	go test -run XXX -bench TimerSpinSleepOvershoot -benchtime 1x ./clock
func BenchmarkTimerSpinSleepOvershoot(b *testing.B) {
	benchOvershoot(b, timerSpinSleepUntil)
}

func benchOvershoot(b *testing.B, sleepUntil func(context.Context, time.Time) error) {
	ctx := context.Background()
	var over []time.Duration
	for b.Loop() {
		for range overshootSamples {
			deadline := time.Now().Add(overshootWait)
			if err := sleepUntil(ctx, deadline); err != nil {
				b.Fatal(err)
			}
			over = append(over, time.Since(deadline))
		}
	}
	slices.Sort(over)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(percentile(over, 50)), "p50-us")
	b.ReportMetric(us(percentile(over, 99)), "p99-us")
	b.ReportMetric(us(over[len(over)-1]), "max-us")
	b.ReportMetric(us(over[0]), "min-us")
	b.ReportMetric(0, "ns/op") // an iteration's time says nothing here
}

// percentile is the nearest-rank percentile p of sorted: the value at rank
// ceil(p/100 × n).
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100
	return sorted[max(rank-1, 0)]
}

// timerSpinSleepUntil is Real.SleepUntil as it was before the timerfd design
// (Spin 2 ms), kept only to compare against.
func timerSpinSleepUntil(ctx context.Context, t time.Time) error {
	if d := time.Until(t) - 2*time.Millisecond; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
	for i := 0; time.Now().Before(t); i++ {
		if i%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return ctx.Err()
}
