package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leaderclient"
)

func experimentsCommand() *cli.Command {
	return &cli.Command{
		Name:  "experiments",
		Usage: "the lab's experiments and which workers are assigned to them (the leader's HTTP API)",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create an experiment",
				ArgsUsage: "NAME",
				Flags:     append([]cli.Flag{&cli.StringFlag{Name: "description", Usage: "what the experiment is about"}}, leaderFlags()...),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 1, false, "pio experiments create NAME [--description TEXT]"); err != nil {
						return err
					}
					if err := lc.CreateExperiment(c.Context, c.Args().First(), c.String("description")); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "created experiment %s\n", c.Args().First())
					return nil
				}),
			},
			{
				Name:  "list",
				Usage: "list the experiments",
				Flags: leaderFlags(),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 0, false, "pio experiments list"); err != nil {
						return err
					}
					es, err := lc.Experiments(c.Context)
					if err != nil {
						return err
					}
					if len(es) == 0 {
						fmt.Fprintln(c.App.Writer, "no experiments yet: create one with pio experiments create NAME")
						return nil
					}
					tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "EXPERIMENT\tCREATED\tWORKERS\tDESCRIPTION")
					for _, e := range es {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", e.Experiment, e.CreatedAt, e.WorkerCount, e.Description)
					}
					return tw.Flush()
				}),
			},
			{
				Name:      "assign",
				Usage:     "assign workers to an experiment (their jobs in another experiment stop)",
				ArgsUsage: "EXPERIMENT UNIT...",
				Flags:     leaderFlags(),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 2, true, "pio experiments assign EXPERIMENT UNIT..."); err != nil {
						return err
					}
					exp := c.Args().First()
					failed := false
					for _, u := range c.Args().Slice()[1:] {
						if err := lc.Assign(c.Context, exp, u); err != nil {
							fmt.Fprintf(c.App.Writer, "%s: failed: %v\n", u, err)
							failed = true
							continue
						}
						fmt.Fprintf(c.App.Writer, "%s: assigned to %s\n", u, exp)
					}
					if failed {
						return &exitError{code: 1}
					}
					return nil
				}),
			},
			{
				Name:      "unassign",
				Usage:     "take workers out of an experiment (their jobs in it stop)",
				ArgsUsage: "EXPERIMENT UNIT...",
				Flags:     leaderFlags(),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 2, true, "pio experiments unassign EXPERIMENT UNIT..."); err != nil {
						return err
					}
					exp := c.Args().First()
					failed := false
					for _, u := range c.Args().Slice()[1:] {
						if err := lc.Unassign(c.Context, exp, u); err != nil {
							fmt.Fprintf(c.App.Writer, "%s: failed: %v\n", u, err)
							failed = true
							continue
						}
						fmt.Fprintf(c.App.Writer, "%s: unassigned from %s\n", u, exp)
					}
					if failed {
						return &exitError{code: 1}
					}
					return nil
				}),
			},
		},
	}
}
