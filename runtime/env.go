// Package runtime runs a unit's jobs: the job framework (states, published
// settings, /set commands over MQTT, an inbox per job), the lifecycle every
// job implements and the supervisor that hosts them, the periodic schedule,
// pump actions, and the monitor that owns the liquid model. Automations live
// in their own packages (dosing) and build on these.
//
// # Injection
//
// Everything a job touches comes through Env: the scheduler (and its clock),
// the MQTT connection factory, the hardware board, configuration,
// calibrations and the liquid store. The same code runs in real time on a
// Raspberry Pi, on the simulator in real time, and on the simulator in
// virtual time (pio simulate).
//
// # Concurrency
//
// Every job runs as actors of Env.Sched (package sched): its inbox actor runs
// its MQTT handlers in the broker's order, and its Run (the work: a schedule,
// execute(), the pumps it starts) is another. Handlers never block: they
// change state under the job's lock and reach the work only through contexts
// (stop a pump, stop a wait). Under the virtual scheduler one actor runs at a
// time in a fixed order, which is what makes a simulation deterministic.
//
// # Safety
//
// Pumps stop on every exit path: a pump's context is cancelled when its job
// sleeps or disconnects, when the MQTT connection is lost, and when Run
// returns, and each pump's PWM output is closed (duty 0) by a defer in the
// function that opened it. Env.Board.HaltAll is called last by the commands.
package runtime

import (
	"context"
	"log/slog"
	"sync"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/topic"
)

// Env is what the jobs of one unit share.
type Env struct {
	Unit       string
	Experiment string
	// Sched runs the unit's actors and is its clock.
	Sched sched.Scheduler
	// Connect opens an MQTT connection; each job has its own, with its own last will.
	Connect func(pubsub.Options) (pubsub.Client, error)
	// AsyncPublish publishes pump events from a queue so that a slow broker never
	// delays a pump's off time. Leave it false with the in-memory broker, whose
	// synchronous delivery keeps a simulation deterministic.
	AsyncPublish bool
	Board        hw.Board
	Config       *config.Config
	Calibrations calibration.Store
	Liquid       liquid.Store
	// Registry enforces one job of a name per unit across processes; nil keeps
	// the check inside this process only.
	Registry *Registry
	// Outbox, if set, carries every dosing event until the monitor confirms
	// it (package outbox); nil publishes on the job's own connection, as
	// pio simulate does on the in-memory broker, which loses nothing.
	Outbox *outbox.Outbox
	// Console receives log records (besides MQTT).
	Console *slog.Logger

	duties dutyBook // PWM outputs driven by this process, for pwms/dc

	topics map[topicKey]string // topics built once

	mu    sync.Mutex
	local map[string]bool // job names running in this process
	// outputs are the PWM channels reserved in this process.
	outputs map[int]*reservation
	pumps   map[int]runningPump
	pumpID  int
}

// claim marks a job name as running in this process.
func (e *Env) claim(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.local == nil {
		e.local = map[string]bool{}
	}
	if e.local[name] {
		return false
	}
	e.local[name] = true
	return true
}

func (e *Env) release(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.local, name)
}

type runningPump struct {
	action string
	cancel context.CancelFunc
}

// trackPump registers a running pump's cancel function under its action
// name; the returned func unregisters it.
func (e *Env) trackPump(action string, cancel context.CancelFunc) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pumps == nil {
		e.pumps = map[int]runningPump{}
	}
	e.pumpID++
	id := e.pumpID
	e.pumps[id] = runningPump{action, cancel}
	return func() {
		e.mu.Lock()
		delete(e.pumps, id)
		e.mu.Unlock()
	}
}

// StopPumps stops the pumps running in this process under an action name
// (add_media, remove_waste, pump_acid, ...).
func (e *Env) StopPumps(action string) { e.stopPumps(func(a string) bool { return a == action }) }

// StopAllPumps stops every pump running in this process. Jobs that drive
// pumps call it when their broker connection is lost; commands on exit.
func (e *Env) StopAllPumps() { e.stopPumps(func(string) bool { return true }) }

func (e *Env) stopPumps(match func(action string) bool) {
	e.mu.Lock()
	var cancels []context.CancelFunc
	for _, p := range e.pumps {
		if match(p.action) {
			cancels = append(cancels, p.cancel)
		}
	}
	e.mu.Unlock()
	for _, c := range cancels {
		c()
	}
}

// Options are the configuration's typed options (config.Config parses them
// once). The commands check them at start, so that a bad value stops them
// before anything runs.
func (e *Env) Options() (config.Options, error) { return e.Config.Options() }

// topicKey is an experiment and up to three segments after it.
type topicKey struct {
	experiment string
	segs       [3]string
	n          int
}

// Topic is pioreactor/<unit>/<experiment>/<segments...> (at most three),
// built once: jobs publish on the same few topics millions of times.
func (e *Env) Topic(experiment string, segments ...string) string {
	k := topicKey{experiment: experiment, n: len(segments)}
	copy(k.segs[:], segments)
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.topics[k]
	if !ok {
		t = topic.Join(append([]string{e.Unit, experiment}, segments...)...)
		if e.topics == nil {
			e.topics = map[topicKey]string{}
		}
		e.topics[k] = t
	}
	return t
}

// DosingEventsTopic is pioreactor/<unit>/<experiment>/dosing_events.
func (e *Env) DosingEventsTopic(experiment string) string {
	return e.Topic(experiment, "dosing_events")
}

func (e *Env) console() *slog.Logger {
	if e.Console == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Console
}
