package leaderclient

import (
	"context"
	"strings"
	"sync"
)

// WorkerStatus is a worker, its experiment and the jobs its daemon runs.
type WorkerStatus struct {
	Worker
	Experiment string       // "" when unassigned
	Jobs       []RunningJob // when Err is nil
	Err        error        // why the jobs could not be read (an unreachable unit)
}

// JobsLine is the worker's jobs on one line: "stirring (ready), od_reading
// (ready)", "no jobs", or why they could not be read.
func (w WorkerStatus) JobsLine() string {
	if w.Err != nil {
		return "unreachable: " + w.Err.Error()
	}
	if len(w.Jobs) == 0 {
		return "no jobs"
	}
	var parts []string
	for _, j := range w.Jobs {
		p := j.Job
		if j.State != "" {
			p += " (" + j.State + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// Status reads every worker, its assignment and its running jobs (the units
// asked at the same time). It fails only when the leader cannot list its
// workers or assignments; a unit that does not answer has its Err set.
func (c *Client) Status(ctx context.Context) ([]WorkerStatus, error) {
	ws, err := c.Workers(ctx)
	if err != nil {
		return nil, err
	}
	as, err := c.Assignments(ctx)
	if err != nil {
		return nil, err
	}
	exp := map[string]string{}
	for _, a := range as {
		exp[a.Unit] = a.Experiment
	}
	out := make([]WorkerStatus, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		out[i] = WorkerStatus{Worker: w, Experiment: exp[w.Unit]}
		wg.Go(func() {
			out[i].Jobs, out[i].Err = c.RunningJobs(ctx, w.Unit)
		})
	}
	wg.Wait()
	return out, nil
}
