package runtime

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/sched"
)

// timedPWM records when its duty changes, on the wall clock.
type timedPWM struct {
	mu      sync.Mutex
	onAt    time.Time
	offAt   time.Time
	channel int
	off     chan struct{}
}

func (p *timedPWM) String() string { return "timed PWM" }
func (p *timedPWM) Halt() error    { return p.SetDuty(0) }
func (p *timedPWM) Duty() float64  { return 0 }
func (p *timedPWM) Hz() float64    { return 100 }
func (p *timedPWM) Channel() int   { return p.channel }
func (p *timedPWM) Close() error   { return p.Halt() }
func (p *timedPWM) SetDuty(d float64) error {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if d > 0 {
		p.onAt = now
	} else if p.offAt.IsZero() {
		p.offAt = now
		if p.off != nil {
			close(p.off)
		}
	}
	return nil
}

type timedBoard struct {
	last *timedPWM
	off  chan struct{} // if set, closed when the next output opened switches off
}

func (b *timedBoard) FactoryPumpCalibration(d string) (calibration.Pump, bool) {
	return calibration.Pump{Name: "b", Device: d, Slope: 1, Hz: 100, DC: 100}, true
}

func (b *timedBoard) Name() string          { return "timed" }
func (b *timedBoard) Simulated() bool       { return true }
func (b *timedBoard) PWM() hw.PWMController { return b }
func (b *timedBoard) HaltAll() error        { return nil }
func (b *timedBoard) Close() error          { return nil }
func (b *timedBoard) Open(ch int, hz float64) (hw.PWM, error) {
	b.last = &timedPWM{channel: ch, off: b.off}
	b.off = nil // one run watched
	return b.last, nil
}

// BenchmarkPumpOnTimeOvershoot runs a 0.05 mL dose (50 ms at 1 mL/s) on the
// real clock and reports how much longer than asked the pump was on: p50 and
// p99 overshoot in microseconds. Use -benchtime=300x for a stable p99.
func BenchmarkPumpOnTimeOvershoot(b *testing.B) {
	h := newHarness(&testing.T{})
	board := &timedBoard{}
	h.env.Board = board
	h.env.Sched = sched.NewReal(clock.Real{})
	h.env.AsyncPublish = true
	h.broker.Tap = nil
	log := newLogger(h.env, nil, "exp1", "bench")
	var over []float64
	for b.Loop() {
		if _, err := RunPump(context.Background(), h.env, PumpRequest{Device: "media", ML: ptr(0.05), Experiment: "exp1", Client: h.ctl, Log: log}); err != nil {
			b.Fatal(err)
		}
		on := board.last.offAt.Sub(board.last.onAt)
		over = append(over, float64(on-50*time.Millisecond)/float64(time.Microsecond))
	}
	sort.Float64s(over)
	b.ReportMetric(over[len(over)/2], "p50-overshoot-µs")
	b.ReportMetric(over[(len(over)*99)/100], "p99-overshoot-µs")
	b.ReportMetric(over[0], "min-overshoot-µs")
}
