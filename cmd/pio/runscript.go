package main

import (
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/unit"
)

func runScriptCommand() *cli.Command {
	return &cli.Command{
		Name:      "run-script",
		Usage:     "run a Starlark dosing automation on this unit",
		ArgsUsage: "FILE.star [--<setting> VALUE]...",
		Description: "Runs the script's execute() on its schedule as this unit's dosing_automation job,\n" +
			"until Ctrl-C, SIGTERM, `pio kill dosing_automation`, or $state/set = disconnected.\n" +
			"FILE may also name an automation of pio's library (e.g. silent).\n" +
			"Every setting in the script's settings dict can be given as --<setting> VALUE.\n" +
			"If no MQTT broker answers at the configured address, an embedded one is started there.\n" +
			"Global flags (--broker, --unit, --experiment, --config, --home) may follow the file.",
		SkipFlagParsing: true,
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "current-volume-ml", Usage: "start the liquid model at this volume", DefaultText: "stored, else [bioreactor] initial_volume_ml"},
			&cli.Float64Flag{Name: "alt-media-fraction", Usage: "start the liquid model at this alt-media fraction", DefaultText: "stored, else [bioreactor] initial_alt_media_fraction"},
			&cli.Float64Flag{Name: "efflux-tube-volume-ml", Usage: "set the efflux tube volume", DefaultText: "stored, else [bioreactor] efflux_tube_volume_ml"},
		},
		Action: func(c *cli.Context) error {
			if wantsHelp(c.Args().Slice()) {
				return cli.ShowSubcommandHelp(c)
			}
			p, err := parseScriptArgs(c.Args().Slice(), liquidFlagNames, nil)
			if err != nil {
				return err
			}
			so := unit.ScriptOptions{Path: p.file, Overrides: p.settings}
			if err := readLiquidFlags(p, &so); err != nil {
				return err
			}
			uo := unitOptions(c, p.flags)
			// The script is checked before the broker and the monitor start.
			if so.Program, err = unit.CheckScript(uo, p.file); err != nil {
				return err
			}
			m, err := unit.Open(uo)
			if err != nil {
				return err
			}
			defer m.Close()
			ctx := c.Context
			return m.RunScript(ctx, so)
		},
	}
}

// liquidFlagNames are the flags that start a dosing automation's liquid
// model at given values.
var liquidFlagNames = map[string]bool{"current-volume-ml": true, "alt-media-fraction": true, "efflux-tube-volume-ml": true}

// readLiquidFlags sets so's starting liquid values from the flags given.
func readLiquidFlags(p parsed, so *unit.ScriptOptions) error {
	for flag, dst := range map[string]**float64{"current-volume-ml": &so.CurrentVolumeML,
		"alt-media-fraction": &so.AltMediaFraction, "efflux-tube-volume-ml": &so.EffluxTubeVolumeML} {
		if v, ok := p.flags[flag]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return cli.Exit("--"+flag+": want a number, got "+strconv.Quote(v), 2)
			}
			*dst = &f
		}
	}
	return nil
}
