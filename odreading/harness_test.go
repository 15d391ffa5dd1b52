package odreading

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeBoard is a board whose photodiodes see a culture of OD od lit by the
// IR LED on channel A: the signal photodiodes read
// dark + k·od·efficiency·IR/100 + noise, REF reads dark + c·efficiency·IR/100 + refNoise.
type fakeBoard struct {
	clk *sched.Virtual

	mu         sync.Mutex
	od         float64
	k, c       float64 // volts per OD, REF volts, at 100 % IR
	dark       float64
	efficiency float64 // the IR LED's output relative to new
	noise      float64 // standard deviation of the signal's noise, volts
	refNoise   float64 // relative standard deviation of REF's output, burst to burst
	rng        *rand.Rand
	leds       map[string]float64
	ledLog     []string // "A=80" for every change, in order
	refChannel int
	bursts     int
}

func newFakeBoard(clk *sched.Virtual) *fakeBoard {
	return &fakeBoard{clk: clk, od: 0.5, k: 0.5, c: 0.25, dark: 0.01, efficiency: 1,
		rng: rand.New(rand.NewPCG(1, 2)), leds: map[string]float64{}, refChannel: 1}
}

func (b *fakeBoard) Name() string          { return "fake board" }
func (b *fakeBoard) Simulated() bool       { return true }
func (b *fakeBoard) PWM() hw.PWMController { return nil }
func (b *fakeBoard) HaltAll() error        { return nil }
func (b *fakeBoard) Close() error          { return nil }

func (b *fakeBoard) Photodiode(ch int) (hw.ADC, error) {
	if ch < 1 || ch > 4 {
		return nil, fmt.Errorf("no photodiode %d: %w", ch, hw.ErrNotConfigured)
	}
	return fakeADC{b, ch}, nil
}
func (b *fakeBoard) Thermometer() (hw.Thermometer, error) { return nil, hw.ErrNotConfigured }
func (b *fakeBoard) LEDs() (hw.LEDs, error)               { return fakeLEDs{b}, nil }
func (b *fakeBoard) RPM() (hw.RPMCounter, error)          { return nil, hw.ErrNotConfigured }

func (b *fakeBoard) set(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
}

func (b *fakeBoard) led(ch string) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.leds[ch]
}

type fakeADC struct {
	b  *fakeBoard
	ch int
}

func (a fakeADC) String() string { return fmt.Sprintf("photodiode %d", a.ch) }
func (a fakeADC) Halt() error    { return nil }
func (a fakeADC) Volts(ctx context.Context) (float64, error) {
	s, err := a.Burst(ctx, 1, 0)
	if err != nil {
		return 0, err
	}
	return s[0].Volts, nil
}

func (a fakeADC) Burst(ctx context.Context, n int, spacing time.Duration) ([]hw.Sample, error) {
	b := a.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bursts++
	now := b.clk.Now()
	light := b.efficiency * b.leds["A"] / 100
	refLight := light
	if a.ch == b.refChannel && b.refNoise > 0 {
		refLight *= 1 + b.refNoise*b.rng.NormFloat64()
	}
	out := make([]hw.Sample, n)
	for i := range out {
		v := b.dark
		if a.ch == b.refChannel {
			v += b.c * refLight
		} else {
			v += b.k*b.od*light + b.noise*b.rng.NormFloat64()
		}
		out[i] = hw.Sample{At: now.Add(time.Duration(i) * spacing), Volts: v}
	}
	return out, nil
}

type fakeLEDs struct{ b *fakeBoard }

func (l fakeLEDs) String() string { return "LEDs" }
func (l fakeLEDs) Halt() error {
	for _, ch := range ledChannels {
		_ = l.SetIntensity(ch, 0)
	}
	return nil
}
func (l fakeLEDs) SetIntensity(ch string, p float64) error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	if l.b.leds[ch] != p {
		l.b.ledLog = append(l.b.ledLog, fmt.Sprintf("%s=%g", ch, p))
	}
	l.b.leds[ch] = p
	return nil
}
func (l fakeLEDs) Intensity(ch string) float64 {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	return l.b.leds[ch]
}

// harness is a unit on a virtual clock and the in-memory broker with the
// fake board, configured with the defaults (1=REF, 2=90, IR on A at 80 %).
type harness struct {
	t      testing.TB
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	board  *fakeBoard
	ctl    pubsub.Client
	rec    pubsubtest.Recorder

	job    *Job
	cancel context.CancelFunc
	runErr error
	ended  bool
}

func newHarness(t testing.TB, configLines ...string) *harness {
	t.Helper()
	cfg := config.New()
	for _, l := range configLines {
		parts := strings.SplitN(l, " ", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		cfg.Set(parts[0], parts[1], parts[2])
	}
	h := &harness{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory()}
	h.broker.Tap = h.rec.Tap
	h.board = newFakeBoard(h.clk)
	h.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil },
		Board:   h.board, Config: cfg,
	}
	h.ctl = h.broker.Connect(pubsub.Options{ClientID: "test"})
	t.Cleanup(func() { leds.Release(h.env) })
	return h
}

// start starts the job and its Run on an actor, and runs the scheduler for
// the start-up (2 s); it fails the test if Start fails.
func (h *harness) start(o Options) *Job {
	h.t.Helper()
	if err := h.tryStart(o); err != nil {
		h.t.Fatal(err)
	}
	return h.job
}

func (h *harness) tryStart(o Options) error {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	var startErr error
	h.clk.Go("od_reading", func() {
		j, err := Start(h.env, o)
		if err != nil {
			startErr = err
			return
		}
		h.job = j
		h.runErr = j.Run(ctx)
		h.ended = true
	})
	// Start-up takes 0.83 s (1.2 s with ir_led_intensity auto).
	for i := 0; i < 50 && startErr == nil && h.job == nil; i++ {
		h.advance(100 * time.Millisecond)
	}
	if startErr == nil && h.job == nil {
		h.t.Fatal("Start has not returned after 5 s")
	}
	return startErr
}

// advance runs the scheduler for d of virtual time.
func (h *harness) advance(d time.Duration) {
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(d))
}

// stop cancels Run and lets it return.
func (h *harness) stop() {
	h.cancel()
	h.clk.Run(context.Background())
	if !h.ended {
		h.t.Fatal("Run has not returned")
	}
}

// set publishes a /set command as the test and lets the handlers run.
func (h *harness) set(setting, value string) {
	h.t.Helper()
	if err := h.ctl.Publish("pioreactor/unit1/exp1/od_reading/"+setting+"/set", []byte(value), 1, false); err != nil {
		h.t.Fatal(err)
	}
	h.clk.RunUntil(context.Background(), h.clk.Now())
}

func (h *harness) payloads(setting string) []string {
	return h.rec.Payloads("pioreactor/unit1/exp1/od_reading/" + setting)
}

// ods decodes the ods payloads published so far.
func (h *harness) ods() []odsPayload {
	h.t.Helper()
	var out []odsPayload
	for _, p := range h.payloads("ods") {
		if p == "" {
			continue // cleared at the end
		}
		var o odsPayload
		if err := json.Unmarshal([]byte(p), &o); err != nil {
			h.t.Fatalf("ods %q: %v", p, err)
		}
		out = append(out, o)
	}
	return out
}

type odsPayload struct {
	Timestamp time.Time `json:"timestamp"`
	ODs       map[string]struct {
		OD             float64 `json:"od"`
		Angle          string  `json:"angle"`
		Channel        string  `json:"channel"`
		Calibrated     int     `json:"calibrated"`
		IRLEDIntensity float64 `json:"ir_led_intensity"`
		Timestamp      string  `json:"timestamp"`
	} `json:"ods"`
}

// logged reports whether the job logged a record at level containing substr.
func (h *harness) logged(level, substr string) bool {
	for _, p := range h.rec.Payloads("pioreactor/unit1/exp1/logs/od_reading/" + level) {
		var r struct{ Message string }
		if json.Unmarshal([]byte(p), &r) == nil && strings.Contains(r.Message, substr) {
			return true
		}
	}
	return false
}

func (h *harness) logs(level string) []string {
	var out []string
	for _, p := range h.rec.Payloads("pioreactor/unit1/exp1/logs/od_reading/" + level) {
		var r struct{ Message string }
		_ = json.Unmarshal([]byte(p), &r)
		out = append(out, r.Message)
	}
	return out
}

func ptr(f float64) *float64 { return &f }
