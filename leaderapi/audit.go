package leaderapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/piolab/pio/payload"
)

// AuditEntry is one row of the audit trail: who did what, where.
type AuditEntry struct {
	ID         int64     `json:"id"`
	Timestamp  time.Time `json:"-"`
	Credential string    `json:"credential"` // the API token's or MQTT user's name
	// Action: run, run-script, update, stop, kill, add-worker, remove-worker,
	// activate, deactivate, create-experiment, update-experiment,
	// delete-experiment, assign, unassign, log.
	Action     string `json:"action"`
	Unit       string `json:"pioreactor_unit"`
	Experiment string `json:"experiment"`
	Job        string `json:"job_name"`
	Detail     string `json:"detail"` // argv, settings, ... as JSON or text
	SHA256     string `json:"sha256"` // a script's checksum
}

// Audit records entry (its Timestamp defaults to now). The broker side
// records MQTT-origin actions through it too.
func (a *API) Audit(e AuditEntry) error {
	if e.Timestamp.IsZero() {
		e.Timestamp = a.now()
	}
	_, err := a.db.Exec(`INSERT INTO audit_log (timestamp, credential, action, pioreactor_unit, experiment, job_name, detail, sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, payload.LogTimestamp(e.Timestamp), e.Credential, e.Action,
		e.Unit, e.Experiment, e.Job, e.Detail, e.SHA256)
	if err != nil {
		return fmt.Errorf("leaderapi: record audit entry %s by %s: %w", e.Action, e.Credential, err)
	}
	return nil
}

// audit records entries for each unit; a failure is logged (the action
// itself has been accepted).
func (a *API) audit(who, action string, units []string, exp, job, detail, sha string) {
	for _, u := range units {
		if err := a.Audit(AuditEntry{Credential: who, Action: action, Unit: u, Experiment: exp, Job: job, Detail: detail, SHA256: sha}); err != nil {
			a.log.Error("leader API audit", "err", err)
		}
	}
}

// jsonText is v as compact JSON text.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// auditRow is an audit entry as the API lists it.
type auditRow struct {
	AuditEntry
	Timestamp string `json:"timestamp"`
}

// listAudit: GET /api/audit?unit=&experiment=&since=&until=&limit=
func (a *API) listAudit(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	where, args := "WHERE 1=1", []any{}
	if u := q.Get("unit"); u != "" {
		where += " AND pioreactor_unit = ?"
		args = append(args, u)
	}
	if e := q.Get("experiment"); e != "" {
		where += " AND experiment = ?"
		args = append(args, e)
	}
	for _, p := range []struct{ key, op string }{{"since", ">="}, {"until", "<="}} {
		if s := q.Get(p.key); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				fail(w, http.StatusBadRequest, fmt.Sprintf("%s=%q is not an RFC 3339 time", p.key, s), "",
					"give a time with its zone, e.g. 2026-07-01T12:00:00Z")
				return
			}
			where += " AND timestamp " + p.op + " ?"
			args = append(args, payload.LogTimestamp(t))
		}
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			fail(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want 1 to 10000", s), "", "")
			return
		}
		limit = n
	}
	rows, err := a.db.QueryContext(r.Context(), `SELECT id, timestamp, credential, action, COALESCE(pioreactor_unit, ''),
		COALESCE(experiment, ''), COALESCE(job_name, ''), COALESCE(detail, ''), COALESCE(sha256, '')
		FROM audit_log `+where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	defer rows.Close()
	out := []auditRow{}
	for rows.Next() {
		var e auditRow
		if err := rows.Scan(&e.ID, &e.Timestamp, &e.Credential, &e.Action, &e.Unit, &e.Experiment, &e.Job, &e.Detail, &e.SHA256); err != nil {
			a.failWith(w, r, err)
			return
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
