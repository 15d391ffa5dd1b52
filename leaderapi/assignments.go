package leaderapi

import (
	"encoding/json"
	"github.com/piolab/pio/cluster"
	"net/http"

	"github.com/piolab/pio/payload"
)

// Assignment is a worker's experiment.
type Assignment struct {
	Unit         string  `json:"pioreactor_unit"`
	Experiment   *string `json:"experiment"`
	AssignedAt   *string `json:"assigned_at"`
	IsActive     int     `json:"is_active"`
	ModelName    *string `json:"model_name"`
	ModelVersion *string `json:"model_version"`
}

// AssignmentTopic is the retained topic of a unit's assignment.
func AssignmentTopic(unit string) string { return cluster.AssignmentTopic(unit) }

func (a *API) assignments(r *http.Request, where string, args ...any) ([]Assignment, error) {
	rows, err := a.db.QueryContext(r.Context(), `SELECT w.pioreactor_unit, a.experiment, a.assigned_at, w.is_active, w.model_name, w.model_version
		FROM workers w LEFT JOIN experiment_worker_assignments a ON a.pioreactor_unit = w.pioreactor_unit `+where+` ORDER BY w.pioreactor_unit`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Assignment{}
	for rows.Next() {
		var x Assignment
		if err := rows.Scan(&x.Unit, &x.Experiment, &x.AssignedAt, &x.IsActive, &x.ModelName, &x.ModelVersion); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (a *API) assignedUnits(r *http.Request, exp string) ([]string, error) {
	as, err := a.assignments(r, "WHERE a.experiment = ?", exp)
	if err != nil {
		return nil, err
	}
	var units []string
	for _, x := range as {
		units = append(units, x.Unit)
	}
	return units, nil
}

func (a *API) experimentWorkers(w http.ResponseWriter, r *http.Request, _ string) {
	exp := r.PathValue("exp")
	if err := a.experimentExists(r, exp); err != nil {
		a.failWith(w, r, err)
		return
	}
	as, err := a.assignments(r, "WHERE a.experiment = ?", exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, as)
}

func (a *API) listAssignments(w http.ResponseWriter, r *http.Request, _ string) {
	as, err := a.assignments(r, "")
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, as)
}

// workerExperiment: GET /api/workers/<u>/experiment, 404 when unassigned.
func (a *API) workerExperiment(w http.ResponseWriter, r *http.Request, _ string) {
	unit := r.PathValue("unit")
	as, err := a.assignments(r, "WHERE w.pioreactor_unit = ?", unit)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	if len(as) == 0 || as[0].Experiment == nil {
		fail(w, http.StatusNotFound, "worker "+unit+" is not assigned to an experiment", "",
			"assign it: PUT /api/experiments/<experiment>/workers {\"pioreactor_unit\":\""+unit+"\"}")
		return
	}
	writeJSON(w, http.StatusOK, as[0])
}

// publishAssignment publishes unit's retained assignment (empty exp clears it).
func (a *API) publishAssignment(unit, exp, assignedAt string) error {
	var b []byte
	if exp != "" {
		b, _ = json.Marshal(map[string]string{"pioreactor_unit": unit, "experiment": exp,
			"assigned_at": assignedAt, "updated_at": payload.LogTimestamp(a.now())})
	}
	return a.client.Publish(AssignmentTopic(unit), b, 1, true)
}

// assignWorker: PUT /api/experiments/<exp>/workers {pioreactor_unit}. A
// worker assigned elsewhere has its jobs there stopped.
func (a *API) assignWorker(w http.ResponseWriter, r *http.Request, who string) {
	exp := r.PathValue("exp")
	var body struct {
		Unit string `json:"pioreactor_unit"`
	}
	if err := decode(r, &body, []string{"pioreactor_unit"}, "pioreactor_unit"); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := a.experimentExists(r, exp); err != nil {
		a.failWith(w, r, err)
		return
	}
	if _, err := a.worker(r, body.Unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	prev, err := a.assignments(r, "WHERE w.pioreactor_unit = ?", body.Unit)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	at := payload.LogTimestamp(a.now())
	if _, err := a.db.ExecContext(r.Context(), `INSERT OR REPLACE INTO experiment_worker_assignments (pioreactor_unit, experiment, assigned_at)
		VALUES (?, ?, ?)`, body.Unit, exp, at); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := a.publishAssignment(body.Unit, exp, at); err != nil {
		a.log.Error("publish assignment", "unit", body.Unit, "err", err)
	}
	a.audit(who, "assign", []string{body.Unit}, exp, "", "", "")
	reply := map[string]any{"pioreactor_unit": body.Unit, "experiment": exp, "assigned_at": at}
	if len(prev) == 1 && prev[0].Experiment != nil && *prev[0].Experiment != exp {
		old := *prev[0].Experiment
		id := a.start(nil, body.Unit, func() (any, error) { return a.send([]string{body.Unit}, killRequest(old, who)), nil })
		reply["task_id"], reply["result_url_path"] = id, "/unit_api/task_results/"+id
	}
	writeJSON(w, http.StatusOK, reply)
}

// unassign removes unit's assignment and clears its retained message.
func (a *API) unassign(r *http.Request, unit string) error {
	res, err := a.db.ExecContext(r.Context(), `DELETE FROM experiment_worker_assignments WHERE pioreactor_unit = ?`, unit)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if err := a.publishAssignment(unit, "", ""); err != nil {
			a.log.Error("clear assignment", "unit", unit, "err", err)
		}
	}
	return nil
}

// unassignWorker: DELETE /api/experiments/<exp>/workers/<u>; stops the
// worker's jobs in exp (202, a task).
func (a *API) unassignWorker(w http.ResponseWriter, r *http.Request, who string) {
	exp, unit := r.PathValue("exp"), r.PathValue("unit")
	as, err := a.assignments(r, "WHERE w.pioreactor_unit = ? AND a.experiment = ?", unit, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	if len(as) == 0 {
		fail(w, http.StatusNotFound, "worker "+unit+" is not assigned to experiment "+exp, "",
			"list assignments with GET /api/workers/assignments")
		return
	}
	a.unassignUnits(w, r, who, exp, []string{unit})
}

// unassignAll: DELETE /api/experiments/<exp>/workers.
func (a *API) unassignAll(w http.ResponseWriter, r *http.Request, who string) {
	exp := r.PathValue("exp")
	units, err := a.assignedUnits(r, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	a.unassignUnits(w, r, who, exp, units)
}

func (a *API) unassignUnits(w http.ResponseWriter, r *http.Request, who, exp string, units []string) {
	for _, u := range units {
		if err := a.unassign(r, u); err != nil {
			a.failWith(w, r, err)
			return
		}
	}
	a.audit(who, "unassign", units, exp, "", "", "")
	a.start(w, broadcast, func() (any, error) { return a.send(units, killRequest(exp, who)), nil })
}
