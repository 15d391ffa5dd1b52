package main

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/unit"
)

// automationCommand is `pio run <family>_automation --automation-name NAME
// [--<setting> VALUE]...`: it runs the automation NAME of pio's library
// (stdlib/<family>/NAME.star) exactly as `pio run-script` runs a copy of it.
func automationCommand(family, job, example string) *cli.Command {
	return &cli.Command{
		Name:      job,
		Usage:     fmt.Sprintf("run one of pio's %s automations (stdlib/%s/) as %s", family, family, job),
		ArgsUsage: "--automation-name NAME [--<setting> VALUE]...",
		Description: fmt.Sprintf("Runs the %s automation NAME that ships with pio, as upstream's\n"+
			"`pio run %s --automation-name NAME` does; its settings are given as --<setting> VALUE\n"+
			"(dashes become underscores). The automation is a Starlark script: copy it from stdlib/%s/,\n"+
			"change it, and run the copy with `pio run-script FILE.star`; the two behave the same.\n"+
			"Example:\n    pio run %s %s", family, job, family, job, example),
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if wantsHelp(args) {
				return cli.ShowSubcommandHelp(c)
			}
			name, rest, err := automationName(args)
			if err != nil {
				return err
			}
			known := map[string]bool{}
			if family == "dosing" {
				known = liquidFlagNames
			}
			p, err := parseScriptArgs(append([]string{name}, rest...), known, nil)
			if err != nil {
				return err
			}
			so := unit.ScriptOptions{Path: name, Overrides: p.settings}
			if err := readLiquidFlags(p, &so); err != nil {
				return err
			}
			uo := unitOptions(c, p.flags)
			// The automation is loaded before the broker and the monitor start.
			if so.Program, err = unit.CheckLibrary(uo, family, name); err != nil {
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
			return m.RunScript(c.Context, so)
		},
	}
}

// automationName takes --automation-name NAME (or =NAME) out of args.
func automationName(args []string) (name string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--automation-name" || a == "-automation-name":
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("--automation-name needs a value")
			}
			name = args[i+1]
			i++
		case strings.HasPrefix(a, "--automation-name="):
			name = strings.TrimPrefix(a, "--automation-name=")
		default:
			rest = append(rest, a)
		}
	}
	if name == "" {
		return "", nil, fmt.Errorf("--automation-name is required (%s)", unit.LibraryNames())
	}
	return name, rest, nil
}

// ledIntensityCommand is `pio run led_intensity --A 10 --B 5`: set LED
// channels at once, as upstream's led_intensity action.
func ledIntensityCommand() *cli.Command {
	flags := []cli.Flag{&cli.StringFlag{Name: "source-of-event", Value: "CLI", Usage: "source_of_event of the led_change_events"}}
	for _, ch := range []string{"A", "B", "C", "D"} {
		flags = append(flags, &cli.Float64Flag{Name: ch, Usage: "intensity of channel " + ch + ", percent (0 to 100)"})
	}
	return &cli.Command{
		Name:  "led_intensity",
		Usage: "set LED channels A to D, in percent",
		Description: "Changes only the channels given; a channel another job holds (od_reading's IR LED during a\n" +
			"reading) is left as it is and the command says so. Publishes leds/intensity and led_change_events.",
		Flags: append(flags, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			changes := map[string]float64{}
			for _, ch := range []string{"A", "B", "C", "D"} {
				if c.IsSet(ch) {
					changes[ch] = c.Float64(ch)
				}
			}
			if len(changes) == 0 {
				return fmt.Errorf("led_intensity: give at least one channel, e.g. --A 10")
			}
			uo := unitOptions(appContext(c), localGlobalFlags(c))
			var env *runtime.Env
			if h := hostOf(c.Context); h != nil { // run by the unit's daemon: its board
				env = h.envFor(cmp.Or(uo.Experiment, h.machine.Env.Experiment)).env
			} else {
				m, err := unit.Open(uo)
				if err != nil {
					return err
				}
				defer m.Close()
				env = m.Env
			}
			var applied bool
			var runErr error
			done := make(chan struct{})
			env.Sched.Go("led_intensity", func() {
				defer close(done)
				applied, runErr = leds.RunAction(c.Context, env, changes, c.String("source-of-event"))
			})
			<-done
			if runErr != nil {
				return runErr
			}
			if !applied {
				return fmt.Errorf("led_intensity: a channel is held by another job; the others were set")
			}
			return nil
		},
	}
}
