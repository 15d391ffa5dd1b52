package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/scriptlib"
	"github.com/piolab/pio/stdlib"
	"github.com/piolab/pio/unit"
)

func runScriptCommand() *cli.Command {
	return &cli.Command{
		Name:      "run-script",
		Usage:     "run a script on this unit: an automation (dosing, temperature, LED) or a custom job",
		ArgsUsage: "FILE.star|NAME [--<setting> VALUE]...",
		Description: "Runs the script as this unit's job of its family, until Ctrl-C, SIGTERM, `pio kill JOB`,\n" +
			"or $state/set = disconnected: a dosing automation (the default) as dosing_automation, one\n" +
			"with automation_type = \"temperature\" or \"led\" as temperature_automation or\n" +
			"led_automation, and a custom job (job_name = \"ph_reading\") as that job.\n" +
			"The script is named by, in this order: an existing file; else the name of a script\n" +
			"installed with `pio scripts install` (pio scripts list); else an automation of pio's\n" +
			"library (e.g. turbidostat, thermostat). An installed script whose files no longer match\n" +
			"their checksums is refused.\n" +
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
			uo := unitOptions(c, p.flags)
			file, err := resolveScript(uo, p.file)
			if err != nil {
				return err
			}
			so := unit.ScriptOptions{Path: file, Overrides: p.settings}
			if err := readLiquidFlags(p, &so); err != nil {
				return err
			}
			// The script is checked before the broker and the monitor start.
			if so.Program, err = unit.CheckScript(uo, file); err != nil {
				return err
			}
			if h := hostOf(c.Context); h != nil { // run by the unit's daemon
				return h.run(c.Context, uo.Experiment, func(env *runtime.Env) (runtime.Runner, error) { return unit.StartScript(env, so) })
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

// resolveScript finds the script run-script names: an existing file, else
// a script installed in the unit's library (refused if its files do not
// match their checksums), else an automation of pio's library, which
// unit.CheckScript loads by its bare name. Only this reads the library.
func resolveScript(uo unit.Options, name string) (string, error) {
	if _, err := os.Stat(name); err == nil || strings.ContainsAny(name, "/.") {
		return name, nil // a file (unit.CheckScript says if it cannot read it)
	}
	lib := scriptlib.Open(unit.Home(uo.Home))
	path, err := lib.Find(name)
	if err == nil {
		return path, nil
	}
	if !errors.Is(err, scriptlib.ErrNotInstalled) {
		return "", err
	}
	for _, fam := range []string{"dosing", "temperature", "led"} {
		if _, _, ok := stdlib.Lookup(fam, name); ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s: no such file, no script of that name is installed (%s), and pio ships no automation of that name (%s)",
		name, installedNames(lib), unit.LibraryNames())
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
