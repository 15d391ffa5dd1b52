// Command pio runs Pioreactor-style bioreactor automations written in
// Starlark. It only parses flags and wires packages together; the work is in
// runtime, script, unit and simulate.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Version is the software version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func main() {
	// The first Ctrl-C (or SIGTERM, SIGHUP) ends the context and every job
	// stops cleanly; a second one kills a stuck process.
	ctx, stop := stopOnSignal()
	err := Run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pio:", err)
		os.Exit(1)
	}
}

// Run runs the pio command line args (args[0] is the program name) with
// output to stdout and logs to stderr, until it ends or ctx does. It is main
// without the process: tests call it in-process.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return newApp(stdout, stderr).RunContext(ctx, args)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
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
		},
		Commands: []*cli.Command{
			runScriptCommand(),
			simulateCommand(),
			runCommand(),
			mqttCommand(),
			killCommand(),
			calibrationsCommand(),
			versionCommand(),
		},
	}
}
