package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/simulate"
	"github.com/piolab/pio/unit"
)

func simulateCommand() *cli.Command {
	return &cli.Command{
		Name:      "simulate",
		Usage:     "dry-run a script on a simulated reactor in virtual time",
		ArgsUsage: "FILE.star|NAME [--for 24h] [--seed 1] [--plot run.png] [--csv run.csv] [--record events.jsonl] [--quiet | --verbose] [--<setting> VALUE]...",
		Description: "Runs the same runtime as run-script on a simulated unit, with a virtual clock and an\n" +
			"in-process broker, as fast as the CPU allows. The same seed gives the same output.\n" +
			"NAME is an automation that ships with pio (turbidostat, chemostat, thermostat, ...).\n" +
			"\n" +
			"The unit runs as a Pioreactor does for a culture: stirring, od_reading,\n" +
			"growth_rate_calculating and a temperature automation (only_record_temperature, or the\n" +
			"thermostat with --target-temperature) run beside the script, on the simulated reactor\n" +
			"(docs/simulation.md); --alone runs the script with the monitor only.\n" +
			"\n" +
			"--plot FILE.png (or .svg) draws OD, normalized OD, growth rate, volume, alt-media fraction,\n" +
			"temperature and every dose against time in one figure; --csv FILE writes the same series as\n" +
			"a table (docs/simulate-plot.md).\n" +
			"\n" +
			"As it runs, it prints the unit's log lines to stderr with their virtual time since the\n" +
			"start: the script's log.info(...) lines, its events, its pumps, and every warning and error:\n" +
			"    2h05m00s  INFO     dosing_automation: added 1.0 mL\n" +
			"--verbose adds the debug lines; --quiet prints no log lines and no summary.\n" +
			"\n" +
			"The summary, on stdout, counts the execute_io_action calls (started, completed, failed),\n" +
			"every pump run by action with the volume booked on dosing_events and the volume the\n" +
			"simulated pump truly moved, the time the automation spent in each state (ready,\n" +
			"sleeping, ...), and why the liquid model and the simulated vial differ.\n" +
			"\n" +
			"The exit status is 1 when the script failed at least once (each failed execute() or\n" +
			"handler run counts), with one line saying how often and the first error, also with --quiet:\n" +
			"a lab can run pio simulate in its own CI.\n" +
			"\n" +
			"--record writes every MQTT message the unit published as one JSON line:\n" +
			`{"t": <seconds since start>, "topic": "...", "payload": "...", "retained": true|false}`,
		SkipFlagParsing: true,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "for", Value: 24 * time.Hour, Usage: "simulated time to run (Go duration: 90m, 24h, 72h)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "random seed of the simulated reactor"},
			&cli.StringFlag{Name: "record", Usage: "write every published MQTT message to this file (JSON lines)"},
			&cli.StringFlag{Name: "plot", Usage: "draw the run in one figure, FILE.png or FILE.svg"},
			&cli.StringFlag{Name: "csv", Usage: "write the run's time series as a table"},
			&cli.Float64Flag{Name: "target-temperature", Usage: "hold the vial at this temperature (°C) with the thermostat", DefaultText: "only record the temperature"},
			&cli.BoolFlag{Name: "alone", Usage: "run the script with the monitor only, without the unit's other jobs"},
			&cli.BoolFlag{Name: "quiet", Usage: "print no log lines and no summary (a failing script still exits 1 with one line)"},
			&cli.BoolFlag{Name: "verbose", Usage: "print debug log lines too (also a global flag)"},
		},
		Action: func(c *cli.Context) error {
			if wantsHelp(c.Args().Slice()) {
				return cli.ShowSubcommandHelp(c)
			}
			p, err := parseScriptArgs(c.Args().Slice(), map[string]bool{"for": true, "seed": true, "record": true, "plot": true, "csv": true, "target-temperature": true},
				map[string]bool{"quiet": true, "verbose": true, "alone": true})
			if err != nil {
				return err
			}
			quiet, err := boolFlag(p.flags, "quiet", false)
			if err != nil {
				return err
			}
			verbose, err := boolFlag(p.flags, "verbose", globalBool(c, "verbose"))
			if err != nil {
				return err
			}
			if quiet && verbose {
				return fmt.Errorf("--quiet and --verbose: choose one (--quiet prints nothing but a failure, --verbose adds debug lines)")
			}
			o := simulate.Options{Script: p.file, For: 24 * time.Hour, Seed: 1, Overrides: p.settings}
			if v, ok := p.flags["for"]; ok {
				if o.For, err = time.ParseDuration(v); err != nil || o.For <= 0 {
					return fmt.Errorf("--for: want a positive duration such as 90m or 24h, got %q", v)
				}
			}
			if v, ok := p.flags["seed"]; ok {
				if o.Seed, err = strconv.ParseInt(v, 10, 64); err != nil {
					return fmt.Errorf("--seed: want an integer, got %q", v)
				}
			}
			if v, ok := p.flags["target-temperature"]; ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return fmt.Errorf("--target-temperature: want a temperature in °C, got %q", v)
				}
				o.TargetTemperature = &f
			}
			if o.Alone, err = boolFlag(p.flags, "alone", false); err != nil {
				return err
			}
			plot, table := p.flags["plot"], p.flags["csv"]
			if plot != "" {
				if err := checkPlotFile(plot); err != nil {
					return err
				}
			}
			o.Series = plot != "" || table != ""
			uo := unitOptions(c, p.flags)
			if o.Config, err = unit.LoadConfig(uo); err != nil {
				return err
			}
			o.Unit, o.Experiment = uo.Unit, uo.Experiment
			// A name is found as run-script finds it: a file, an installed
			// script, then pio's own library.
			if o.Script, err = resolveScript(uo, o.Script); err != nil {
				return err
			}
			if path, ok := p.flags["record"]; ok {
				f, err := os.Create(path)
				if err != nil {
					return err
				}
				defer f.Close()
				w := bufio.NewWriterSize(f, 1<<16)
				defer w.Flush()
				o.Record = w
			}
			if !quiet {
				// Log lines go to stderr, line by line, beside the progress
				// line; the summary goes to stdout.
				o.Log = c.App.ErrWriter
				if verbose {
					o.LogLevel = slog.LevelDebug
				}
				if f, ok := c.App.ErrWriter.(*os.File); ok && isTerminal(f) {
					o.Progress = f
				}
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt)
			defer stop()
			sum, err := simulate.Run(ctx, o)
			if sum != nil && !quiet {
				sum.Print(c.App.Writer)
			}
			if sum != nil && sum.Series != nil {
				if werr := writeSeries(sum.Series, plot, table); werr != nil && err == nil {
					err = werr
				} else if werr == nil && !quiet {
					for _, f := range []string{plot, table} {
						if f != "" {
							fmt.Fprintf(c.App.Writer, "wrote %s\n", f)
						}
					}
				}
			}
			if err == nil && sum != nil {
				err = sum.Err()
			}
			return err
		},
	}
}

// boolFlag reads a boolean flag given after the file (--quiet, --quiet=false).
func boolFlag(flags map[string]string, name string, def bool) (bool, error) {
	v, ok := flags[name]
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("--%s: want true or false, got %q", name, v)
	}
	return b, nil
}

// globalBool is a global boolean flag given before the command (pio --verbose
// simulate ...). The command's own flag of the same name, listed for its
// help, is never parsed (SkipFlagParsing) and would hide it from c.Bool.
func globalBool(c *cli.Context, name string) bool {
	for _, parent := range c.Lineage()[1:] {
		if parent.Bool(name) {
			return true
		}
	}
	return false
}

// checkPlotFile refuses, before the run, a plot file pio cannot draw.
func checkPlotFile(path string) error {
	if !simulate.Plotting {
		return (&simulate.Series{}).Plot(path) // says why and what to do instead
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".svg":
		return nil
	}
	return fmt.Errorf("--plot %s: pio draws .png and .svg files", path)
}

// writeSeries writes the run's plot and table, where asked.
func writeSeries(s *simulate.Series, plot, table string) error {
	if plot != "" {
		if err := s.Plot(plot); err != nil {
			return err
		}
	}
	if table != "" {
		f, err := os.Create(table)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		if err := s.WriteCSV(w); err != nil {
			f.Close()
			return err
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}
