package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leaderclient"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "the leader's audit trail: who started, stopped or changed what, on which unit, when",
		Description: "--since and --until take a time (2026-07-01T12:00:00Z, 2026-07-01) or a duration\n" +
			"before now (2h, 30m).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "unit", Usage: "only this unit"},
			&cli.StringFlag{Name: "experiment", Usage: "only this experiment"},
			&cli.StringFlag{Name: "since", Usage: "from this time on"},
			&cli.StringFlag{Name: "until", Usage: "up to this time"},
		}, leaderFlags()...),
		Action: withLeader(func(c *cli.Context, lc *leaderclient.Client) error {
			if err := needArgs(c, 0, false, "pio audit [--unit U] [--experiment E] [--since T] [--until T]"); err != nil {
				return err
			}
			f := leaderclient.AuditFilter{Unit: c.String("unit"), Experiment: c.String("experiment")}
			var err error
			now := time.Now()
			if f.Since, err = parseWhen("--since", c.String("since"), now); err != nil {
				return err
			}
			if f.Until, err = parseWhen("--until", c.String("until"), now); err != nil {
				return err
			}
			rows, err := lc.Audit(c.Context, f)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				fmt.Fprintln(c.App.Writer, "no audit entries match")
				return nil
			}
			return printTable(c.App.Writer, rows)
		}),
	}
}

// parseWhen reads a time flag: RFC 3339, a date, or a duration before now.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, &exitError{code: 2, msg: fmt.Sprintf("pio audit: %s %q: want a time (2026-07-01T12:00:00Z), a date (2026-07-01) or a duration before now (2h)", flag, s)}
}

// auditColumns are the columns shown first, in this order, when present;
// other columns follow, sorted.
var auditColumns = []string{"timestamp", "credential", "action", "pioreactor_unit", "experiment", "job_name", "detail", "sha256"}

// printTable writes rows of the leader's columns as a table.
func printTable(w io.Writer, rows []map[string]any) error {
	present := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			present[k] = true
		}
	}
	var cols []string
	for _, k := range auditColumns {
		if present[k] {
			cols = append(cols, k)
			delete(present, k)
		}
	}
	cols = append(cols, slices.Sorted(maps.Keys(present))...)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := make([]string, len(cols))
	for i, k := range cols {
		head[i] = strings.ToUpper(k)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, k := range cols {
			cells[i] = cell(r[k])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cell is a value on one line of a table.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.Join(strings.Fields(v), " ")
	case float64:
		return fmt.Sprint(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
