package selftest

import (
	"context"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// Epoch is where the simulator's virtual time starts.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simLimit bounds a simulated self-test's virtual time: no check waits
// anywhere near it.
const simLimit = time.Hour

// SimOptions describe a self-test on the simulated reactor.
type SimOptions struct {
	Options
	// Config nil: the defaults.
	Config *config.Config
	Seed   int64
	Unit   string // default "sim"
	// Board, if set, is the board the checks run on, built around the
	// reactor (tests wrap it to inject faults); nil: the reactor itself.
	Board func(*sim.Reactor) hw.Board
	// Broker, if set, receives the published results; nil: a broker of the
	// run's own.
	Broker *pubsub.Memory
}

// Simulate runs the self-test on the simulated reactor the config describes,
// in virtual time: it takes the CPU time of the checks, not their minutes,
// and the same seed gives the same report. The pump check sees the liquid
// each simulated pump truly moved. Every output is halted at the end.
func Simulate(ctx context.Context, o SimOptions) (Report, error) {
	env, reactor, err := simEnv(o)
	if err != nil {
		return Report{}, err
	}
	defer env.Board.HaltAll()
	return runVirtual(ctx, env, reactor, o.Options)
}

// simEnv builds a unit on the simulated reactor in virtual time.
func simEnv(o SimOptions) (*runtime.Env, *sim.Reactor, error) {
	cfg := o.Config
	if cfg == nil {
		cfg = config.New()
	}
	if _, err := cfg.Options(); err != nil {
		return nil, nil, err
	}
	clk := sched.NewVirtual(Epoch)
	clk.SetLimit(Epoch.Add(simLimit))
	simOpts, err := sim.FromConfigFile(cfg, o.Seed)
	if err != nil {
		return nil, nil, err
	}
	reactor := sim.New(clk, simOpts)
	var board hw.Board = reactor
	if o.Board != nil {
		board = o.Board(reactor)
	}
	broker := o.Broker
	if broker == nil {
		broker = pubsub.NewMemory()
	}
	unit := o.Unit
	if unit == "" {
		unit = "sim"
	}
	env := &runtime.Env{
		Unit: unit, Experiment: "self_test", Sched: clk,
		Connect: func(opts pubsub.Options) (pubsub.Client, error) { return broker.Connect(opts), nil },
		Board:   board, Config: cfg, Liquid: liquid.NewMemStore(),
	}
	return env, reactor, nil
}

// runVirtual runs the self-test as an actor of env's virtual scheduler.
func runVirtual(ctx context.Context, env *runtime.Env, reactor *sim.Reactor, o Options) (Report, error) {
	if o.MovedML == nil {
		o.MovedML = func(device string) float64 { return reactor.State().MovedML[device] }
	}
	clk := env.Sched.(*sched.Virtual)
	var (
		rep Report
		err error
	)
	clk.Go(JobName, func() { rep, err = Run(ctx, env, o) })
	clk.Run(ctx)
	return rep, err
}
