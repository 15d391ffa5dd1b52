package simulate

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// printReadings writes, for each reading the unit published, its first and
// last values and its range with when each extreme was reached: enough to
// judge a run without opening the record.
func (s *Summary) printReadings(w io.Writer) {
	var rows []Range
	for _, r := range s.Readings {
		if r.N > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "readings: none published")
		return
	}
	fmt.Fprintln(w, "readings (first → last; lowest and highest, with when):")
	width := 0
	for _, r := range rows {
		width = max(width, len(r.label()))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s → %s;  low %s at %s, high %s at %s  (%d %s)\n", width, r.label(),
			num(r.First), num(r.Last), num(r.Min), at(r.MinAt), num(r.Max), at(r.MaxAt), r.N, plural(r.N, "reading", "readings"))
	}
}

func (r Range) label() string {
	if r.Unit == "" {
		return r.Name
	}
	return r.Name + " (" + r.Unit + ")"
}

// num prints a reading with 4 significant digits.
func num(v float64) string { return fmt.Sprintf("%.4g", v) }

func at(d time.Duration) string { return strings.TrimSpace(Elapsed(d)) }

// printJobs writes the time every job other than the automation spent in
// each state.
func (s *Summary) printJobs(w io.Writer, automationJob string) {
	header := false
	for _, j := range s.Jobs {
		if j.Job == automationJob || pumpAction(j.Job) {
			continue // pump runs have their own lines
		}
		if !header {
			fmt.Fprintln(w, "the unit's other jobs, time in each state:")
			header = true
		}
		parts := stateParts(j.States)
		if len(parts) == 0 {
			parts = append(parts, j.Final)
		}
		fmt.Fprintf(w, "  %s: %s; final state: %s\n", j.Job, strings.Join(parts, ", "), j.Final)
	}
}

// pumpAction reports whether a job is a pump action (add_media,
// remove_waste, pump_<device>, ...), a job that lives for one dose.
func pumpAction(job string) bool {
	return strings.HasPrefix(job, "add_") || strings.HasPrefix(job, "remove_") || strings.HasPrefix(job, "pump_") || strings.HasPrefix(job, "circulate_")
}
