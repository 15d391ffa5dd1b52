package stirring

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// dutyAt is a duty the fake output was set to, and when.
type dutyAt struct {
	at   time.Time
	duty float64
}

// fakePWM is a PWM output that remembers every duty with its time.
type fakePWM struct {
	b       *fakeBoard
	channel int
	hz      float64
}

func (p *fakePWM) String() string { return fmt.Sprintf("fake PWM %d", p.channel) }
func (p *fakePWM) Halt() error    { return p.SetDuty(0) }
func (p *fakePWM) SetDuty(d float64) error {
	if err := hw.CheckDuty(d); err != nil {
		return err
	}
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	p.b.history = append(p.b.history, dutyAt{p.b.clk.Now(), d})
	return nil
}
func (p *fakePWM) Duty() float64 { return p.b.duty() }
func (p *fakePWM) Hz() float64   { return p.hz }
func (p *fakePWM) Channel() int  { return p.channel }
func (p *fakePWM) Close() error {
	err := p.SetDuty(0)
	p.b.mu.Lock()
	p.b.closed = true
	p.b.mu.Unlock()
	return err
}

// fakeBoard is a board with one stirrer whose RPM follows its duty at once:
// rpm = 20·(duty − 5), 0 below 5 %. It has no sensors; sensorBoard adds the
// RPM counter.
type fakeBoard struct {
	clk sched.Scheduler

	mu      sync.Mutex
	history []dutyAt
	closed  bool
	opened  int
	stalled bool // the stirrer does not turn whatever its duty
}

func (b *fakeBoard) Name() string          { return "fake board" }
func (b *fakeBoard) Simulated() bool       { return true }
func (b *fakeBoard) PWM() hw.PWMController { return b }
func (b *fakeBoard) HaltAll() error        { return nil }
func (b *fakeBoard) Close() error          { return nil }
func (b *fakeBoard) Open(ch int, hz float64) (hw.PWM, error) {
	b.mu.Lock()
	b.opened = ch
	b.mu.Unlock()
	return &fakePWM{b: b, channel: ch, hz: hz}, nil
}

func (b *fakeBoard) duty() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dutyLocked()
}

func (b *fakeBoard) dutyLocked() float64 {
	if len(b.history) == 0 {
		return 0
	}
	return b.history[len(b.history)-1].duty
}

// dutyAtTime is the output's duty at t.
func (b *fakeBoard) dutyAtTime(t time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := 0.0
	for _, h := range b.history {
		if h.at.After(t) {
			break
		}
		d = h.duty
	}
	return d
}

func rpmOf(duty float64) float64 { return max(0, 20*(duty-5)) }

// revolutions integrates the RPM up to now.
func (b *fakeBoard) revolutions() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stalled {
		return 0
	}
	now := b.clk.Now()
	revs := 0.0
	for i, h := range b.history {
		end := now
		if i+1 < len(b.history) {
			end = b.history[i+1].at
		}
		revs += rpmOf(h.duty) / 60 * end.Sub(h.at).Seconds()
	}
	return revs
}

// sensorBoard is fakeBoard with an RPM counter (and no other sensor).
type sensorBoard struct{ *fakeBoard }

type counter struct{ b *fakeBoard }

func (c counter) String() string                { return "fake RPM counter" }
func (c counter) Halt() error                   { return nil }
func (c counter) Revolutions() (float64, error) { return c.b.revolutions(), nil }

func (s sensorBoard) Photodiode(int) (hw.ADC, error) { return nil, hw.ErrNotConfigured }
func (s sensorBoard) Thermometer() (hw.Thermometer, error) {
	return nil, hw.ErrNotConfigured
}
func (s sensorBoard) LEDs() (hw.LEDs, error)      { return nil, hw.ErrNotConfigured }
func (s sensorBoard) RPM() (hw.RPMCounter, error) { return counter{s.fakeBoard}, nil }

// harness is a unit with the fake board on a virtual clock and the
// in-memory broker.
type harness struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	board  *fakeBoard
	ctl    pubsub.Client
	rec    pubsubtest.Recorder

	job    *Job
	cancel context.CancelFunc
	ran    bool
	err    error
}

// newHarness builds a unit; withRPM gives the board its RPM counter.
// configLines are "section key value".
func newHarness(t *testing.T, withRPM bool, configLines ...string) *harness {
	t.Helper()
	cfg := config.New()
	for _, l := range configLines {
		parts := strings.SplitN(l, " ", 3)
		cfg.Set(parts[0], parts[1], parts[2])
	}
	h := &harness{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory()}
	h.broker.Tap = h.rec.Tap
	h.board = &fakeBoard{clk: h.clk}
	var board hw.Board = h.board
	if withRPM {
		board = sensorBoard{h.board}
	}
	h.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil },
		Board:   board, Config: cfg,
	}
	h.ctl = h.broker.Connect(pubsub.Options{ClientID: "test"})
	return h
}

// start starts the job and its Run as an actor.
func (h *harness) start(o Options) *Job {
	h.t.Helper()
	var err error
	h.job, err = Start(h.env, o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.job.Log.OnRecord = h.rec.Log
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.clk.Go("stirring run", func() {
		h.err = h.job.Run(ctx)
		h.ran = true
	})
	h.settle()
	return h.job
}

// until runs the unit until d after the epoch.
func (h *harness) until(d time.Duration) {
	h.clk.RunUntil(context.Background(), epoch.Add(d))
}

func (h *harness) settle() { h.clk.RunUntil(context.Background(), h.clk.Now()) }

// stop cancels Run and lets it return.
func (h *harness) stop() {
	h.cancel()
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(time.Minute))
}

func (h *harness) topic(leaf string) string { return "pioreactor/unit1/exp1/stirring/" + leaf }

// send publishes as the test (not retained) and lets the handlers run.
func (h *harness) send(topic, payload string) {
	h.t.Helper()
	if err := h.ctl.Publish(topic, []byte(payload), 1, false); err != nil {
		h.t.Fatal(err)
	}
	h.settle()
}

// retain publishes a retained message as another job would.
func (h *harness) retain(topic, payload string) {
	h.t.Helper()
	if err := h.ctl.Publish(topic, []byte(payload), 1, true); err != nil {
		h.t.Fatal(err)
	}
	h.settle()
}

// last is the last payload on a stirring setting ("" if none).
func (h *harness) last(leaf string) string {
	p := h.rec.Payloads(h.topic(leaf))
	if len(p) == 0 {
		return ""
	}
	return p[len(p)-1]
}

// measured decodes the measured_rpm payloads.
func (h *harness) measured() []float64 {
	h.t.Helper()
	var out []float64
	for _, p := range h.rec.Payloads(h.topic("measured_rpm")) {
		if p == "" {
			continue
		}
		var m struct {
			RPM       *float64 `json:"measured_rpm"`
			Timestamp string   `json:"timestamp"`
		}
		if err := json.Unmarshal([]byte(p), &m); err != nil || m.RPM == nil || m.Timestamp == "" {
			h.t.Fatalf("measured_rpm payload %q: %v", p, err)
		}
		out = append(out, *m.RPM)
	}
	return out
}

// assertOff checks that Run has returned and left the stirrer off and
// closed.
func (h *harness) assertOff() {
	h.t.Helper()
	if !h.ran {
		h.t.Fatal("Run has not returned")
	}
	if d := h.board.duty(); d != 0 {
		h.t.Errorf("duty after Run returned = %v; want 0", d)
	}
	h.board.mu.Lock()
	closed := h.board.closed
	h.board.mu.Unlock()
	if !closed {
		h.t.Error("the PWM output was not closed")
	}
	if st := h.rec.Payloads(h.topic("$state")); len(st) == 0 || st[len(st)-1] != "disconnected" {
		h.t.Errorf("$state payloads %v; want the last disconnected", st)
	}
}

func fptr(f float64) *float64 { return &f }
func bptr(b bool) *bool       { return &b }
