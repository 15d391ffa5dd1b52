package selftest

import (
	"fmt"
	"strings"
)

// Line is the result as one line of text: PASS or FAIL, the check's name
// and what it measured (or why it failed).
func (r Result) Line() string {
	status := "FAIL"
	if r.Passed {
		status = "PASS"
	}
	return fmt.Sprintf("%s  %-20s  %s", status, r.Name, r.Message)
}

// Summary is one line on the whole report.
func (r Report) Summary() string {
	n := len(r.Results)
	if r.Passed {
		return fmt.Sprintf("all %d checks passed on %s", n, r.Board)
	}
	var failed []string
	for _, res := range r.Results {
		if !res.Passed {
			failed = append(failed, res.Name)
		}
	}
	return fmt.Sprintf("%d of %d checks failed on %s: %s", len(failed), n, r.Board, strings.Join(failed, ", "))
}
