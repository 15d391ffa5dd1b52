package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leaderclient"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "an experiment's data as CSV, one file per dataset, from the leader's database",
		Description: "Writes <output>/<experiment>_<dataset>.csv for each dataset (default: every dataset the\n" +
			"leader exports, see GET /api/datasets/exportable). --output - writes one dataset to stdout.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "experiment", Usage: "the experiment (required)"},
			&cli.StringSliceFlag{Name: "dataset", Usage: "a dataset, e.g. od_readings (repeatable or comma-separated; default: all)"},
			&cli.StringFlag{Name: "output", Value: ".", Usage: "the folder to write into, or - for stdout"},
		}, leaderFlags()...),
		Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
			if err := needArgs(c, 0, false, "pio export --experiment EXP [--dataset NAME,...] [--output DIR|-]"); err != nil {
				return err
			}
			exp := c.String("experiment")
			if exp == "" {
				return &exitError{code: 2, msg: "pio export: --experiment is required (pio experiments list names them)"}
			}
			var datasets []string
			for _, d := range c.StringSlice("dataset") {
				for _, s := range strings.Split(d, ",") {
					if s = strings.TrimSpace(s); s != "" {
						datasets = append(datasets, s)
					}
				}
			}
			if len(datasets) == 0 {
				ds, err := lc.Datasets(c.Context)
				if err != nil {
					return err
				}
				for _, d := range ds {
					datasets = append(datasets, d.Name)
				}
				if len(datasets) == 0 {
					return fmt.Errorf("the leader at %s lists no exportable datasets", lc.URL())
				}
			}
			out := c.String("output")
			if out == "-" {
				if len(datasets) != 1 {
					return &exitError{code: 2, msg: fmt.Sprintf("pio export: --output - writes one dataset, got %d (%s); name one with --dataset", len(datasets), strings.Join(datasets, ", "))}
				}
				_, err := lc.Export(c.Context, exp, datasets[0], c.App.Writer)
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("pio export: --output %s: %w", out, err)
			}
			for _, d := range datasets {
				if err := exportOne(c, lc, exp, d, out); err != nil {
					return err
				}
			}
			return nil
		}),
	}
}

// exportOne writes one dataset to <dir>/<exp>_<dataset>.csv, through a
// temporary file, so that a failed export leaves no partial CSV.
func exportOne(c *cli.Context, lc *leaderclient.Client, exp, dataset, dir string) error {
	if strings.ContainsAny(dataset, `/\`) || dataset == "." || dataset == ".." {
		return &exitError{code: 2, msg: fmt.Sprintf("pio export: dataset %q is not a name", dataset)}
	}
	name := filepath.Join(dir, safeFileName(exp)+"_"+dataset+".csv")
	f, err := os.CreateTemp(dir, ".export-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	n, err := lc.Export(c.Context, exp, dataset, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("exporting %s of %s: %w", dataset, exp, err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%d bytes)\n", name, n)
	return nil
}

// safeFileName replaces the characters of an experiment's name that a file
// name cannot hold.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}
