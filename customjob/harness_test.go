package customjob

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeProgram is a Program in Go: run and handle are what its Run and
// Handle do; it records when each started and ended, to show they never
// overlap.
type fakeProgram struct {
	name     string
	settings []automation.SettingDecl
	check    func(name string, v any) (any, error)
	run      func(ctx context.Context, j *Job) error
	subs     []string
	handle   func(ctx context.Context, j *Job, m pubsub.Message) error

	mu      sync.Mutex
	busy    bool
	overlap bool
	runs    []time.Time
	handled []string
}

func (p *fakeProgram) Name() string                       { return p.name }
func (p *fakeProgram) Settings() []automation.SettingDecl { return p.settings }
func (p *fakeProgram) HasRun() bool                       { return p.run != nil }
func (p *fakeProgram) Subscriptions() []string            { return p.subs }

func (p *fakeProgram) CheckSetting(name string, v any) (any, error) {
	if p.check == nil {
		return v, nil
	}
	return p.check(name, v)
}

func (p *fakeProgram) enter() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy {
		p.overlap = true
	}
	p.busy = true
}

func (p *fakeProgram) leave() {
	p.mu.Lock()
	p.busy = false
	p.mu.Unlock()
}

func (p *fakeProgram) Run(ctx context.Context, j *Job) error {
	p.enter()
	defer p.leave()
	p.mu.Lock()
	p.runs = append(p.runs, j.Env().Sched.Now())
	p.mu.Unlock()
	return p.run(ctx, j)
}

func (p *fakeProgram) Handle(ctx context.Context, j *Job, m pubsub.Message) error {
	p.enter()
	defer p.leave()
	p.mu.Lock()
	p.handled = append(p.handled, string(m.Payload))
	p.mu.Unlock()
	if p.handle == nil {
		return nil
	}
	return p.handle(ctx, j, m)
}

func (p *fakeProgram) runTimes() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Duration
	for _, t := range p.runs {
		out = append(out, t.Sub(epoch))
	}
	return out
}

// harness is a unit on a virtual clock and the in-memory broker.
type harness struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	ctl    pubsub.Client
	rec    pubsubtest.Recorder
	job    *Job
	runErr error
	ended  bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory()}
	h.broker.Tap = h.rec.Tap
	cfg := config.New()
	cfg.Set("dosing_automation.config", "max_execute_minutes", "1")
	h.env = &runtime.Env{
		Unit: "u1", Experiment: "e1", Sched: h.clk, Config: cfg,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil },
		Board:   sim.New(h.clk, sim.Options{}),
	}
	h.ctl = h.broker.Connect(pubsub.Options{ClientID: "test"})
	return h
}

// start starts p and runs it as an actor.
func (h *harness) start(p Program, overrides map[string]string) *Job {
	h.t.Helper()
	j, err := Start(h.env, Options{Program: p, Overrides: overrides})
	if err != nil {
		h.t.Fatal(err)
	}
	j.Log.OnRecord = h.rec.Log
	h.job = j
	h.clk.Go("job", func() { h.runErr = j.Run(context.Background()); h.ended = true })
	return j
}

// advance runs the unit for d of virtual time.
func (h *harness) advance(d time.Duration) {
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(d))
}

// set publishes a command, as pio or the UI does, and lets it be handled.
func (h *harness) set(segs, value string) {
	h.t.Helper()
	if err := h.ctl.Publish("pioreactor/u1/e1/"+segs, []byte(value), 1, false); err != nil {
		h.t.Fatal(err)
	}
	h.advance(0)
}

func (h *harness) payloads(segs string) []string { return h.rec.Payloads("pioreactor/u1/e1/" + segs) }

func (h *harness) last(segs string) string {
	p := h.payloads(segs)
	if len(p) == 0 {
		return "<none>"
	}
	return p[len(p)-1]
}

func (h *harness) logged(level, substr string) bool { return h.rec.Logged(level, substr) }

func (h *harness) logs() string { return strings.Join(h.rec.Logs(), "\n") }

// intervalDecl declares interval with a default of seconds.
func intervalDecl(seconds float64) automation.SettingDecl {
	return automation.SettingDecl{Name: IntervalSetting, Datatype: payload.TypeFloat, Default: seconds}
}

// sleepFor waits d on the job's clock.
func sleepFor(ctx context.Context, j *Job, d time.Duration) error {
	clk := j.Env().Sched
	return clk.SleepUntil(ctx, clk.Now().Add(d))
}
