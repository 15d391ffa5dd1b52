// Package simulate runs an automation script on a simulated unit in virtual
// time: the same runtime as pio run-script, with the virtual scheduler
// (package sched), the in-memory broker and the simulated reactor, so a run
// is as fast as the CPU allows and the same seed gives the same output, byte
// for byte, whatever GOMAXPROCS is.
package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/topic"
	"github.com/piolab/pio/unit"
)

// Epoch is where virtual time starts, fixed so that timestamps in the
// recorded payloads do not depend on when the simulation ran.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options describe a simulation.
type Options struct {
	Script    string
	For       time.Duration
	Seed      int64
	Overrides map[string]string
	Config    *config.Config // nil: defaults
	Unit      string         // default "sim"
	// Experiment defaults to "sim".
	Experiment string
	// Record receives every MQTT message the unit published, one JSON line each.
	Record io.Writer
	// Progress, if set, receives a progress line as virtual time passes.
	Progress io.Writer
	Console  *slog.Logger
	// At, if set, is called before the run starts with the scheduler and the
	// broker, so callers (tests) can schedule events at virtual times, or
	// start more jobs (as actors) beside the automation.
	At func(s *sched.Virtual, b *pubsub.Memory, env *runtime.Env)
}

// Record is one line of a recording.
type Record struct {
	T        float64 `json:"t"`
	Topic    string  `json:"topic"`
	Payload  string  `json:"payload"`
	Retained bool    `json:"retained"`
}

// Summary reports a finished simulation.
type Summary struct {
	Automation string
	Simulated  time.Duration
	Wall       time.Duration
	Messages   int
	// Doses counts execute_io_action calls that completed; Errors, execute()
	// runs that failed (their messages are in ErrorMessages, first 5).
	Doses, Errors int
	ErrorMessages []string
	// EventML sums dosing_events volume_change per event name.
	EventML map[string]float64
	// Model is the liquid model at the end; Reactor, the simulated truth.
	Model   liquid.State
	Reactor sim.State
	// FinalState is the automation's last $state.
	FinalState string
}

// Run runs a simulation to its end.
func Run(ctx context.Context, o Options) (*Summary, error) {
	wallStart := time.Now()
	cfg := o.Config
	if cfg == nil {
		cfg = config.New()
	}
	if _, err := cfg.Options(); err != nil { // every value checked before anything starts
		return nil, err
	}
	if o.For <= 0 {
		return nil, fmt.Errorf("simulate: --for must be positive, got %v", o.For)
	}
	if o.Unit == "" {
		o.Unit = "sim"
	}
	if o.Experiment == "" {
		o.Experiment = "sim"
	}
	clk := sched.NewVirtual(Epoch)
	clk.SetLimit(Epoch.Add(o.For))
	broker := pubsub.NewMemory()
	sum := &Summary{Simulated: o.For, EventML: map[string]float64{}}
	var recErr error
	enc := json.NewEncoder(io.Discard)
	if o.Record != nil {
		enc = json.NewEncoder(o.Record)
		enc.SetEscapeHTML(false)
	}
	stateTopic := topic.State(o.Unit, o.Experiment, dosing.JobName)
	eventsTopic := topic.DosingEvents(o.Unit, o.Experiment)
	broker.Tap = func(_ string, m pubsub.Message) {
		sum.Messages++
		if m.Topic == stateTopic {
			sum.FinalState = string(m.Payload)
		}
		if m.Topic == eventsTopic {
			if ev, err := payload.ParseDosingEvent(m.Payload); err == nil {
				sum.EventML[ev.Event] += float64(ev.VolumeChange)
			}
		}
		if o.Record != nil && recErr == nil {
			recErr = enc.Encode(Record{T: clk.Now().Sub(Epoch).Seconds(), Topic: m.Topic, Payload: string(m.Payload), Retained: m.Retained})
		}
	}
	reactor, err := unit.NewSimReactor(cfg, clk, o.Seed)
	if err != nil {
		return nil, err
	}
	console := o.Console
	if console == nil {
		console = slog.New(slog.DiscardHandler)
	}
	env := &runtime.Env{
		Unit: o.Unit, Experiment: o.Experiment, Sched: clk,
		Connect: func(opts pubsub.Options) (pubsub.Client, error) { return broker.Connect(opts), nil },
		Board:   reactor, Config: cfg,
		Liquid:  liquid.NewMemStore(),
		Console: console,
	}
	if o.Progress != nil {
		step := o.For / 50
		if step < time.Minute {
			step = time.Minute
		}
		for t := step; t < o.For; t += step {
			t := t
			clk.At(Epoch.Add(t), func() {
				fmt.Fprintf(o.Progress, "\rsimulating %s: %3.0f%% (%v of %v)", o.Script, 100*t.Seconds()/o.For.Seconds(), t, o.For)
			})
		}
	}
	if o.At != nil {
		o.At(clk, broker, env)
	}
	sup := runtime.NewSupervisor(env)
	var (
		mon              *runtime.Monitor
		a                *dosing.Automation
		startErr, runErr error
	)
	clk.Go("simulate", func() {
		if mon, startErr = runtime.StartMonitor(env); startErr != nil {
			return
		}
		_ = sup.Start(ctx, mon, nil)
		if a, startErr = unit.StartScript(env, unit.ScriptOptions{Path: o.Script, Overrides: o.Overrides}); startErr != nil {
			sup.StopAll()
			return
		}
		sum.Automation = a.Program().Name()
		errs := &sum.ErrorMessages
		a.Log.OnRecord = func(level, msg string) {
			if level == "ERROR" && len(*errs) < 5 {
				*errs = append(*errs, msg)
			}
		}
		// When the automation ends, so does the unit.
		_ = sup.Start(ctx, a, func(err error) { runErr = err; sup.StopAll() })
	})
	clk.Run(ctx)
	if startErr != nil {
		return nil, startErr
	}
	sup.Halt()
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "\r%s\r", strings.Repeat(" ", 72))
	}
	sum.Doses, sum.Errors = a.Doses, a.Errors
	if st, err := mon.Liquid(o.Experiment); err == nil {
		sum.Model = st
	}
	sum.Reactor = reactor.State()
	sum.Wall = time.Since(wallStart)
	if recErr != nil {
		return sum, fmt.Errorf("simulate: writing the record: %w", recErr)
	}
	return sum, runErr
}

// Print writes a short human summary.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "simulated %v of %s in %v (%d MQTT messages)\n", s.Simulated, s.Automation, s.Wall.Round(time.Millisecond), s.Messages)
	fmt.Fprintf(w, "doses (execute_io_action calls): %d   errors: %d   final state: %s\n", s.Doses, s.Errors, s.FinalState)
	names := make([]string, 0, len(s.EventML))
	for n := range s.EventML {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %10.3f mL (dosing_events)\n", n, s.EventML[n])
	}
	fmt.Fprintf(w, "liquid model: volume %.3f mL, alt-media fraction %.4f; simulated vial: %.3f mL, OD %.3f",
		s.Model.CurrentVolumeML, s.Model.AltMediaFraction, s.Reactor.VolumeML, s.Reactor.OD)
	if s.Reactor.OverflowML > 0 {
		fmt.Fprintf(w, ", OVERFLOWED %.3f mL", s.Reactor.OverflowML)
	}
	fmt.Fprintln(w)
	for _, e := range s.ErrorMessages {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}
