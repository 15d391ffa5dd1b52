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
	"os"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/script"
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
	// Series, if true, keeps the run's time series (Summary.Series) for a
	// plot or a table; without it only their ranges are kept, so a long run
	// needs no memory that grows with its length.
	Series bool
	// Progress, if set, receives a progress line as virtual time passes.
	Progress io.Writer
	// Log, if set, receives the unit's log records at LogLevel and above
	// (the zero value is INFO), one line each with its virtual time: the
	// script's own log lines, its events, its pumps and every job's
	// warnings and errors. See console.go for the format.
	Log      io.Writer
	LogLevel slog.Level
	// Console, if set and Log is not, receives the log records instead.
	Console *slog.Logger
	// Alone runs the automation with the monitor only, without the jobs a
	// unit runs for a culture beside it (UnitJobs).
	Alone bool
	// TargetTemperature, if set, runs the thermostat at this target as the
	// unit's temperature automation; otherwise only_record_temperature
	// records the vial's temperature (unless the script is itself a
	// temperature automation).
	TargetTemperature *float64
	// At, if set, is called before the run starts with the scheduler and the
	// broker, so callers (tests) can schedule events at virtual times, or
	// start more jobs (as actors) beside the automation. It runs after the
	// summary's observer is set on the reactor (sim.Reactor.SetDutyObserver):
	// replacing it leaves the summary without pump runs.
	At func(s *sched.Virtual, b *pubsub.Memory, env *runtime.Env)
}

// Record is one line of a recording.
type Record struct {
	T        float64 `json:"t"`
	Topic    string  `json:"topic"`
	Payload  string  `json:"payload"`
	Retained bool    `json:"retained"`
}

// Run runs a simulation to its end. Its error means the simulation could not
// run (a script that does not load, a bad setting); a script that loaded and
// then failed at run time is in the summary: see Summary.Err.
func Run(ctx context.Context, o Options) (*Summary, error) {
	wallStart := time.Now()
	cfg := o.Config
	if cfg == nil {
		cfg = config.New()
	}
	opts, err := cfg.Options() // every value checked before anything starts
	if err != nil {
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
	if err := unit.CheckIdentity(o.Unit, o.Experiment); err != nil {
		return nil, err
	}
	prog, err := unit.LoadProgram(o.Script, o.Unit, o.Experiment)
	if err != nil {
		return nil, err
	}
	// The pumps and devices the script requires, against the simulated
	// unit's config, as a start checks them (unit.CheckScript).
	if src, err := os.ReadFile(o.Script); err == nil { // else one of pio's own
		if err := script.CheckRequires(o.Script, src, cfg); err != nil {
			return nil, err
		}
	}
	clk := sched.NewVirtual(Epoch)
	end := Epoch.Add(o.For)
	clk.SetLimit(end)
	broker := pubsub.NewMemory()
	sum := &Summary{Simulated: o.For, EventML: map[string]float64{}, Automation: prog.Name(), AutomationJob: prog.Family.Job, CustomJob: prog.Job != nil}
	sum.Liquid.ModelStart = runtime.DefaultLiquidState(opts).CurrentVolumeML
	t := &tally{sum: sum, epoch: Epoch, spent: map[string]time.Duration{}, pumps: map[string]*pumpTally{},
		stateTopic:     topic.State(o.Unit, o.Experiment, prog.Family.Job),
		eventsTopic:    topic.DosingEvents(o.Unit, o.Experiment),
		latestTopic:    topic.Join(o.Unit, o.Experiment, prog.Family.Job, "latest_event"),
		volumeSetTopic: topic.Set(o.Unit, o.Experiment, "bioreactor", liquid.CurrentVolume),
	}
	var recErr error
	enc := json.NewEncoder(io.Discard)
	if o.Record != nil {
		enc = json.NewEncoder(o.Record)
		enc.SetEscapeHTML(false)
	}
	if o.Series {
		sum.Series = &Series{End: o.For, Title: fmt.Sprintf("%s (%s) on a simulated unit: seed %d, %s", prog.Name(), prog.Family.Job, o.Seed, shortDuration(o.For))}
	}
	rec := newRecorder(o.Unit, o.Experiment, sum.Series)
	broker.Tap = func(_ string, m pubsub.Message) {
		t.onMessage(m, clk.Now())
		rec.onMessage(m, clk.Now().Sub(Epoch))
		if o.Record != nil && recErr == nil {
			recErr = enc.Encode(Record{T: clk.Now().Sub(Epoch).Seconds(), Topic: m.Topic, Payload: string(m.Payload), Retained: m.Retained})
		}
	}
	reactor, err := unit.NewSimReactor(cfg, clk, o.Seed)
	if err != nil {
		return nil, err
	}
	sum.Liquid.VialStart = reactor.State().VolumeML
	reactor.SetDutyObserver(func(_ int, device string, duty float64) { t.onDuty(device, duty, clk.Now()) })
	con := &console{now: func() time.Duration { return clk.Now().Sub(Epoch) }, log: o.Log, level: o.LogLevel, progress: o.Progress}
	consoleLog := o.Console
	switch {
	case o.Log != nil:
		consoleLog = slog.New(handler{c: con})
	case consoleLog == nil:
		consoleLog = slog.New(slog.DiscardHandler)
	}
	env := &runtime.Env{
		Unit: o.Unit, Experiment: o.Experiment, Sched: clk,
		Connect: func(opts pubsub.Options) (pubsub.Client, error) { return broker.Connect(opts), nil },
		Board:   reactor, Config: cfg,
		Liquid:  liquid.NewMemStore(),
		Console: consoleLog,
	}
	if o.Progress != nil {
		step := o.For / 50
		if step < time.Minute {
			step = time.Minute
		}
		for at := step; at < o.For; at += step {
			at := at
			clk.At(Epoch.Add(at), func() {
				con.Progress(fmt.Sprintf("simulating %s: %3.0f%% (%v of %v)", o.Script, 100*at.Seconds()/o.For.Seconds(), at, o.For))
			})
		}
	}
	if o.At != nil {
		o.At(clk, broker, env)
	}
	sup := runtime.NewSupervisor(env)
	var (
		mon              *runtime.Monitor
		a                unit.Automation
		startErr, runErr error
	)
	clk.Go("simulate", func() {
		if mon, startErr = runtime.StartMonitor(env); startErr != nil {
			return
		}
		_ = sup.Start(ctx, mon, nil)
		if !o.Alone {
			if startErr = startUnitJobs(ctx, env, sup, prog, o); startErr != nil {
				sup.StopAll()
				return
			}
		}
		if a, startErr = unit.StartProgram(env, prog, unit.ScriptOptions{Overrides: o.Overrides}); startErr != nil {
			sup.StopAll()
			return
		}
		a.Logger().OnRecord = func(level, msg string) { t.onRecord(level, msg, a.Failures(), clk.Now()) }
		// When the automation ends, so does the unit.
		_ = sup.Start(ctx, a, func(err error) { runErr = err; sup.StopAll() })
	})
	// At the end, the unit stops as on Ctrl-C: every job disconnects (a job
	// waiting for a message would otherwise wait past the end).
	clk.At(end, sup.StopAll)
	clk.Run(ctx)
	if startErr != nil {
		con.ClearProgress()
		return nil, startErr
	}
	sup.Halt()
	con.ClearProgress()
	stop := clk.Now()
	if stop.After(end) {
		stop = end
	}
	t.finishStates(stop)
	sum.Jobs = rec.jobTimes(stop.Sub(Epoch))
	for _, r := range rec.ranges() {
		sum.Readings = append(sum.Readings, *r)
	}
	t.finishPumps(stop)
	if t.ioOpen {
		sum.IOActions.Interrupted++
	}
	sum.Doses, sum.Errors = sum.IOActions.Completed, a.Failures()
	if st, err := mon.Liquid(o.Experiment); err == nil {
		sum.Model = st
	}
	_, sum.Liquid.DroppedEvents = mon.Counts()
	sum.Reactor = reactor.State()
	sum.Pumps = pumpRows(t, sum, env)
	sum.Liquid.fill(sum, opts)
	sum.Wall = time.Since(wallStart)
	if recErr != nil {
		return sum, fmt.Errorf("simulate: writing the record: %w", recErr)
	}
	return sum, runErr
}
