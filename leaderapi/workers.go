package leaderapi

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/payload"
)

// Worker is a row of workers.
type Worker struct {
	Unit         string  `json:"pioreactor_unit"`
	AddedAt      string  `json:"added_at"`
	IsActive     int     `json:"is_active"`
	ModelName    *string `json:"model_name"`
	ModelVersion *string `json:"model_version"`
}

const (
	broadcast = "$broadcast"
	universal = "$experiment"
)

// checkUnitName refuses a unit name that cannot be a topic level.
func checkUnitName(u string) error {
	if u == "" || len(u) > 200 {
		return errorf(http.StatusBadRequest, "", "unit name %.40q: want 1 to 200 characters", u)
	}
	for _, c := range u {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(`#$+/\`, c) {
			return errorf(http.StatusBadRequest, "name units without #$+/\\ or control characters",
				"unit name %q: %q is not allowed in one (it is a level of MQTT topics)", u, c)
		}
	}
	return nil
}

func (a *API) workers(r *http.Request, where string, args ...any) ([]Worker, error) {
	rows, err := a.db.QueryContext(r.Context(), `SELECT pioreactor_unit, added_at, is_active, model_name, model_version
		FROM workers `+where+` ORDER BY pioreactor_unit`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Worker{}
	for rows.Next() {
		var w Worker
		if err := rows.Scan(&w.Unit, &w.AddedAt, &w.IsActive, &w.ModelName, &w.ModelVersion); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (a *API) worker(r *http.Request, unit string) (Worker, error) {
	ws, err := a.workers(r, "WHERE pioreactor_unit = ?", unit)
	if err != nil {
		return Worker{}, err
	}
	if len(ws) == 0 {
		return Worker{}, errorf(http.StatusNotFound, "add it with PUT /api/workers (pio workers add "+unit+")",
			"unit %q is not a worker of this leader", unit)
	}
	return ws[0], nil
}

// listUnits: GET /api/units, the leader and the workers.
func (a *API) listUnits(w http.ResponseWriter, r *http.Request, _ string) {
	ws, err := a.workers(r, "")
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	names := map[string]bool{}
	if a.leader != "" {
		names[a.leader] = true
	}
	for _, x := range ws {
		names[x.Unit] = true
	}
	out := []map[string]string{}
	for n := range names {
		out = append(out, map[string]string{"pioreactor_unit": n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["pioreactor_unit"] < out[j]["pioreactor_unit"] })
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listWorkers(w http.ResponseWriter, r *http.Request, _ string) {
	ws, err := a.workers(r, "")
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ws)
}

func (a *API) getWorker(w http.ResponseWriter, r *http.Request, _ string) {
	x, err := a.worker(r, r.PathValue("unit"))
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, x)
}

// putWorker: PUT /api/workers {pioreactor_unit, model_name?, model_version?}
func (a *API) putWorker(w http.ResponseWriter, r *http.Request, who string) {
	var body struct {
		Unit         string  `json:"pioreactor_unit"`
		ModelName    *string `json:"model_name"`
		ModelVersion *string `json:"model_version"`
	}
	if err := decode(r, &body, []string{"pioreactor_unit", "model_name", "model_version"}, "pioreactor_unit"); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := checkUnitName(body.Unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	_, err := a.db.ExecContext(r.Context(), `INSERT OR REPLACE INTO workers (pioreactor_unit, added_at, is_active, model_name, model_version)
		VALUES (?, ?, 1, ?, ?)`, body.Unit, payload.LogTimestamp(a.now()), body.ModelName, body.ModelVersion)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	a.audit(who, "add-worker", []string{body.Unit}, "", "", jsonText(body), "")
	x, err := a.worker(r, body.Unit)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, x)
}

// deleteWorker: DELETE /api/workers/<u>: stops its jobs, unassigns and
// removes it (202: the stop runs as a task).
func (a *API) deleteWorker(w http.ResponseWriter, r *http.Request, who string) {
	unit := r.PathValue("unit")
	if _, err := a.worker(r, unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := a.unassign(r, unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	if _, err := a.db.ExecContext(r.Context(), `DELETE FROM workers WHERE pioreactor_unit = ?`, unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	a.audit(who, "remove-worker", []string{unit}, "", "", "", "")
	a.start(w, unit, func() (any, error) {
		return a.send([]string{unit}, killRequest("", who)), nil
	})
}

// setActive: PUT /api/workers/<u>/is_active {is_active: 0|1}; 0 also stops
// the worker's jobs (the reply then carries the task of the stop).
func (a *API) setActive(w http.ResponseWriter, r *http.Request, who string) {
	unit := r.PathValue("unit")
	var body struct {
		IsActive *int `json:"is_active"`
	}
	if err := decode(r, &body, []string{"is_active"}, "is_active"); err != nil {
		a.failWith(w, r, err)
		return
	}
	if v := *body.IsActive; v != 0 && v != 1 {
		fail(w, http.StatusBadRequest, fmt.Sprintf("is_active: want 0 or 1, got %d", v), "", "")
		return
	}
	if _, err := a.worker(r, unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	if _, err := a.db.ExecContext(r.Context(), `UPDATE workers SET is_active = ? WHERE pioreactor_unit = ?`, *body.IsActive, unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	x, err := a.worker(r, unit)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	reply := map[string]any{"pioreactor_unit": unit, "is_active": x.IsActive}
	if *body.IsActive == 0 {
		a.audit(who, "deactivate", []string{unit}, "", "", "", "")
		id := a.start(nil, unit, func() (any, error) { return a.send([]string{unit}, killRequest("", who)), nil })
		reply["task_id"], reply["result_url_path"] = id, "/unit_api/task_results/"+id
	} else {
		a.audit(who, "activate", []string{unit}, "", "", "", "")
	}
	writeJSON(w, http.StatusOK, reply)
}

// killRequest asks a daemon to stop all its jobs (of exp, when given).
func killRequest(exp, who string) cluster.Request {
	// The daemon narrows --all-jobs to the request's experiment.
	return cluster.Request{Argv: []string{cluster.CommandKill, "--all-jobs"}, Experiment: exp, Requester: who}
}

// targets resolves the unit of a job path: $broadcast is every active
// worker (assigned to exp when exp is a real experiment); a named unit must
// be an active worker (assigned to exp when exp is real).
func (a *API) targets(r *http.Request, unit, exp string) ([]string, error) {
	if exp != universal {
		if err := a.experimentExists(r, exp); err != nil {
			return nil, err
		}
	}
	where, args := "WHERE w.is_active = 1", []any{}
	if exp != universal {
		where += " AND a.experiment = ?"
		args = append(args, exp)
	}
	if unit != broadcast {
		x, err := a.worker(r, unit)
		if err != nil {
			return nil, err
		}
		if x.IsActive == 0 {
			return nil, errorf(http.StatusBadRequest, "activate it: PUT /api/workers/"+unit+"/is_active {\"is_active\":1}",
				"worker %q is inactive", unit)
		}
		where += " AND w.pioreactor_unit = ?"
		args = append(args, unit)
	}
	rows, err := a.db.QueryContext(r.Context(), `SELECT w.pioreactor_unit FROM workers w
		LEFT JOIN experiment_worker_assignments a ON a.pioreactor_unit = w.pioreactor_unit `+where+` ORDER BY w.pioreactor_unit`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var units []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		units = append(units, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if unit != broadcast && len(units) == 0 {
		return nil, errorf(http.StatusBadRequest, "assign it: PUT /api/experiments/"+exp+"/workers {\"pioreactor_unit\":\""+unit+"\"}",
			"worker %q is not assigned to experiment %q", unit, exp)
	}
	return units, nil
}

// scanOne reads one value, mapping no rows to notFound.
func scanOne(row *sql.Row, notFound error, dest ...any) error {
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return err
}
