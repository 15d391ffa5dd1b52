// Package unit assembles one Pioreactor unit on this machine for the pio
// commands: configuration, MQTT (a real broker, or the embedded one when none
// answers), the board, calibrations, the liquid store, the job registry, and
// the monitor that owns the liquid model. cmd/pio only parses flags and calls
// in here.
package unit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/script"
	"github.com/piolab/pio/stdlib"
)

// Options locate the unit's files and broker.
type Options struct {
	// Home holds config.ini, calibrations and the liquid store (job locks
	// are per machine: RunDir).
	// Empty means $PIO_HOME, else ~/.pio.
	Home string
	// ConfigFile, if set, is read instead of <home>/config.ini.
	ConfigFile string
	// Broker ("host:port") overrides [mqtt]; an explicit broker must answer.
	Broker     string
	Unit       string
	Experiment string
	Console    *slog.Logger
	// NoEmbedded forbids starting the embedded broker.
	NoEmbedded bool
}

// Home resolves the pio home directory.
func Home(h string) string {
	if h != "" {
		return h
	}
	if h := os.Getenv("PIO_HOME"); h != "" {
		return h
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".pio")
	}
	return ".pio"
}

// RunDir is where a unit's running jobs and driven outputs are registered
// (runtime.Registry): $PIO_RUN_DIR/<unit>, else <temp dir>/pio/<unit>. It is
// per machine and per unit, never per home: two pio commands started with
// different homes still share one unit's pumps, so they must see each
// other's locks. The kernel drops the locks of a dead process, and a reboot
// empties the temp dir with them.
func RunDir(unitName string) string {
	base := os.Getenv("PIO_RUN_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "pio")
	}
	return filepath.Join(base, unitName)
}

// JobRegistry is the registry of the unit opts name (its RunDir), for the
// commands that look at running jobs (pio kill).
func JobRegistry(opts Options) (*runtime.Registry, error) {
	unitName, _, err := identityOf(opts)
	if err != nil {
		return nil, err
	}
	return &runtime.Registry{Dir: RunDir(unitName)}, nil
}

// identityOf reads the configuration opts names and returns its unit name
// and experiment (Identity).
func identityOf(opts Options) (unitName, experiment string, err error) {
	cfg, err := LoadConfig(opts)
	if err != nil {
		return "", "", err
	}
	o, err := cfg.Options()
	if err != nil {
		return "", "", err
	}
	unitName, experiment = Identity(o, opts)
	return unitName, experiment, CheckIdentity(unitName, experiment)
}

// LoadConfig reads the configuration for opts.
func LoadConfig(opts Options) (*config.Config, error) {
	home := Home(opts.Home)
	if opts.ConfigFile != "" {
		if _, err := os.Stat(opts.ConfigFile); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		return config.Load(opts.ConfigFile)
	}
	return config.Load(filepath.Join(home, "config.ini"), filepath.Join(home, "unit_config.ini"))
}

// CheckIdentity refuses a unit name or an experiment that cannot be a
// level of the unit's topics (pioreactor/<unit>/<experiment>/...): a
// wildcard or a separator in one would make a job subscribe to, or publish
// on, topics that are not its own.
func CheckIdentity(unitName, experiment string) error {
	if err := runtime.CheckExperimentName(experiment); err != nil {
		return fmt.Errorf("--experiment, $EXPERIMENT or [cluster.topology] experiment: %w", err)
	}
	for _, c := range unitName {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(`#$+/\`, c) {
			return fmt.Errorf("--unit, [cluster.topology] unit_name or the hostname: unit name %q: %q is not allowed in one (it is a level of MQTT topics: no #$+/\\ or control characters)", unitName, c)
		}
	}
	return nil
}

// Identity returns the unit name and experiment.
func Identity(o config.Options, opts Options) (unitName, experiment string) {
	unitName = opts.Unit
	if unitName == "" {
		unitName = o.Unit.Name
	}
	if unitName == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			unitName = h
		} else {
			unitName = "pio"
		}
	}
	experiment = opts.Experiment
	if experiment == "" {
		experiment = os.Getenv("EXPERIMENT")
	}
	if experiment == "" {
		experiment = o.Unit.Experiment
	}
	return unitName, experiment
}

// DialBroker connects a command's own client (pio mqtt, pio kill) to the
// unit's broker: --broker, else [mqtt] in the config.
func DialBroker(opts Options, clientID string, timeout time.Duration) (pubsub.Client, error) {
	cfg, err := LoadConfig(opts)
	if err != nil {
		return nil, err
	}
	o, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	addr := opts.Broker
	if addr == "" {
		addr = o.MQTT.Addr()
	}
	tlsConf, err := brokerTLS(o)
	if err != nil {
		return nil, err
	}
	return mqttnet.Dial(addr, pubsub.Options{ClientID: clientID, Username: o.MQTT.Username, Password: o.MQTT.Password, TLS: tlsConf}, timeout)
}

// Machine is a unit running on this machine: one board, one real-time
// scheduler, and a supervisor that hosts its jobs.
type Machine struct {
	Env        *runtime.Env
	Board      hw.Board
	Supervisor *runtime.Supervisor
	Monitor    *runtime.Monitor
	sched      *sched.Real
	broker     *mqttnet.Embedded
}

// Open assembles the unit. Its board is chosen by [hardware] board
// (unit/board.go): the Pioreactor HAT when one is found or asked for, else
// the simulated reactor, in real time.
func Open(opts Options) (*Machine, error) {
	cfg, err := LoadConfig(opts)
	if err != nil {
		return nil, err
	}
	o, err := cfg.Options() // every value checked before anything starts
	if err != nil {
		return nil, err
	}
	log := opts.Console
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	home := Home(opts.Home)
	unitName, experiment := Identity(o, opts)
	if err := CheckIdentity(unitName, experiment); err != nil {
		return nil, err
	}
	m := &Machine{}

	addr := opts.Broker
	if addr == "" {
		addr = o.MQTT.Addr()
	}
	tlsConf, err := brokerTLS(o)
	if err != nil {
		return nil, err
	}
	// With [mqtt] use_tls the broker is the leader's: no embedded one.
	if !mqttnet.Reachable(addr, 300*time.Millisecond) {
		if opts.Broker != "" || opts.NoEmbedded || tlsConf != nil {
			return nil, fmt.Errorf("no MQTT broker answers at %s", addr)
		}
		b, err := mqttnet.StartEmbedded(addr, nil)
		if err != nil {
			return nil, fmt.Errorf("no MQTT broker answers at %s, and the embedded one could not start there: %w", addr, err)
		}
		m.broker = b
		log.Info("no MQTT broker answered; started the embedded broker", "addr", b.Addr())
		addr = b.Addr()
	}
	user, pass := o.MQTT.Username, o.MQTT.Password
	connect := func(o pubsub.Options) (pubsub.Client, error) {
		o.Username, o.Password, o.TLS = user, pass, tlsConf
		return mqttnet.Dial(addr, o, 5*time.Second)
	}

	clk := clock.Real{}
	reactor, err := openBoard(cfg, clk, log, RunDir(unitName), home)
	if err != nil {
		m.Close()
		return nil, err
	}
	m.Board = reactor
	m.sched = sched.NewReal(clk)
	m.Env = &runtime.Env{
		Unit: unitName, Experiment: experiment, Sched: m.sched, Connect: connect, AsyncPublish: true,
		Board: reactor, Config: cfg,
		Calibrations: calibration.NewStore(home),
		Liquid:       &liquid.FileStore{Path: filepath.Join(home, "bioreactor.json")},
		Registry:     &runtime.Registry{Dir: RunDir(unitName)},
		Console:      log,
	}
	// Dosing events are the lab's record: they go through a journal under
	// the home (it must survive a reboot) until the monitor, and the
	// leader's database when there is a leader, confirm them. A unit that
	// started its own broker has no leader on it.
	leader := o.Cluster.LeaderHostname
	if m.broker != nil {
		leader = ""
	}
	ob, err := outbox.Open(outbox.Options{Dir: filepath.Join(home, "outbox"), Unit: unitName, Sched: m.sched, Connect: connect, Console: log, Leader: leader})
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("dosing events outbox: %w", err)
	}
	m.Env.Outbox = ob
	m.Supervisor = runtime.NewSupervisor(m.Env)
	return m, nil
}

// NewSimReactor builds the simulated reactor the config describes.
func NewSimReactor(cfg *config.Config, clk sim.Clock, seed int64) (*sim.Reactor, error) {
	opts, err := sim.FromConfigFile(cfg, seed)
	if err != nil {
		return nil, err
	}
	return sim.New(clk, opts), nil
}

// EnsureMonitor starts the monitor in this process unless one already runs on
// this unit (the liquid model has exactly one owner).
func (m *Machine) EnsureMonitor() error {
	mon, err := runtime.StartMonitor(m.Env)
	if errors.Is(err, runtime.ErrJobRunning) {
		m.Env.Console.Debug("monitor already runs on this unit")
		return nil
	}
	if err != nil {
		return err
	}
	m.Monitor = mon
	return m.Supervisor.Start(context.Background(), mon, nil)
}

// Close stops everything this machine started: pumps and jobs (waiting for
// them to end), then the board's outputs, then the broker.
func (m *Machine) Close() {
	if m.Supervisor != nil {
		m.Supervisor.StopAll()
		// The outbox's actor runs on the scheduler: it delivers what the
		// stopping jobs booked (the monitor may still confirm it), then ends;
		// what stays unconfirmed is replayed by the next process.
		if m.Env.Outbox != nil {
			m.Env.Outbox.Close(5 * time.Second)
		}
		m.sched.Wait()
	}
	if m.Supervisor != nil {
		m.Supervisor.Halt()
		leds.Release(m.Env)
	}
	if m.Board != nil {
		m.Board.Close() // the HAT's bus and counters; the simulator's outputs, halted again
	}
	if m.broker != nil {
		m.broker.Close()
	}
}

// ScriptOptions run a script.
type ScriptOptions struct {
	Path string
	// Program, if set, is the script already loaded from Path (CheckScript).
	Program   *Program
	Overrides map[string]string
	// Starting liquid values of a dosing automation (nil: stored, else
	// config defaults).
	CurrentVolumeML, AltMediaFraction, EffluxTubeVolumeML *float64
}

// StartScript loads a script (of any family) and starts its automation job
// on env. The caller runs it with Run.
func StartScript(env *runtime.Env, o ScriptOptions) (Automation, error) {
	p := o.Program
	if p == nil {
		var err error
		if p, err = LoadProgram(o.Path, env.Unit, env.Experiment); err != nil {
			return nil, err
		}
	}
	return StartProgram(env, p, o)
}

// CheckScript loads a script as the unit opts name would run it, before
// anything starts: a script that does not load starts no broker, no monitor
// and publishes nothing.
//
// It also reads the script's header: the warnings it gives (no
// api_version) go to opts.Console, and a script whose requires names a
// pump the unit's [PWM] does not wire, or a device [scripts.hardware] does
// not grant, is refused with the config line that would provide it.
func CheckScript(opts Options, path string) (*Program, error) {
	cfg, unitName, experiment, err := configOf(opts)
	if err != nil {
		return nil, err
	}
	p, err := LoadProgram(path, unitName, experiment)
	if err != nil {
		return nil, err
	}
	if src, err := os.ReadFile(path); err == nil { // else one of pio's own
		if err := checkHeader(opts.Console, cfg, path, src); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// CheckLibrary is CheckScript for an automation of pio's library (pio run
// dosing_automation --automation-name turbidostat).
func CheckLibrary(opts Options, family, name string) (*Program, error) {
	cfg, unitName, experiment, err := configOf(opts)
	if err != nil {
		return nil, err
	}
	p, err := LoadLibraryProgram(family, name, unitName, experiment)
	if err != nil {
		return nil, err
	}
	if path, src, ok := stdlib.Lookup(family, name); ok {
		if err := checkHeader(opts.Console, cfg, path, src); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkHeader logs the warnings of a script's header and refuses it when
// its requires names what the unit's configuration lacks: one line for
// each missing pump or device.
func checkHeader(log *slog.Logger, cfg *config.Config, path string, src []byte) error {
	h, _ := script.ReadHeader(path, src)
	if log != nil {
		for _, w := range h.Warnings {
			log.Warn(w.String())
		}
	}
	var missing []error
	for _, d := range h.Requires.Missing(cfg) {
		missing = append(missing, errors.New(d.String()))
	}
	return errors.Join(missing...)
}

// configOf reads the configuration opts names, with its unit name and
// experiment (Identity).
func configOf(opts Options) (cfg *config.Config, unitName, experiment string, err error) {
	if cfg, err = LoadConfig(opts); err != nil {
		return nil, "", "", err
	}
	o, err := cfg.Options()
	if err != nil {
		return nil, "", "", err
	}
	unitName, experiment = Identity(o, opts)
	return cfg, unitName, experiment, CheckIdentity(unitName, experiment)
}

// RunScript runs a script on the machine until ctx ends or the job stops.
func (m *Machine) RunScript(ctx context.Context, o ScriptOptions) error {
	if err := m.EnsureMonitor(); err != nil {
		return err
	}
	a, err := StartScript(m.Env, o)
	if err != nil {
		return err
	}
	return m.RunJob(ctx, a)
}

// RunJob hosts a started job until its Run returns, and returns its error.
func (m *Machine) RunJob(ctx context.Context, r runtime.Runner) error {
	done := make(chan error, 1)
	if err := m.Supervisor.Start(ctx, r, func(err error) { done <- err }); err != nil {
		return err
	}
	return <-done
}

// OfflineEnv is the unit's environment without a broker, a board or a
// scheduler: for commands that only read or change its files (pio run
// growth_rate_calculating clear_cache).
func OfflineEnv(opts Options) (*runtime.Env, error) {
	cfg, err := LoadConfig(opts)
	if err != nil {
		return nil, err
	}
	o, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	home := Home(opts.Home)
	unitName, experiment := Identity(o, opts)
	if err := CheckIdentity(unitName, experiment); err != nil {
		return nil, err
	}
	return &runtime.Env{Unit: unitName, Experiment: experiment, Config: cfg,
		Calibrations: calibration.NewStore(home),
		Liquid:       &liquid.FileStore{Path: filepath.Join(home, "bioreactor.json")},
	}, nil
}
