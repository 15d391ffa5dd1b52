package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/selftest"
	"github.com/piolab/pio/unit"
)

func selfTestCommand() *cli.Command {
	var names []string
	for _, c := range selftest.Checks() {
		names = append(names, fmt.Sprintf("  %-20s  %s", c.Name, c.Description))
	}
	return &cli.Command{
		Name:  "self-test",
		Usage: "check the unit's hardware: PWM outputs, pumps, photodiodes, LEDs, stirring, heater",
		Description: "Runs each check and prints one line per check: PASS or FAIL, its name and what it\n" +
			"measured. The exit status is 1 if any check failed.\n" +
			"\n" +
			"On the Pioreactor HAT ([hardware] board) the checks run on the board in real time. On the\n" +
			"simulated reactor they run in virtual time: the same checks, in a fraction of a second, the\n" +
			"same result for a seed; --real-time runs them on the unit as pio run does,\n" +
			"on its board and broker, in real time (up to about two minutes), and publishes each\n" +
			"result, retained, on pioreactor/<unit>/$experiment/self_test/<check> (1 or 0) and\n" +
			"all_tests_passed, where upstream's UI reads self-test results. docs/self-test.md\n" +
			"describes each check.\n" +
			"\n" +
			"The checks:\n" + strings.Join(names, "\n"),
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as one JSON object"},
			&cli.StringSliceFlag{Name: "check", Aliases: []string{"k"}, Usage: "run only this check (repeat for more)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "random seed of the simulated reactor"},
			&cli.BoolFlag{Name: "real-time", Usage: "run on the unit's board and broker in real time"},
		}, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q: name checks with --check", c.Args().First())
			}
			opts := unitOptions(appContext(c), localGlobalFlags(c))
			out := c.App.Writer
			o := selftest.Options{Only: c.StringSlice("check")}
			if !c.Bool("json") {
				o.OnResult = func(r selftest.Result) { fmt.Fprintln(out, r.Line()) }
			}
			var (
				rep selftest.Report
				err error
			)
			onHAT, err := unit.UsesHAT(opts)
			if err != nil {
				return err
			}
			if c.Bool("real-time") || onHAT {
				rep, err = selfTestOnMachine(c.Context, opts, o)
			} else {
				rep, err = selfTestSimulated(c.Context, opts, o, c.Int64("seed"))
			}
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if err := writeSelfTestJSON(out, rep); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(out, rep.Summary())
			}
			if !rep.Passed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
}

// selfTestSimulated runs the checks on the simulated reactor the config
// describes, in virtual time.
func selfTestSimulated(ctx context.Context, opts unit.Options, o selftest.Options, seed int64) (selftest.Report, error) {
	cfg, err := unit.LoadConfig(opts)
	if err != nil {
		return selftest.Report{}, err
	}
	co, err := cfg.Options()
	if err != nil {
		return selftest.Report{}, err
	}
	unitName, _ := unit.Identity(co, opts)
	return selftest.Simulate(ctx, selftest.SimOptions{Options: o, Config: cfg, Seed: seed, Unit: unitName})
}

// selfTestOnMachine runs the checks on the unit's board and broker in real
// time, and halts every output at the end.
func selfTestOnMachine(ctx context.Context, opts unit.Options, o selftest.Options) (selftest.Report, error) {
	m, err := unit.Open(opts)
	if err != nil {
		return selftest.Report{}, err
	}
	defer m.Close()
	defer m.Board.HaltAll()
	if r, ok := m.Board.(*sim.Reactor); ok {
		o.MovedML = func(device string) float64 { return r.State().MovedML[device] }
	}
	return selftest.Run(ctx, m.Env, o)
}

// writeSelfTestJSON writes the report as one indented JSON object.
func writeSelfTestJSON(w io.Writer, rep selftest.Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
