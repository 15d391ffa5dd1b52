package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/simulate"
	"github.com/piolab/pio/unit"
)

func simulateCommand() *cli.Command {
	return &cli.Command{
		Name:      "simulate",
		Usage:     "dry-run a script on a simulated reactor in virtual time",
		ArgsUsage: "FILE.star [--for 24h] [--seed 1] [--record events.jsonl] [--<setting> VALUE]...",
		Description: "Runs the same runtime as run-script on a simulated unit, with a virtual clock and an\n" +
			"in-process broker, as fast as the CPU allows. The same seed gives the same output.\n" +
			"--record writes every MQTT message the unit published as one JSON line:\n" +
			`{"t": <seconds since start>, "topic": "...", "payload": "...", "retained": true|false}`,
		SkipFlagParsing: true,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "for", Value: 24 * time.Hour, Usage: "simulated time to run (Go duration: 90m, 24h, 72h)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "random seed of the simulated reactor"},
			&cli.StringFlag{Name: "record", Usage: "write every published MQTT message to this file (JSON lines)"},
			&cli.BoolFlag{Name: "quiet", Usage: "print no summary"},
		},
		Action: func(c *cli.Context) error {
			if wantsHelp(c.Args().Slice()) {
				return cli.ShowSubcommandHelp(c)
			}
			p, err := parseScriptArgs(c.Args().Slice(), map[string]bool{"for": true, "seed": true, "record": true}, map[string]bool{"quiet": true})
			if err != nil {
				return err
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
			uo := unitOptions(c, p.flags)
			if o.Config, err = unit.LoadConfig(uo); err != nil {
				return err
			}
			o.Unit, o.Experiment = uo.Unit, uo.Experiment
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
			if f, ok := c.App.ErrWriter.(*os.File); ok && isTerminal(f) {
				o.Progress = f
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			sum, err := simulate.Run(ctx, o)
			if sum != nil && p.flags["quiet"] != "true" {
				sum.Print(c.App.Writer)
			}
			return err
		},
	}
}
