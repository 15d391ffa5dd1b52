package leaderapi

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/piolab/pio/dbstream"
)

// Experiment is an experiment as the API lists it.
type Experiment struct {
	Experiment  string   `json:"experiment"`
	CreatedAt   string   `json:"created_at"`
	Description *string  `json:"description"`
	DeltaHours  float64  `json:"delta_hours"`
	WorkerCount int      `json:"worker_count"`
	Tags        []string `json:"tags"`
}

// CheckExperimentName applies upstream's rules for a new experiment's name.
func CheckExperimentName(name string) error {
	const remedy = "name experiments with under 200 characters, none of #$%+/\\, not \"current\" nor \"_testing...\""
	switch {
	case name == "":
		return errorf(http.StatusBadRequest, remedy, "experiment name is empty")
	case len(name) >= 200:
		return errorf(http.StatusBadRequest, remedy, "experiment name %.40q…: %d characters, want under 200", name, len(name))
	case name == "current":
		return errorf(http.StatusBadRequest, remedy, "experiment name \"current\" is reserved")
	case strings.HasPrefix(name, "_testing"):
		return errorf(http.StatusBadRequest, remedy, "experiment name %q: names starting with _testing are reserved", name)
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(`#$%+/\`, c) {
			return errorf(http.StatusBadRequest, remedy, "experiment name %q: %q is not allowed in one", name, c)
		}
	}
	return nil
}

func (a *API) experimentExists(r *http.Request, exp string) error {
	var n int
	err := a.db.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM experiments WHERE experiment = ?`, exp).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return errorf(http.StatusNotFound, "create it with POST /api/experiments (pio experiments create "+exp+")",
			"no experiment %q", exp)
	}
	return nil
}

func (a *API) experiments(r *http.Request, where string, args ...any) ([]Experiment, error) {
	rows, err := a.db.QueryContext(r.Context(), `SELECT e.experiment, e.created_at, e.description,
		(SELECT COUNT(*) FROM experiment_worker_assignments a WHERE a.experiment = e.experiment)
		FROM experiments e `+where, args...)
	if err != nil {
		return nil, err
	}
	out := []Experiment{}
	for rows.Next() {
		var e Experiment
		if err := rows.Scan(&e.Experiment, &e.CreatedAt, &e.Description, &e.WorkerCount); err != nil {
			rows.Close()
			return nil, err
		}
		if t, err := time.Parse(time.RFC3339Nano, e.CreatedAt); err == nil {
			e.DeltaHours = math.Round(a.now().Sub(t).Hours()*10) / 10
		}
		e.Tags = []string{}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		tr, err := a.db.QueryContext(r.Context(), `SELECT tag FROM experiment_tags WHERE experiment = ? ORDER BY tag`, out[i].Experiment)
		if err != nil {
			return nil, err
		}
		for tr.Next() {
			var t string
			if err := tr.Scan(&t); err != nil {
				tr.Close()
				return nil, err
			}
			out[i].Tags = append(out[i].Tags, t)
		}
		tr.Close()
	}
	return out, nil
}

func (a *API) listExperiments(w http.ResponseWriter, r *http.Request, _ string) {
	es, err := a.experiments(r, "ORDER BY e.created_at DESC")
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, es)
}

func (a *API) oneExperiment(w http.ResponseWriter, r *http.Request, where string, args ...any) {
	es, err := a.experiments(r, where, args...)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	if len(es) == 0 {
		fail(w, http.StatusNotFound, "no such experiment", "", "list them with GET /api/experiments")
		return
	}
	writeJSON(w, http.StatusOK, es[0])
}

func (a *API) getExperiment(w http.ResponseWriter, r *http.Request, _ string) {
	a.oneExperiment(w, r, "WHERE e.experiment = ?", r.PathValue("exp"))
}

func (a *API) latestExperiment(w http.ResponseWriter, r *http.Request, _ string) {
	a.oneExperiment(w, r, "ORDER BY e.created_at DESC LIMIT 1")
}

// createExperiment: POST /api/experiments {experiment, description?, tags?}
func (a *API) createExperiment(w http.ResponseWriter, r *http.Request, who string) {
	var body struct {
		Experiment  string   `json:"experiment"`
		Description *string  `json:"description"`
		Tags        []string `json:"tags"`
	}
	if err := decode(r, &body, []string{"experiment", "description", "tags"}, "experiment"); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := CheckExperimentName(body.Experiment); err != nil {
		a.failWith(w, r, err)
		return
	}
	if a.experimentExists(r, body.Experiment) == nil {
		fail(w, http.StatusConflict, fmt.Sprintf("experiment %q already exists", body.Experiment), "",
			"choose another name, or use the existing experiment")
		return
	}
	created := a.now().UTC().Format("2006-01-02T15:04:05.000Z")
	if _, err := a.db.ExecContext(r.Context(), `INSERT INTO experiments (experiment, created_at, description) VALUES (?, ?, ?)`,
		body.Experiment, created, body.Description); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := a.setTags(r, body.Experiment, body.Tags); err != nil {
		a.failWith(w, r, err)
		return
	}
	a.audit(who, "create-experiment", []string{""}, body.Experiment, "", jsonText(body), "")
	w.WriteHeader(http.StatusCreated)
	es, _ := a.experiments(r, "WHERE e.experiment = ?", body.Experiment)
	if len(es) == 1 {
		b := jsonText(es[0])
		w.Write([]byte(b + "\n"))
	}
}

func (a *API) setTags(r *http.Request, exp string, tags []string) error {
	if tags == nil {
		return nil
	}
	if _, err := a.db.ExecContext(r.Context(), `DELETE FROM experiment_tags WHERE experiment = ?`, exp); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := a.db.ExecContext(r.Context(), `INSERT OR IGNORE INTO experiment_tags (experiment, tag) VALUES (?, ?)`, exp, t); err != nil {
			return err
		}
	}
	return nil
}

// patchExperiment: PATCH /api/experiments/<exp> {description?, tags?}
func (a *API) patchExperiment(w http.ResponseWriter, r *http.Request, who string) {
	exp := r.PathValue("exp")
	var body struct {
		Description *string  `json:"description"`
		Tags        []string `json:"tags"`
	}
	if err := decode(r, &body, []string{"description", "tags"}); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := a.experimentExists(r, exp); err != nil {
		a.failWith(w, r, err)
		return
	}
	if body.Description != nil {
		if _, err := a.db.ExecContext(r.Context(), `UPDATE experiments SET description = ? WHERE experiment = ?`, *body.Description, exp); err != nil {
			a.failWith(w, r, err)
			return
		}
	}
	if err := a.setTags(r, exp, body.Tags); err != nil {
		a.failWith(w, r, err)
		return
	}
	a.audit(who, "update-experiment", []string{""}, exp, "", jsonText(body), "")
	a.getExperiment(w, r, who)
}

// deleteExperiment: DELETE /api/experiments/<exp>: unassigns its workers,
// deletes its rows in every table, and stops its jobs on the workers that
// were assigned (202, a task).
func (a *API) deleteExperiment(w http.ResponseWriter, r *http.Request, who string) {
	exp := r.PathValue("exp")
	if err := a.experimentExists(r, exp); err != nil {
		a.failWith(w, r, err)
		return
	}
	units, err := a.assignedUnits(r, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	for _, u := range units {
		if err := a.unassign(r, u); err != nil {
			a.failWith(w, r, err)
			return
		}
	}
	tables, err := a.experimentTables(r)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	for _, t := range append(tables, "experiments") {
		if _, err := a.db.ExecContext(r.Context(), `DELETE FROM "`+t+`" WHERE experiment = ?`, exp); err != nil {
			a.failWith(w, r, err)
			return
		}
	}
	a.audit(who, "delete-experiment", []string{""}, exp, "", jsonText(units), "")
	a.start(w, broadcast, func() (any, error) { return a.send(units, killRequest(exp, who)), nil })
}

// experimentTables are the database's tables of rows per experiment: every
// table with an experiment column (dbstream's, whichever it has, and the
// API's tags), but the audit trail, which outlives the experiment, and
// experiments itself.
func (a *API) experimentTables(r *http.Request) ([]string, error) {
	rows, err := a.db.QueryContext(r.Context(), `SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name = 'experiment' AND m.name NOT IN ('audit_log', 'experiments')
		ORDER BY m.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

var _ = dbstream.Schema // the tables above are dbstream's
