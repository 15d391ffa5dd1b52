// Command pios runs jobs and scripts on many units at once, from any
// machine of the lab: it asks the leader's HTTP API, which hands each unit's
// part to that unit's daemon over the broker, and prints one line per unit.
// Its exit status is 1 when any unit failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Version is the software version, set at build time.
var Version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args, os.Stdout, os.Stderr))
}

// Main runs the pios command line args (args[0] is the program name) and
// returns its exit status. Tests call it in-process.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := newApp(stdout, stderr).RunContext(ctx, args)
	var exit *exitError
	switch {
	case errors.As(err, &exit):
		if exit.msg != "" {
			fmt.Fprintln(stderr, "pios:", exit.msg)
		}
		return exit.code
	case err != nil:
		fmt.Fprintln(stderr, "pios:", err)
		return 1
	}
	return 0
}

// exitError ends pios with a status, after its message (if any).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageError(format string, a ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, a...)}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "pios",
		Usage:     "run, change and stop jobs on many units at once, through the leader",
		Writer:    stdout,
		ErrWriter: stderr,
		Version:   Version,
		Description: "pios asks the leader's HTTP API (pio leader) to act on units. Choose units with\n" +
			"--units u1,u2 (repeatable) or --experiments EXP (the active workers assigned to it); by\n" +
			"default, every active worker. Each unit's jobs run under the experiment it is assigned to.\n" +
			"Selectors and --leader may come before or after the command's arguments.",
		HideHelpCommand: true,
		Flags:           selectorFlags(),
		Commands: []*cli.Command{
			runCommand(),
			runScriptCommand(),
			killCommand(),
			jobsCommand(),
			statusCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return usageError("unknown command %q; see pios --help", c.Args().First())
		},
	}
	return app
}

// selectorFlags are pios's global flags.
func selectorFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "home", Usage: "pio's state directory (config.ini)", EnvVars: []string{"PIO_HOME"}, DefaultText: "~/.pio"},
		&cli.StringFlag{Name: "config", Usage: "read this config file instead of <home>/config.ini"},
		&cli.StringFlag{Name: "leader", Usage: "the leader's API URL (default: [cluster.topology] leader_address, [ui] port and proto)"},
		&cli.StringSliceFlag{Name: "units", Usage: "these units (repeatable or comma-separated)"},
		&cli.StringSliceFlag{Name: "experiments", Usage: "the active workers assigned to these experiments"},
	}
}
