// Command pio runs Pioreactor-style bioreactor automations written in
// Starlark. It only parses flags and wires packages together; the work is in
// runtime, script, unit and simulate.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// Version is the software version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func main() {
	app := &cli.App{
		Name:  "pio",
		Usage: "run bioreactor automations written in Starlark",
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
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "pio:", err)
		os.Exit(1)
	}
}
