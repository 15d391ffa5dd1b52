// Package daemon is a unit's long-running host of jobs: `pio daemon`. It
// owns the unit's board (one process, one Machine), takes cluster.Requests
// over the broker (run a job, run a script sent with its content, kill
// jobs, report its jobs), runs each as pio's own command line would, and
// keeps the jobs running after it has answered.
//
// The daemon is a job of the unit named "daemon": its retained $state on
// cluster.StateTopic is init, then ready, and its last will is lost. The
// runtime.Registry holds one daemon per unit per machine; `pio run` on the
// unit sees the held entry and hands its work to the daemon.
//
// The package does not know the CLI: Options.Exec runs a command line
// in-process and says when the job it starts has started (cmd/pio wires
// pio's own app in). Everything that waits on time goes through
// Options.After, so tests drive the broker-loss timer by hand.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

// Exec runs a pio command line (argv is what follows "pio") in this
// process, with what it prints going to out, until ctx ends or its job
// does. If the command starts a job, it calls started once, with the job
// (err nil) as soon as the job is hosted, or with the error that kept it
// from starting. Commands that start no job (kill) never call it.
type Exec func(ctx context.Context, argv []string, out io.Writer, started func(job runtime.Runner, err error)) error

// Options configure a daemon.
type Options struct {
	// Unit is the unit's name; Experiment is its own experiment, the one a
	// request without an experiment runs under.
	Unit, Experiment string
	// Connect opens the daemon's MQTT connection (the will is the daemon's).
	Connect func(pubsub.Options) (pubsub.Client, error)
	// Registry holds the "daemon" entry for the daemon's life; nil checks
	// nothing across processes.
	Registry *runtime.Registry
	// Exec runs a request's command line.
	Exec Exec
	// ScriptsDir is where scripts sent with their content are written, one
	// folder per checksum (<home>/daemon/scripts).
	ScriptsDir string
	// BrokerLostStop is how long the broker may be unreachable before every
	// pump output is halted ([cluster.daemon] broker_lost_stop_seconds).
	BrokerLostStop time.Duration
	// After is the clock of the broker-loss timer (nil: time.After).
	After func(time.Duration) <-chan time.Time
	// Halt stops every pump of every hosted job (not stirring, heater or LEDs).
	Halt func() error
	// Shutdown, if set, runs once every job has ended, before the daemon
	// publishes $state disconnected: the board's outputs off.
	Shutdown func()
	// Console receives the daemon's log lines.
	Console *slog.Logger
}

// Daemon is a running daemon.
type Daemon struct {
	o      Options
	client pubsub.Client
	jobs   context.Context // the hosted jobs' context: ends with Run's
	wg     sync.WaitGroup  // requests being served and jobs running

	mu      sync.Mutex
	hosted  map[string]*hostedJob
	state   runtime.State
	lost    chan struct{} // closed by a reconnect; nil while connected
	halted  bool
	stopped bool
	seen    map[string]bool // the ids of the last maxSeen requests taken
	order   []string        // seen, oldest first
	// assigned is the experiment the leader assigned the unit to (its
	// retained assignment topic); "" when none.
	assigned string
}

// maxSeen is how many request ids the daemon remembers to take each
// request once: QoS 1 may deliver one twice.
const maxSeen = 1024

// firstTime reports whether request id is new, and remembers it; d.mu is
// held.
func (d *Daemon) firstTime(id string) bool {
	if d.seen[id] {
		return false
	}
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if len(d.order) == maxSeen {
		delete(d.seen, d.order[0])
		d.order = d.order[1:]
	}
	d.seen[id] = true
	d.order = append(d.order, id)
	return true
}

// hostedJob is a job started by a request: who asked, and the job.
type hostedJob struct {
	status cluster.JobStatus
	job    runtime.Runner
}

// Run serves requests until ctx ends, then stops every job it hosts,
// publishes $state disconnected and returns. It fails at once if a daemon
// already runs on the unit or the broker cannot be reached.
func Run(ctx context.Context, o Options) error {
	if o.Console == nil {
		o.Console = slog.New(slog.DiscardHandler)
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Registry != nil {
		release, err := o.Registry.Acquire(cluster.JobName, o.Unit, o.Experiment)
		if err != nil {
			return fmt.Errorf("a daemon already runs on unit %s: %w", o.Unit, err)
		}
		defer release()
	}
	d := &Daemon{o: o, hosted: map[string]*hostedJob{}, state: runtime.Init}
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	d.jobs = jobs
	client, err := o.Connect(pubsub.Options{
		ClientID:    "daemon-" + o.Unit,
		Will:        &pubsub.Message{Topic: cluster.StateTopic(o.Unit), Payload: []byte(runtime.Lost), QoS: 1, Retained: true},
		OnLost:      d.connectionLost,
		OnReconnect: d.reconnected,
	})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.client = client
	defer client.Close()
	d.publishState(runtime.Init)
	// The leader's assignment: a request that names no experiment runs
	// under it, as upstream's jobs ask the leader for theirs.
	if err := client.Subscribe(cluster.AssignmentTopic(o.Unit), 1, d.assignment); err != nil {
		d.publishState(runtime.Disconnected)
		return fmt.Errorf("daemon: subscribe %s: %w", cluster.AssignmentTopic(o.Unit), err)
	}
	if err := client.Subscribe(cluster.RequestTopic(o.Unit), 1, d.receive); err != nil {
		d.publishState(runtime.Disconnected)
		return fmt.Errorf("daemon: subscribe %s: %w", cluster.RequestTopic(o.Unit), err)
	}
	d.publishState(runtime.Ready)
	o.Console.Info("daemon ready: taking requests", "unit", o.Unit, "topic", cluster.RequestTopic(o.Unit))

	<-ctx.Done()
	client.Unsubscribe(cluster.RequestTopic(o.Unit))
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	stopJobs()
	d.wg.Wait()
	if o.Shutdown != nil {
		o.Shutdown()
	}
	d.publishState(runtime.Disconnected)
	o.Console.Info("daemon stopped", "unit", o.Unit)
	return nil
}

// assignment follows the leader's retained assignment of the unit.
func (d *Daemon) assignment(m pubsub.Message) {
	exp, err := cluster.ParseAssignment(d.o.Unit, m.Payload)
	if err == nil && exp != "" {
		err = runtime.CheckExperimentName(exp)
	}
	if err != nil {
		d.o.Console.Warn("daemon: ignoring an assignment", "err", err)
		return
	}
	d.mu.Lock()
	changed := d.assigned != exp
	d.assigned = exp
	d.mu.Unlock()
	if changed {
		d.o.Console.Info("daemon: assigned experiment", "experiment", exp)
	}
}

// experiment is the experiment of a request: its own, else the unit's
// assigned one, else the unit's configured one.
func (d *Daemon) experiment(req cluster.Request) string {
	if req.Experiment != "" {
		return req.Experiment
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.assigned != "" {
		return d.assigned
	}
	return d.o.Experiment
}

// publishState publishes the daemon's retained $state.
func (d *Daemon) publishState(s runtime.State) {
	d.mu.Lock()
	d.state = s
	d.mu.Unlock()
	if err := d.client.Publish(cluster.StateTopic(d.o.Unit), []byte(s), 1, true); err != nil {
		d.o.Console.Warn("daemon: cannot publish its $state", "state", s, "err", err)
	}
}

// receive takes a request off the broker; serving it runs on its own
// goroutine, since a handler must not wait.
func (d *Daemon) receive(m pubsub.Message) {
	var req cluster.Request
	if err := json.Unmarshal(m.Payload, &req); err != nil {
		d.o.Console.Warn("daemon: a request that is not JSON was ignored", "err", err)
		return
	}
	if err := checkID(req.ID); err != nil {
		d.o.Console.Warn("daemon: a request was ignored", "err", err)
		return
	}
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	if !d.firstTime(req.ID) {
		d.mu.Unlock()
		d.o.Console.Warn("daemon: a request that arrived again was ignored (taken once already)", "id", req.ID)
		return
	}
	d.wg.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.wg.Done()
		d.reply(d.serve(req))
	}()
}

// reply publishes rep on its request's reply topic.
func (d *Daemon) reply(rep cluster.Reply) {
	rep.Unit = d.o.Unit
	b, err := json.Marshal(rep)
	if err != nil {
		b, _ = json.Marshal(cluster.Reply{ID: rep.ID, Unit: d.o.Unit, Error: &cluster.Error{Kind: "internal", Message: err.Error()}})
	}
	if err := d.client.Publish(cluster.ReplyTopic(d.o.Unit, rep.ID), b, 1, false); err != nil {
		d.o.Console.Warn("daemon: cannot publish a reply", "id", rep.ID, "err", err)
	}
}

// Status returns the jobs the daemon hosts, sorted by name.
func (d *Daemon) Status() []cluster.JobStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]cluster.JobStatus, 0, len(d.hosted))
	for _, h := range d.hosted {
		s := h.status
		s.State = string(h.job.State())
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Job < out[j].Job })
	return out
}

// refused is the reply to a request the daemon or the command said no to.
func refused(id string, err error) cluster.Reply {
	kind := "refused"
	var ie *internalError
	if errors.As(err, &ie) {
		kind = "internal"
	}
	return cluster.Reply{ID: id, Error: &cluster.Error{Kind: kind, Message: err.Error()}}
}

// internalError is a failure of the daemon itself, not of the request.
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }
