// Command pio runs Pioreactor-style bioreactor automations written in
// Starlark. It only parses flags and wires packages together; the work is in
// runtime, script, unit and simulate.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/supervise"
	"github.com/piolab/pio/unit"
)

// Version is the software version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func main() {
	// A pio started by a pio to run a script (see runScriptsInChild) is
	// bounded to its memory budget before anything else.
	if log, child, err := supervise.Child(); child {
		if err != nil {
			fmt.Fprintln(log, "pio:", err)
			os.Exit(1)
		}
		os.Exit(runMain(os.Stdout, log, false))
	}
	os.Exit(runMain(os.Stdout, os.Stderr, supervise.Supported))
}

// runMain runs the command line of this process and returns its exit status.
// With inChild, the commands that run a script run it in a child process
// under the configured memory budget.
func runMain(stdout, stderr *os.File, inChild bool) int {
	// The first Ctrl-C (or SIGTERM, SIGHUP) ends the context and every job
	// stops cleanly; a second one kills a stuck process.
	ctx, stop := stopOnSignal()
	defer stop()
	app := newApp(stdout, stderr)
	if inChild {
		runScriptsInChild(app, stdout, stderr)
	}
	err := app.RunContext(ctx, foregroundFirst(os.Args))
	var exit *exitError
	switch {
	case errors.As(err, &exit):
		if exit.msg != "" {
			fmt.Fprintln(stderr, "pio:", exit.msg)
		}
		return exit.code
	case err != nil:
		fmt.Fprintln(stderr, "pio:", err)
		return 1
	}
	return 0
}

// exitError ends pio with an exit status other than 1, after its message
// (if any) on a line of its own.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Run runs the pio command line args (args[0] is the program name) with
// output to stdout and logs to stderr, until it ends or ctx does. It is main
// without the process: tests call it in-process, and scripts run in this
// process, without a memory budget.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return newApp(stdout, stderr).RunContext(ctx, foregroundFirst(args))
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Writer:    stdout,
		ErrWriter: stderr,
		Name:      "pio",
		Usage:     "run bioreactor automations written in Starlark",
		Description: "pio runs Pioreactor-style units. Automations are Starlark scripts (.star):\n" +
			"edit one, run it with `pio run-script FILE`, dry-run it with `pio simulate FILE`.\n" +
			"With nothing installed, pio uses a simulated reactor and starts an embedded MQTT broker.",
		Version:         Version,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "home", Usage: "pio's state directory (config.ini, calibrations, liquid model)", EnvVars: []string{"PIO_HOME"}, DefaultText: "~/.pio"},
			&cli.StringFlag{Name: "config", Usage: "read this config file instead of <home>/config.ini"},
			&cli.StringFlag{Name: "broker", Usage: "MQTT broker host:port (default: [mqtt] in the config, 127.0.0.1:1883)"},
			&cli.StringFlag{Name: "unit", Usage: "unit name (default: [cluster.topology] unit_name, else the hostname)"},
			&cli.StringFlag{Name: "experiment", Usage: "experiment name (default: $EXPERIMENT, else [cluster.topology] experiment)"},
			&cli.BoolFlag{Name: "verbose", Usage: "log debug records to the console"},
			&cli.BoolFlag{Name: "foreground", Usage: "run, run-script, kill: here, even when the unit's daemon runs", EnvVars: []string{"PIO_FOREGROUND"}},
		},
		Commands: []*cli.Command{
			runScriptCommand(),
			scriptsCommand(),
			simulateCommand(),
			runCommand(),
			mqttCommand(),
			killCommand(),
			calibrationsCommand(),
			versionCommand(),
			authCommand(),
			selfTestCommand(),
			leaderCommand(),
			daemonCommand(),
			workersCommand(),
			experimentsCommand(),
			exportCommand(),
			auditCommand(),
		},
	}
	refuseUnknownCommands(app)
	app.Before = handOff // to the unit's daemon, when one runs (handoff.go)
	return app
}

// runScriptsInChild makes run-script and simulate, unless asked for help,
// run in a child process: this program again, with the same command line,
// bounded to the memory budget of [scripts] memory_limit_mb. This process
// waits for it, forwards signals to it, and if the child dies (out of memory
// or otherwise) turns the unit's outputs off and says why in one line.
//
// pio scripts check, test and install run a script's top level (and test
// runs simulations): they run in a child under the same budget, so that a
// script that asks for all the memory is refused there too.
func runScriptsInChild(app *cli.App, stdout, stderr *os.File) {
	inChild := func(cmd *cli.Command, drivesBoard bool) {
		inner := cmd.Action
		cmd.Action = func(c *cli.Context) error {
			if wantsHelp(c.Args().Slice()) {
				return inner(c)
			}
			return runInChild(c, drivesBoard, stdout, stderr)
		}
	}
	for _, cmd := range app.Commands {
		switch cmd.Name {
		case "run-script", "daemon": // the daemon runs scripts in-process: its budget is theirs
			inChild(cmd, true)
		case "simulate":
			inChild(cmd, false)
		case "scripts":
			for _, sub := range cmd.Subcommands {
				if sub.Name == "check" || sub.Name == "test" || sub.Name == "install" {
					inChild(sub, false)
				}
			}
		}
	}
}

// runInChild runs this command line in a child under the budget. Errors of
// the command line and the config are the child's to report: the parent
// only needs the budget, and falls back to the default one.
func runInChild(c *cli.Context, drivesBoard bool, stdout, stderr *os.File) error {
	b := scriptBudget(unitOptions(c, trailingGlobals(c.Args().Slice())))
	res, err := supervise.Run(supervise.Options{Args: os.Args, Budget: b.mb << 20, Stdout: stdout, Log: stderr})
	if err != nil {
		return err
	}
	if !res.Crashed {
		if res.Code == 0 {
			return nil
		}
		return &exitError{code: res.Code} // the child has said why
	}
	outputs := ""
	if drivesBoard {
		outputs = "; " + haltOutputs(b.cfg, b.opts)
	}
	if res.OutOfMemory {
		return &exitError{code: 1, msg: fmt.Sprintf("the script was stopped: it needed more than its memory budget of %d MB (%s)%s", b.mb, b.where, outputs)}
	}
	how, code := fmt.Sprintf("exit status %d", res.Code), res.Code
	if res.Signal != 0 {
		how, code = "signal: "+res.Signal.String(), 128+int(res.Signal)
	}
	return &exitError{code: code, msg: fmt.Sprintf("the script's process ended abruptly (%s)%s", how, outputs)}
}

// budget is the memory budget of a script and where it was set.
type budget struct {
	mb    uint64
	where string         // for a message: the key and its file, or how to set it
	cfg   *config.Config // nil if the config did not load
	opts  unit.Options   // where the unit's files are
}

// scriptBudget reads [scripts] memory_limit_mb. A config that does not load
// or a bad value gives the default: the child then reports the error.
func scriptBudget(opts unit.Options) budget {
	def, _ := config.New().Options()
	file := opts.ConfigFile
	if file == "" {
		file = filepath.Join(unit.Home(opts.Home), "config.ini")
	}
	b := budget{mb: def.Scripts.MemoryLimitMB, where: "[scripts] memory_limit_mb, the default; set it in " + file, opts: opts}
	cfg, err := unit.LoadConfig(opts)
	if err != nil {
		return b
	}
	b.cfg = cfg
	if o, _ := cfg.Options(); o.Scripts.MemoryLimitMB != 0 {
		b.mb = o.Scripts.MemoryLimitMB
		if v, _ := cfg.Get("scripts", "memory_limit_mb"); v != "" {
			if f, line, ok := cfg.Source("scripts", "memory_limit_mb"); ok && line > 0 && f != config.SourceDefaults {
				b.where = fmt.Sprintf("[scripts] memory_limit_mb in %s:%d", f, line)
			}
		}
	}
	return b
}

// trailingGlobals finds --home and --config among a script command's
// arguments, where run-script and simulate accept them after the file.
func trailingGlobals(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if name != "home" && name != "config" {
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				break
			}
			i++
			value = args[i]
		}
		out[name] = value
	}
	return out
}

// haltOutputs turns off the unit's outputs after a child that drove them
// died without doing it itself, and says how that went. It opens the board
// the config describes, and halts each wired PWM channel that no live
// process holds: on the HAT, its pins; on the simulated reactor, whose
// outputs ended with the child, nothing is left to do.
func haltOutputs(cfg *config.Config, opts unit.Options) string {
	if cfg == nil {
		cfg = config.New()
	}
	o, _ := cfg.Options()
	board, err := unit.OpenBoard(cfg, opts, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Sprintf("the outputs could not be turned off (%v): check the pumps", err)
	}
	var errs []error
	for ch := range o.PWM {
		out, err := board.PWM().Open(ch, 0)
		if errors.Is(err, hw.ErrBusy) {
			continue // a live process drives it
		}
		if err == nil {
			err = out.Close()
		}
		errs = append(errs, err)
	}
	errs = append(errs, board.HaltAll(), board.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Sprintf("the outputs could not all be turned off (%v): check the pumps", err)
	}
	return "every output is off"
}

// refuseUnknownCommands answers a command name pio does not know, at the top
// and under commands with subcommands, with an error that points at --help
// and names the commands it resembles.
func refuseUnknownCommands(app *cli.App) {
	app.Action = func(c *cli.Context) error {
		args := c.Args().Slice()
		if len(args) > 0 && args[0] == "help" { // pio help [COMMAND]
			args = args[1:]
			if len(args) > 0 && app.Command(args[0]) != nil {
				return cli.ShowCommandHelp(c, args[0])
			}
		}
		if len(args) == 0 {
			return cli.ShowAppHelp(c)
		}
		return unknownCommand("pio", args[0], app.Commands)
	}
	for _, cmd := range app.Commands {
		if len(cmd.Subcommands) == 0 || cmd.Action != nil {
			continue
		}
		cmd.Action = func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowSubcommandHelp(c)
			}
			return unknownCommand("pio "+cmd.Name, c.Args().First(), cmd.Subcommands)
		}
	}
}

// unknownCommand is the error for a name that is none of cmds: exit status
// 2, as for other usage errors.
func unknownCommand(parent, name string, cmds []*cli.Command) error {
	msg := fmt.Sprintf("unknown command %q; see %s --help", name, parent)
	var near []string
	for _, cmd := range cmds {
		if !cmd.Hidden && resembles(name, cmd.Name) {
			near = append(near, cmd.Name)
		}
	}
	switch len(near) {
	case 0:
	case 1:
		msg = fmt.Sprintf("unknown command %q (did you mean %s?); see %s --help", name, near[0], parent)
	default:
		msg = fmt.Sprintf("unknown command %q (did you mean one of %s?); see %s --help", name, strings.Join(near, ", "), parent)
	}
	return &exitError{code: 2, msg: msg}
}

// resembles reports whether a mistyped name is close to a command's: at most
// two edits apart (one for short names), or the start of it.
func resembles(typed, name string) bool {
	typed = strings.ToLower(typed)
	if len(typed) >= 3 && strings.HasPrefix(name, typed) {
		return true
	}
	most := 2
	if len(name) <= 4 {
		most = 1
	}
	return editDistance(typed, name) <= most
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
