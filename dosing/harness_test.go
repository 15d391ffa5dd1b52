package dosing

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is a unit on a virtual clock and the in-memory broker, configured
// like upstream's test environment: 40 mL model, volume and efflux 14 mL,
// max_subdose 1, waste multiplier 2, 0.5 s pauses, pumps at 1 mL/s.
type harness struct {
	t       *testing.T
	clk     *sched.Virtual
	broker  *pubsub.Memory
	env     *runtime.Env
	reactor *sim.Reactor
	ctl     pubsub.Client // a client for the test itself

	// factory is the test board's factory pump calibration.
	factory func(device string) (calibration.Pump, bool)

	rec pubsubtest.Recorder
}

// testBoard is the simulated reactor with a factory calibration the test sets.
type testBoard struct {
	*sim.Reactor
	h *harness
}

func (b testBoard) FactoryPumpCalibration(device string) (calibration.Pump, bool) {
	return b.h.factory(device)
}

// do runs fn as an actor and drives the scheduler until nothing can run.
func (h *harness) do(fn func()) {
	h.clk.Go("test", fn)
	h.clk.Run(context.Background())
}

// settle runs what is runnable at the current virtual time (handlers of
// messages just published), without moving the clock.
func (h *harness) settle() { h.clk.RunUntil(context.Background(), h.clk.Now()) }

// publish publishes as the test, without running the handlers (for At
// callbacks, which run inside the scheduler).
func (h *harness) publish(topic, payload string) {
	h.t.Helper()
	if err := h.ctl.Publish(topic, []byte(payload), 1, false); err != nil {
		h.t.Fatal(err)
	}
}

func newHarness(t *testing.T, configLines ...string) *harness {
	t.Helper()
	cfg := config.New()
	cfg.Set("dosing_automation.config", "pause_between_subdoses_seconds", "0.5")
	for _, l := range configLines {
		parts := strings.SplitN(l, " ", 3)
		cfg.Set(parts[0], parts[1], parts[2])
	}
	h := &harness{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory()}
	h.broker.Tap = h.rec.Tap
	h.reactor = sim.New(h.clk, sim.Options{Devices: map[int]string{1: "stirring", 2: "media", 3: "alt_media", 4: "waste", 6: "salty_media"}, PumpMLPerSecond: 1})
	h.factory = func(device string) (calibration.Pump, bool) {
		return calibration.Pump{Name: "test", Device: device + "_pump", Slope: 1, Hz: 100, DC: 60}, true
	}
	h.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil },
		Board:   testBoard{h.reactor, h}, Config: cfg,
		Liquid: liquid.NewMemStore(),
	}
	h.ctl = h.broker.Connect(pubsub.Options{ClientID: "test"})
	return h
}

// payloads returns the payloads published on topic t, in order.
func (h *harness) payloads(t string) []string { return h.rec.Payloads(t) }

// published returns the messages on t.
func (h *harness) published(t string) []pubsub.Message { return h.rec.Published(t) }

func (h *harness) dosingEvents() []pubsubtest.DosingEvent {
	ev, err := h.rec.DosingEvents("pioreactor/unit1/exp1/dosing_events")
	if err != nil {
		h.t.Fatal(err)
	}
	return ev
}

func (h *harness) eventVolumes(name string) []float64 {
	return pubsubtest.Volumes(h.dosingEvents(), name)
}

func sum(v []float64) float64 { return pubsubtest.Sum(v) }

// set publishes as the test and lets the handlers run.
func (h *harness) set(topic, payload string) {
	h.t.Helper()
	h.publish(topic, payload)
	h.settle()
}

func (h *harness) logf(level, msg string) { h.rec.Log(level, msg) }

func (h *harness) logged(level, substr string) bool { return h.rec.Logged(level, substr) }

// call is one pump-function call of a fakeProgram.
type call struct {
	name string
	ml   float64
}

// fakeProgram is a Go Program for tests: execute and pump functions are Go
// closures; pump functions named in stubs record their calls and return what
// the stub says (ml by default, as upstream's "return ml" stubs).
type fakeProgram struct {
	name     string
	settings []SettingDecl
	exec     func(ctx context.Context, a *Automation) (*payload.Event, error)
	stubs    map[string]func(ml float64) float64
	mu       sync.Mutex
	calls    []call
}

func (p *fakeProgram) Name() string {
	if p.name == "" {
		return "fake"
	}
	return p.name
}
func (p *fakeProgram) Settings() []SettingDecl { return p.settings }
func (p *fakeProgram) Execute(ctx context.Context, a *Automation) (*payload.Event, error) {
	if p.exec == nil {
		return nil, nil
	}
	return p.exec(ctx, a)
}
func (p *fakeProgram) PumpFunc(a *Automation, name string) (PumpFunc, bool) {
	stub, ok := p.stubs[name]
	if !ok {
		return nil, false
	}
	return func(ctx context.Context, ml float64) (float64, error) {
		p.mu.Lock()
		p.calls = append(p.calls, call{name, ml})
		p.mu.Unlock()
		if stub == nil {
			return ml, nil
		}
		return stub(ml), nil
	}, true
}

func (p *fakeProgram) recorded() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]call(nil), p.calls...)
}

// returnML stubs media, alt_media and waste with "return ml".
func returnML(names ...string) map[string]func(float64) float64 {
	m := map[string]func(float64) float64{}
	for _, n := range names {
		m[n] = nil
	}
	return m
}

func ptr(f float64) *float64 { return &f }

// start starts a dosing automation running p.
func (h *harness) start(p Program, opts ...func(*Options)) *Automation {
	h.t.Helper()
	o := Options{Program: p}
	for _, f := range opts {
		f(&o)
	}
	a, err := Start(h.env, o)
	if err != nil {
		h.t.Fatal(err)
	}
	a.Log.OnRecord = h.logf
	h.t.Cleanup(a.Close)
	h.settle()
	return a
}

func withVolume(v float64) func(*Options) {
	return func(o *Options) { o.CurrentVolumeML = ptr(v) }
}

// pumpSource is a test program with its own pump functions.
type pumpSource interface {
	PumpFunc(a *Automation, name string) (PumpFunc, bool)
}

// exec runs execute_io_action on an actor, with the program's own pump
// functions, and returns when the unit is quiescent.
func (h *harness) exec(a *Automation, waste float64, doses []payload.Dose) (payload.Volumes, error) {
	var custom PumpFuncs
	if ps, ok := a.Program().(pumpSource); ok {
		custom = func(name string) (PumpFunc, bool) { return ps.PumpFunc(a, name) }
	}
	var res payload.Volumes
	var err error
	h.do(func() { res, err = a.ExecuteIOAction(context.Background(), waste, doses, custom) })
	return res, err
}

// advance moves the virtual clock by d, running what falls due.
func (h *harness) advance(d time.Duration) {
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(d))
}

func floatsEqual(a, b []float64) bool { return pubsubtest.VolumesEqual(a, b) }

// run runs the automation on an actor until it ends.
func (h *harness) run(a *Automation, ctx context.Context) error {
	var err error
	h.do(func() { err = a.Run(ctx) })
	return err
}
