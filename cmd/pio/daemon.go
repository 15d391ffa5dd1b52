package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/daemon"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/unit"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "host this unit's jobs in one long-running process, taking requests over the broker",
		Description: "Opens the unit's board once, runs its monitor, and hosts the jobs and scripts it is asked\n" +
			"to run: `pio run`, `pio run-script` and `pio kill` on this unit hand their work to it, and\n" +
			"the leader and `pios` send it requests on pioreactor/<unit>/$experiment/daemon/request.\n" +
			"Jobs outlive the terminal that started them. Ctrl-C or SIGTERM stops every job, turns the\n" +
			"outputs off and publishes the daemon's $state disconnected (docs/daemon.md).",
		Flags: globalFlagsAfterCommand(),
		Action: func(c *cli.Context) error {
			uo := unitOptions(appContext(c), localGlobalFlags(c))
			cfg, err := unit.LoadConfig(uo)
			if err != nil {
				return err
			}
			o, err := cfg.Options()
			if err != nil {
				return err
			}
			reg, err := unit.JobRegistry(uo)
			if err != nil {
				return err
			}
			if e, ok := reg.Lookup("daemon"); ok { // before the board opens
				return fmt.Errorf("a daemon already runs on unit %s (pid %d); one per unit", e.Unit, e.PID)
			}
			m, err := unit.Open(uo)
			if err != nil {
				return err
			}
			host := newDaemonHost(m, uo, c.App.ErrWriter)
			defer host.close()
			if err := m.EnsureMonitor(); err != nil {
				return err
			}
			return daemon.Run(c.Context, daemon.Options{
				Unit: m.Env.Unit, Experiment: m.Env.Experiment,
				Connect:        m.Env.Connect,
				Registry:       m.Env.Registry,
				Exec:           host.exec,
				ScriptsDir:     filepath.Join(unit.Home(uo.Home), "daemon", "scripts"),
				BrokerLostStop: o.Cluster.BrokerLostStop,
				Halt:           host.halt,
				Shutdown:       host.shutdown,
				Console:        m.Env.Console,
			})
		},
	}
}

// daemonHost is the daemon's machine as the in-process commands see it:
// hostJob and run-script find it in their context and host their job on it
// instead of opening the unit again, so every job shares one board (one
// simulated culture) and one scheduler.
type daemonHost struct {
	machine *unit.Machine
	opts    unit.Options
	stderr  io.Writer

	mu        sync.Mutex
	envs      map[string]*hostEnv // per experiment; the machine's own included
	closeOnce sync.Once
}

// hostEnv is the environment and supervisor of one experiment's jobs.
type hostEnv struct {
	env *runtime.Env
	sup *runtime.Supervisor
}

// jobHost is what one command run by the daemon finds in its context.
type jobHost struct {
	*daemonHost
	started func(runtime.Runner, error)
}

type daemonHostKey struct{}

// hostOf returns the daemon host a command runs under, or nil when it runs
// on its own.
func hostOf(ctx context.Context) *jobHost {
	if ctx == nil {
		return nil
	}
	h, _ := ctx.Value(daemonHostKey{}).(*jobHost)
	return h
}

func newDaemonHost(m *unit.Machine, uo unit.Options, stderr io.Writer) *daemonHost {
	h := &daemonHost{machine: m, opts: uo, stderr: stderr, envs: map[string]*hostEnv{}}
	h.envs[m.Env.Experiment] = &hostEnv{env: m.Env, sup: m.Supervisor}
	return h
}

// envFor returns the environment of an experiment's jobs: the machine's,
// or one sharing its board, scheduler, broker, registry and outbox with
// only the experiment changed.
func (h *daemonHost) envFor(experiment string) *hostEnv {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.envs[experiment]; ok {
		return e
	}
	base := h.machine.Env
	env := &runtime.Env{Unit: base.Unit, Experiment: experiment, Sched: base.Sched, Connect: base.Connect,
		AsyncPublish: base.AsyncPublish, Board: base.Board, Config: base.Config, Calibrations: base.Calibrations,
		Liquid: base.Liquid, Registry: base.Registry, Outbox: base.Outbox, Console: base.Console}
	e := &hostEnv{env: env, sup: runtime.NewSupervisor(env)}
	h.envs[experiment] = e
	return e
}

// run hosts a job started by start under experiment until it ends, and
// tells the daemon as soon as it has started.
func (j *jobHost) run(ctx context.Context, experiment string, start func(env *runtime.Env) (runtime.Runner, error)) error {
	if experiment == "" {
		experiment = j.machine.Env.Experiment
	}
	e := j.envFor(experiment)
	job, err := start(e.env)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	if err := e.sup.Start(ctx, job, func(err error) { done <- err }); err != nil {
		return err
	}
	if j.started != nil {
		j.started(job, nil)
	}
	return <-done
}

// stop ends a job this daemon hosts and waits for it; false if it hosts
// none of that name.
func (h *daemonHost) stop(name string) bool {
	h.mu.Lock()
	var sups []*runtime.Supervisor
	for _, e := range h.envs {
		sups = append(sups, e.sup)
	}
	h.mu.Unlock()
	for _, s := range sups {
		for _, js := range s.Jobs() {
			if js.Name == name && !js.Ended && s.Stop(name) {
				return true
			}
		}
	}
	return false
}

// exec runs a pio command line in this process, on the daemon's machine.
func (h *daemonHost) exec(ctx context.Context, argv []string, out io.Writer, started func(runtime.Runner, error)) error {
	ctx = context.WithValue(ctx, daemonHostKey{}, &jobHost{daemonHost: h, started: started})
	args := []string{"pio"}
	for _, f := range []struct{ name, value string }{{"home", h.opts.Home}, {"config", h.opts.ConfigFile}, {"broker", h.opts.Broker}, {"unit", h.machine.Env.Unit}} {
		if f.value != "" {
			args = append(args, "--"+f.name, f.value)
		}
	}
	app := newApp(out, h.stderr)
	app.ExitErrHandler = func(*cli.Context, error) {} // never os.Exit in the daemon
	err := app.RunContext(ctx, append(args, argv...))
	var exit *exitError
	if errors.As(err, &exit) && exit.msg == "" && exit.code == 0 {
		return nil
	}
	return err
}

// halt stops every pump of every experiment and halts the board's outputs:
// the broker has been unreachable for too long.
func (h *daemonHost) halt() error {
	// Only the pumps: every pump's context ends, and RunPump's deferred
	// close turns its output off (retrying, and halting the whole board if
	// that fails). Stirring, the heater and the LEDs keep the culture alive
	// through a broker outage; halting them would leave a stirrer at 0 %
	// while its job still says ready.
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.envs {
		e.env.StopAllPumps()
	}
	return nil
}

// shutdown stops every job of every experiment (the monitor too) and
// halts the outputs, keeping the broker: the daemon then says it is
// disconnected, and close closes the rest.
func (h *daemonHost) shutdown() {
	h.mu.Lock()
	for _, e := range h.envs {
		e.sup.StopAll()
	}
	h.mu.Unlock()
	if err := h.machine.Board.HaltAll(); err != nil {
		h.machine.Env.Console.Warn("the outputs could not all be halted: check the pumps", "err", err)
	}
}

// close stops every job of every experiment, then closes the machine
// (outputs off). It runs once.
func (h *daemonHost) close() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		for x, e := range h.envs {
			if x != h.machine.Env.Experiment {
				e.sup.StopAll()
			}
		}
		h.mu.Unlock()
		h.machine.Close()
	})
}
