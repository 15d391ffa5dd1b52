package leaderclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"
)

// Broadcast as a unit means every active worker (assigned to the
// experiment, when it is a real one).
const Broadcast = "$broadcast"

// Universal is the experiment of unassigned and long-running jobs.
const Universal = "$experiment"

// Flag is upstream's 0/1 (or a JSON bool).
type Flag bool

// UnmarshalJSON takes true, false, 0, 1, "0" or "1".
func (f *Flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true", "1", `"1"`, `"true"`:
		*f = true
	case "false", "0", `"0"`, `"false"`, "null":
		*f = false
	default:
		return fmt.Errorf("want 0, 1, true or false, got %s", b)
	}
	return nil
}

// Worker is a row of the leader's inventory.
type Worker struct {
	Unit         string `json:"pioreactor_unit"`
	AddedAt      string `json:"added_at,omitempty"`
	IsActive     Flag   `json:"is_active"`
	ModelName    string `json:"model_name,omitempty"`
	ModelVersion string `json:"model_version,omitempty"`
	IPv4Address  string `json:"ipv4_address,omitempty"`
}

// Workers lists the leader's workers: GET /api/workers.
func (c *Client) Workers(ctx context.Context) ([]Worker, error) {
	var ws []Worker
	_, err := c.call(ctx, "GET", "/api/workers", nil, &ws)
	return ws, err
}

// Worker is one worker: GET /api/workers/<unit>.
func (c *Client) Worker(ctx context.Context, unit string) (Worker, error) {
	var w Worker
	_, err := c.call(ctx, "GET", "/api/workers/"+esc(unit), nil, &w)
	return w, err
}

// AddWorker adds (or replaces) a worker, marked active: PUT /api/workers.
func (c *Client) AddWorker(ctx context.Context, unit, modelName, modelVersion string) error {
	_, err := c.call(ctx, "PUT", "/api/workers", map[string]string{
		"pioreactor_unit": unit, "model_name": modelName, "model_version": modelVersion}, nil)
	return err
}

// RemoveWorker removes a worker (its jobs stop): DELETE /api/workers/<unit>.
func (c *Client) RemoveWorker(ctx context.Context, unit string) error {
	_, err := c.call(ctx, "DELETE", "/api/workers/"+esc(unit), nil, nil)
	return err
}

// SetActive marks a worker active or not (inactive: its jobs stop):
// PUT /api/workers/<unit>/is_active.
func (c *Client) SetActive(ctx context.Context, unit string, active bool) error {
	v := 0
	if active {
		v = 1
	}
	_, err := c.call(ctx, "PUT", "/api/workers/"+esc(unit)+"/is_active", map[string]int{"is_active": v}, nil)
	return err
}

// Experiment is a row of GET /api/experiments.
type Experiment struct {
	Experiment  string   `json:"experiment"`
	CreatedAt   string   `json:"created_at,omitempty"`
	Description string   `json:"description,omitempty"`
	DeltaHours  float64  `json:"delta_hours,omitempty"`
	WorkerCount int      `json:"worker_count,omitempty"`
	Tags        []string `json:"tags,omitempty"`
}

// Experiments lists the experiments: GET /api/experiments.
func (c *Client) Experiments(ctx context.Context) ([]Experiment, error) {
	var es []Experiment
	_, err := c.call(ctx, "GET", "/api/experiments", nil, &es)
	return es, err
}

// CreateExperiment creates one: POST /api/experiments.
func (c *Client) CreateExperiment(ctx context.Context, name, description string) error {
	_, err := c.call(ctx, "POST", "/api/experiments", map[string]string{"experiment": name, "description": description}, nil)
	return err
}

// ExperimentWorkers lists the workers assigned to exp:
// GET /api/experiments/<exp>/workers.
func (c *Client) ExperimentWorkers(ctx context.Context, exp string) ([]Worker, error) {
	var ws []Worker
	_, err := c.call(ctx, "GET", "/api/experiments/"+esc(exp)+"/workers", nil, &ws)
	return ws, err
}

// Assign assigns unit to exp (its jobs in another experiment stop):
// PUT /api/experiments/<exp>/workers.
func (c *Client) Assign(ctx context.Context, exp, unit string) error {
	_, err := c.call(ctx, "PUT", "/api/experiments/"+esc(exp)+"/workers", map[string]string{"pioreactor_unit": unit}, nil)
	return err
}

// Unassign takes unit out of exp (its jobs there stop):
// DELETE /api/experiments/<exp>/workers/<unit>.
func (c *Client) Unassign(ctx context.Context, exp, unit string) error {
	_, err := c.call(ctx, "DELETE", "/api/experiments/"+esc(exp)+"/workers/"+esc(unit), nil, nil)
	return err
}

// Assignment is a worker and its experiment.
type Assignment struct {
	Unit       string `json:"pioreactor_unit"`
	Experiment string `json:"experiment"`
	IsActive   *Flag  `json:"is_active,omitempty"`
}

// Assignments lists every worker's assignment: GET /api/workers/assignments.
// An unassigned worker may be listed with an empty experiment or not at all.
func (c *Client) Assignments(ctx context.Context) ([]Assignment, error) {
	var as []Assignment
	_, err := c.call(ctx, "GET", "/api/workers/assignments", nil, &as)
	return as, err
}

// Job is the body of a start: options are rendered on the unit as
// --<name> value (underscores become dashes; a nil value is a bare flag).
type Job struct {
	Options         map[string]any    `json:"options"`
	Args            []string          `json:"args"`
	Env             map[string]string `json:"env"`
	ConfigOverrides [][]string        `json:"config_overrides"`
}

// RunJob starts job on unit (or Broadcast) under exp and returns what each
// unit did: POST /api/workers/<unit>/jobs/run/job_name/<job>/experiments/<exp>.
func (c *Client) RunJob(ctx context.Context, unit, exp, job string, j Job) ([]Result, error) {
	if j.Options == nil {
		j.Options = map[string]any{}
	}
	if j.Args == nil {
		j.Args = []string{}
	}
	if j.Env == nil {
		j.Env = map[string]string{}
	}
	if j.ConfigOverrides == nil {
		j.ConfigOverrides = [][]string{}
	}
	return c.fanOut(ctx, "POST", "/api/workers/"+esc(unit)+"/jobs/run/job_name/"+esc(job)+"/experiments/"+esc(exp), j)
}

// Script is a script that travels to the units with its content and the
// content of the local modules it loads (by path relative to its folder).
type Script struct {
	Name    string            `json:"name"`
	Content string            `json:"content"`
	Modules map[string]string `json:"modules,omitempty"`
}

// RunScript runs a script on unit (or Broadcast) under exp with settings
// options: POST /api/workers/<unit>/scripts/run/experiments/<exp>.
func (c *Client) RunScript(ctx context.Context, unit, exp string, s Script, options map[string]any) ([]Result, error) {
	if options == nil {
		options = map[string]any{}
	}
	body := map[string]any{"script": s, "options": options}
	return c.fanOut(ctx, "POST", "/api/workers/"+esc(unit)+"/scripts/run/experiments/"+esc(exp), body)
}

// UpdateJob changes settings of job on unit (or Broadcast) under exp:
// PATCH /api/workers/<unit>/jobs/update/job_name/<job>/experiments/<exp>.
func (c *Client) UpdateJob(ctx context.Context, unit, exp, job string, settings map[string]any) ([]Result, error) {
	return c.fanOut(ctx, "PATCH", "/api/workers/"+esc(unit)+"/jobs/update/job_name/"+esc(job)+"/experiments/"+esc(exp), map[string]any{"settings": settings})
}

// StopJob stops job on unit (or Broadcast) under exp:
// POST /api/workers/<unit>/jobs/stop/job_name/<job>/experiments/<exp>.
func (c *Client) StopJob(ctx context.Context, unit, exp, job string) ([]Result, error) {
	return c.fanOut(ctx, "POST", "/api/workers/"+esc(unit)+"/jobs/stop/job_name/"+esc(job)+"/experiments/"+esc(exp), map[string]any{})
}

// StopAll stops every job of exp on unit (or Broadcast):
// POST /api/workers/<unit>/jobs/stop/experiments/<exp>.
func (c *Client) StopAll(ctx context.Context, unit, exp string) ([]Result, error) {
	return c.fanOut(ctx, "POST", "/api/workers/"+esc(unit)+"/jobs/stop/experiments/"+esc(exp), map[string]any{})
}

// RunningJob is a job running on a unit.
type RunningJob struct {
	Job        string `json:"job"`
	Experiment string `json:"experiment"`
	State      string `json:"state,omitempty"`
	StartedAt  string `json:"started_at,omitempty"`
	Script     string `json:"script,omitempty"`
}

// UnmarshalJSON also takes upstream's job_name.
func (j *RunningJob) UnmarshalJSON(b []byte) error {
	var w struct {
		Job        string `json:"job"`
		JobName    string `json:"job_name"`
		Experiment string `json:"experiment"`
		State      string `json:"state"`
		StartedAt  any    `json:"started_at"`
		Script     string `json:"script"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*j = RunningJob{Job: w.Job, Experiment: w.Experiment, State: w.State, Script: w.Script}
	if j.Job == "" {
		j.Job = w.JobName
	}
	if w.StartedAt != nil {
		j.StartedAt = fmt.Sprint(w.StartedAt)
	}
	return nil
}

// RunningJobs lists the jobs running on unit: GET /api/units/<unit>/jobs/running.
// The reply is the list, or a one-unit envelope (possibly through a task)
// whose failure (an unreachable unit) is returned as a *UnitError.
func (c *Client) RunningJobs(ctx context.Context, unit string) ([]RunningJob, error) {
	p := "/api/units/" + esc(unit) + "/jobs/running"
	var raw json.RawMessage
	status, err := c.call(ctx, "GET", p, nil, &raw)
	if err != nil {
		return nil, err
	}
	var a accepted
	if status == 202 && json.Unmarshal(raw, &a) == nil {
		if raw, err = c.Wait(ctx, a.TaskID, a.ResultURLPath); err != nil {
			return nil, err
		}
	}
	var jobs []RunningJob
	if err := json.Unmarshal(raw, &jobs); err == nil {
		return jobs, nil
	}
	rs, err := DecodeEnvelope(raw)
	if err != nil {
		return nil, c.unreadable("GET", p, status, fmt.Errorf("want a list of jobs or a per-unit result: %w", err))
	}
	for _, r := range rs {
		if r.Unit != unit {
			continue
		}
		if !r.OK {
			return nil, r.Error
		}
		if len(r.Value) == 0 || string(r.Value) == "null" {
			return nil, nil
		}
		if err := json.Unmarshal(r.Value, &jobs); err != nil {
			return nil, c.unreadable("GET", p, status, err)
		}
		return jobs, nil
	}
	return nil, c.unreadable("GET", p, status, fmt.Errorf("no result for unit %s", unit))
}

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	Unit, Experiment string
	Since, Until     time.Time
}

// Audit lists the audit trail: GET /api/audit?unit=&experiment=&since=&until=
// (times RFC 3339, UTC). Each entry is an object of the leader's columns.
func (c *Client) Audit(ctx context.Context, f AuditFilter) ([]map[string]any, error) {
	q := url.Values{}
	if f.Unit != "" {
		q.Set("unit", f.Unit)
	}
	if f.Experiment != "" {
		q.Set("experiment", f.Experiment)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	p := "/api/audit"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var raw json.RawMessage
	status, err := c.call(ctx, "GET", p, nil, &raw)
	if err != nil {
		return nil, err
	}
	var rows []map[string]any
	if err := json.Unmarshal(raw, &rows); err == nil {
		return rows, nil
	}
	// Also {"entries": [...]} or any object with one list of rows.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err == nil {
		for _, v := range obj {
			if json.Unmarshal(v, &rows) == nil && rows != nil {
				return rows, nil
			}
		}
	}
	return nil, c.unreadable("GET", p, status, fmt.Errorf("want a list of audit entries"))
}
