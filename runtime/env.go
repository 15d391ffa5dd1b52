// Package runtime runs a unit's jobs: the job framework (states, published
// settings, /set commands over MQTT), pump actions, the monitor that owns the
// liquid model, and dosing automations written in Starlark.
//
// # Injection
//
// Everything a job touches comes through Env: the clock, the MQTT connection
// factory, the hardware board, configuration, calibrations and the liquid
// store. The same code runs in real time on a Raspberry Pi, on the simulator in
// real time, and on the simulator in virtual time (pio simulate).
//
// # Concurrency
//
// A dosing automation's Run owns one goroutine: the schedule, execute() and
// every pump it starts run there, one at a time. MQTT commands (/set) arrive on
// the client's goroutines; they change settings under the job's lock, and reach
// the automation goroutine only through context cancellation (stop a pump,
// stop a wait). With the in-memory broker, delivery is synchronous and the whole
// unit runs on one goroutine, which is what makes a simulation deterministic.
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
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
)

// Env is what the jobs of one unit share.
type Env struct {
	Unit       string
	Experiment string
	Clock      clock.Clock
	// Connect opens an MQTT connection; each job has its own, with its own last will.
	Connect func(pubsub.Options) (pubsub.Client, error)
	// AsyncPublish publishes pump events from a queue so that a slow broker never
	// delays a pump's off time. Leave it false with the in-memory broker, whose
	// synchronous delivery keeps a simulation deterministic.
	AsyncPublish bool
	Board        hw.Board
	Config       *config.Config
	Calibrations calibration.Store
	// FallbackCalibration, if set, supplies a calibration for a device with no
	// active one (a simulated board's nominal flow). Without it, dosing by mL
	// needs an active calibration.
	FallbackCalibration func(device string) (calibration.Pump, bool)
	Liquid              liquid.Store
	// Registry enforces one job of a name per unit across processes; nil keeps
	// the check inside this process only.
	Registry *Registry
	// Console receives log records (besides MQTT).
	Console *slog.Logger

	mu     sync.Mutex
	local  map[string]bool // job names running in this process
	pumps  map[int]context.CancelFunc
	pumpID int
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

// trackPump registers a running pump's cancel function; the returned func
// unregisters it.
func (e *Env) trackPump(cancel context.CancelFunc) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pumps == nil {
		e.pumps = map[int]context.CancelFunc{}
	}
	e.pumpID++
	id := e.pumpID
	e.pumps[id] = cancel
	return func() {
		e.mu.Lock()
		delete(e.pumps, id)
		e.mu.Unlock()
	}
}

// StopAllPumps stops every pump running in this process. The runtime calls it
// when a broker connection is lost, and commands call it on exit.
func (e *Env) StopAllPumps() {
	e.mu.Lock()
	cancels := make([]context.CancelFunc, 0, len(e.pumps))
	for _, c := range e.pumps {
		cancels = append(cancels, c)
	}
	e.mu.Unlock()
	for _, c := range cancels {
		c()
	}
}

func (e *Env) console() *slog.Logger {
	if e.Console == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Console
}
