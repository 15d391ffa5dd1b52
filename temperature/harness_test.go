package temperature

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/automation"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is a unit on a virtual clock and the in-memory broker with a fake
// board: a heater on PWM channel 5 and a heating PCB at 25 °C room.
type harness struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	board  *fakeBoard
	therm  *fakeThermal
	ctl    pubsub.Client
	rec    pubsubtest.Recorder
	cancel context.CancelFunc
	runErr error
	ran    bool
}

func newHarness(t *testing.T, configLines ...string) *harness {
	t.Helper()
	cfg := config.New()
	for _, l := range configLines {
		parts := strings.SplitN(l, " ", 3)
		cfg.Set(parts[0], parts[1], parts[2])
	}
	h := &harness{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory()}
	h.broker.Tap = h.rec.Tap
	h.board = &fakeBoard{clk: h.clk}
	h.therm = newFakeThermal(h.board, 25)
	h.board.therm = h.therm
	h.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil },
		Board:   h.board, Config: cfg, Liquid: liquid.NewMemStore(),
	}
	h.ctl = h.broker.Connect(pubsub.Options{ClientID: "test"})
	return h
}

// start starts the automation and its Run on an actor, without moving the
// clock.
func (h *harness) start(p Program, overrides map[string]string) *Automation {
	h.t.Helper()
	a, err := Start(h.env, Options{Program: p, Overrides: overrides})
	if err != nil {
		h.t.Fatal(err)
	}
	a.Log.OnRecord = h.rec.Log
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.t.Cleanup(func() { cancel(); h.settle(); a.Close() })
	h.clk.Go("temperature_automation", func() { h.runErr = a.Run(ctx); h.ran = true })
	h.settle()
	return a
}

func (h *harness) settle() { h.clk.RunUntil(context.Background(), h.clk.Now()) }

// advance moves the virtual clock by d, running what falls due.
func (h *harness) advance(d time.Duration) {
	h.clk.RunUntil(context.Background(), h.clk.Now().Add(d))
}

// set publishes a /set command as the test and lets the handlers run.
func (h *harness) set(setting, value string) {
	h.t.Helper()
	t := "pioreactor/unit1/exp1/temperature_automation/" + setting + "/set"
	if err := h.ctl.Publish(t, []byte(value), 1, false); err != nil {
		h.t.Fatal(err)
	}
	h.settle()
}

func (h *harness) payloads(setting string) []string {
	return h.rec.Payloads("pioreactor/unit1/exp1/temperature_automation/" + setting)
}

func (h *harness) heaterDuty() float64 { return h.board.duty(heaterChannel) }

// goProgram is a Go Program for tests.
type goProgram struct {
	name     string
	settings []automation.SettingDecl
	exec     func(ctx context.Context, a *Automation) (*payload.Event, error)
	check    func(a *Automation, name string, v any) (any, error)
	runs     int
}

func (p *goProgram) Name() string {
	if p.name == "" {
		return "fake"
	}
	return p.name
}
func (p *goProgram) Settings() []automation.SettingDecl { return p.settings }
func (p *goProgram) Execute(ctx context.Context, a *Automation) (*payload.Event, error) {
	p.runs++
	if p.exec == nil {
		return nil, nil
	}
	return p.exec(ctx, a)
}
