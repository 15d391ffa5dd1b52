package hat

import (
	"slices"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/clock"
)

// stampPin is a fake output that stamps each level change with the wall
// clock.
type stampPin struct {
	levelPin
	smu    sync.Mutex
	stamps []time.Time
	highs  []bool
}

func (p *stampPin) Out(l gpio.Level) error {
	now := time.Now()
	p.smu.Lock()
	p.stamps = append(p.stamps, now)
	p.highs = append(p.highs, bool(l))
	p.smu.Unlock()
	return nil
}

// BenchmarkSoftPWMOnTimeOvershoot measures how much longer than asked the
// software PWM holds its line high, against the wall clock: 250 Hz at 50 %
// (a pump's frequency; 2 ms on) for 2 s per iteration, each on-period being
// the time from the high write to the low write. It reports the p50, p99,
// max and min overshoot in µs (nearest rank):
//
//	go test -run XXX -bench SoftPWMOnTime -benchtime 1x ./hw/hat
func BenchmarkSoftPWMOnTimeOvershoot(b *testing.B) {
	for _, c := range []struct {
		name string
		clk  clock.Clock
	}{
		{"spin=1ms", clock.Real{}},
		{"spin=200us", clock.Real{Spin: 200 * time.Microsecond}},
		{"no-spin", clock.Real{Spin: -1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			const hz, duty = 250.0, 50.0
			on := time.Duration(float64(time.Second) / hz * duty / 100)
			var over []time.Duration
			for b.Loop() {
				pin := &stampPin{}
				p, err := NewSoftPWM(pin, 2, 13, hz, c.clk)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.SetDuty(duty); err != nil {
					b.Fatal(err)
				}
				time.Sleep(2 * time.Second)
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
				pin.smu.Lock()
				// The last on-period is cut short by Close: leave it out.
				for i := 1; i+2 < len(pin.stamps); i++ {
					if pin.highs[i] && !pin.highs[i+1] {
						over = append(over, pin.stamps[i+1].Sub(pin.stamps[i])-on)
					}
				}
				pin.smu.Unlock()
			}
			if len(over) == 0 {
				b.Fatal("no on-period recorded")
			}
			slices.Sort(over)
			us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
			rank := func(p int) time.Duration { return over[max((len(over)*p+99)/100-1, 0)] }
			b.ReportMetric(float64(len(over)), "periods")
			b.ReportMetric(us(rank(50)), "p50-us")
			b.ReportMetric(us(rank(99)), "p99-us")
			b.ReportMetric(us(over[len(over)-1]), "max-us")
			b.ReportMetric(us(over[0]), "min-us")
			b.ReportMetric(0, "ns/op")
		})
	}
}
