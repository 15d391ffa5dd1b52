package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leaderclient"
	"github.com/piolab/pio/unit"
)

// leaderFlags are the flags of the commands that call the leader's API:
// where the leader is, and --home/--config after the command's name.
func leaderFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "leader", Usage: "the leader's API URL (default: [cluster.topology] leader_address, [ui] port and proto)"},
		&cli.StringFlag{Name: "home", Usage: "as the global --home"},
		&cli.StringFlag{Name: "config", Usage: "as the global --config"},
	}
}

// leaderClient is the client of the leader that the config (and --leader)
// names.
func leaderClient(c *cli.Context) (*leaderclient.Client, error) {
	extra := map[string]string{}
	leader := ""
	for _, l := range c.Lineage() {
		for _, name := range l.LocalFlagNames() {
			switch name {
			case "home", "config":
				if _, ok := extra[name]; !ok {
					extra[name] = l.String(name)
				}
			case "leader":
				if leader == "" {
					leader = l.String(name)
				}
			}
		}
	}
	cfg, err := unit.LoadConfig(unitOptions(appContext(c), extra))
	if err != nil {
		return nil, err
	}
	o, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	return leaderclient.New(leaderclient.ConfigOptions(o.Cluster, leader))
}

// withLeader wraps an action that needs the leader's client.
func withLeader(action func(c *cli.Context, lc *leaderclient.Client) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		lc, err := leaderClient(c)
		if err != nil {
			return err
		}
		return action(c, lc)
	}
}

// needArgs refuses a command line without exactly n arguments (at least n
// when more is set).
func needArgs(c *cli.Context, n int, more bool, usage string) error {
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") {
			return &exitError{code: 2, msg: fmt.Sprintf("%s after the arguments: flags go first (%s)", a, usage)}
		}
	}
	if c.NArg() < n || (!more && c.NArg() > n) {
		return &exitError{code: 2, msg: fmt.Sprintf("usage: %s (got %d arguments)", usage, c.NArg())}
	}
	return nil
}

func workersCommand() *cli.Command {
	return &cli.Command{
		Name:  "workers",
		Usage: "the lab's workers, as the leader knows them (its HTTP API)",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a worker to the leader's inventory, active",
				ArgsUsage: "NAME",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "model-name", Value: "pioreactor_20ml", Usage: "the worker's model"},
					&cli.StringFlag{Name: "model-version", Value: "1.5", Usage: "the model's version"},
				}, leaderFlags()...),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 1, false, "pio workers add NAME [--model-name M --model-version V]"); err != nil {
						return err
					}
					name := c.Args().First()
					if err := lc.AddWorker(c.Context, name, c.String("model-name"), c.String("model-version")); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "added %s (%s %s), active\n", name, c.String("model-name"), c.String("model-version"))
					return nil
				}),
			},
			{
				Name:      "remove",
				Usage:     "remove a worker (the leader stops its jobs)",
				ArgsUsage: "NAME",
				Flags:     leaderFlags(),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 1, false, "pio workers remove NAME"); err != nil {
						return err
					}
					if err := lc.RemoveWorker(c.Context, c.Args().First()); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "removed %s\n", c.Args().First())
					return nil
				}),
			},
			{
				Name:      "update-active",
				Usage:     "mark a worker active (1) or inactive (0: the leader stops its jobs)",
				ArgsUsage: "NAME 0|1",
				Flags:     leaderFlags(),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 2, false, "pio workers update-active NAME 0|1"); err != nil {
						return err
					}
					v := c.Args().Get(1)
					if v != "0" && v != "1" {
						return &exitError{code: 2, msg: fmt.Sprintf("pio workers update-active: want 0 or 1, got %q", v)}
					}
					if err := lc.SetActive(c.Context, c.Args().First(), v == "1"); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "%s is %s\n", c.Args().First(), map[string]string{"0": "inactive", "1": "active"}[v])
					return nil
				}),
			},
			{
				Name:  "list",
				Usage: "list the workers",
				Flags: leaderFlags(),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 0, false, "pio workers list"); err != nil {
						return err
					}
					ws, err := lc.Workers(c.Context)
					if err != nil {
						return err
					}
					if len(ws) == 0 {
						fmt.Fprintln(c.App.Writer, "no workers yet: add one with pio workers add NAME")
						return nil
					}
					tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "UNIT\tACTIVE\tMODEL\tADDED")
					for _, w := range ws {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.Unit, yesNo(bool(w.IsActive)), strings.TrimSpace(w.ModelName+" "+w.ModelVersion), w.AddedAt)
					}
					return tw.Flush()
				}),
			},
			{
				Name:  "status",
				Usage: "each worker: active or not, its experiment, and the jobs its daemon runs",
				Flags: leaderFlags(),
				Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
					if err := needArgs(c, 0, false, "pio workers status"); err != nil {
						return err
					}
					return printStatus(c.Context, c.App.Writer, lc)
				}),
			},
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printStatus writes one line per worker: active or not, its experiment,
// and its running jobs, or why they could not be read. It fails only when
// the leader cannot list its workers.
func printStatus(ctx context.Context, out io.Writer, lc *leaderclient.Client) error {
	st, err := lc.Status(ctx)
	if err != nil {
		return err
	}
	if len(st) == 0 {
		fmt.Fprintln(out, "no workers yet: add one with pio workers add NAME")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tACTIVE\tEXPERIMENT\tJOBS")
	for _, w := range st {
		e := w.Experiment
		if e == "" {
			e = "(unassigned)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.Unit, yesNo(bool(w.IsActive)), e, w.JobsLine())
	}
	return tw.Flush()
}
