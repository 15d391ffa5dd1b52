package leaderapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestWritesNeedAToken(t *testing.T) {
	h := newHarness(t)
	writes := []struct{ method, path string }{
		{"PUT", "/api/workers"},
		{"POST", "/api/experiments"},
		{"PATCH", "/api/workers/$broadcast/jobs/run/job_name/stirring/experiments/$experiment"},
		{"POST", "/api/workers/u1/scripts/run/experiments/$experiment"},
		{"PATCH", "/api/workers/u1/jobs/update/job_name/stirring/experiments/e"},
		{"POST", "/api/workers/u1/experiments/e/logs"},
		{"DELETE", "/api/workers/u1"},
	}
	body := map[string]any{"pioreactor_unit": "u1", "experiment": "e", "settings": map[string]any{"target_rpm": 1},
		"message": "m", "script": map[string]any{"name": "a.star", "content": "x"}}
	for _, tok := range []string{"", "wrong"} {
		for _, wr := range writes {
			code, b := h.doWith(wr.method, wr.path, body, tok)
			var e Error
			json.Unmarshal(b, &e)
			if code != 401 || e.Status != 401 || e.Remediation == "" {
				t.Errorf("%s %s with token %q: %d %s, want 401 with the error shape", wr.method, wr.path, tok, code, b)
			}
		}
	}
	if n := len(h.pub.all()); n != 0 {
		t.Errorf("%d messages published for refused requests", n)
	}
	if n := len(h.disp.requests()); n != 0 {
		t.Errorf("%d requests sent for refused requests", n)
	}
	for _, table := range []string{"workers", "experiments", "audit_log"} {
		if n := h.count("SELECT COUNT(*) FROM " + table); n != 0 {
			t.Errorf("%d rows in %s after refused requests", n, table)
		}
	}
	// Reads need no token.
	if code, b := h.doWith("GET", "/api/workers", nil, ""); code != 200 {
		t.Errorf("GET /api/workers without a token: %d %s", code, b)
	}
}

func TestWorkers(t *testing.T) {
	h := newHarness(t)
	var w Worker
	h.want(201, "PUT", "/api/workers", map[string]any{"pioreactor_unit": "u1", "model_name": "pioreactor_20ml", "model_version": "1.1"}, &w)
	if w.Unit != "u1" || w.IsActive != 1 || *w.ModelName != "pioreactor_20ml" || w.AddedAt != "2026-07-01T12:00:00.000Z" {
		t.Errorf("PUT /api/workers: %+v", w)
	}
	h.want(201, "PUT", "/api/workers", map[string]any{"pioreactor_unit": "u2"}, nil)
	var ws []Worker
	h.want(200, "GET", "/api/workers", nil, &ws)
	if len(ws) != 2 || ws[0].Unit != "u1" || ws[1].Unit != "u2" {
		t.Errorf("GET /api/workers: %+v", ws)
	}
	var units []map[string]string
	h.want(200, "GET", "/api/units", nil, &units)
	if !reflect.DeepEqual(units, []map[string]string{{"pioreactor_unit": "leader"}, {"pioreactor_unit": "u1"}, {"pioreactor_unit": "u2"}}) {
		t.Errorf("GET /api/units: %v", units)
	}
	h.wantError(404, "GET", "/api/workers/nope", nil)
	e := h.wantError(400, "PUT", "/api/workers", map[string]any{"model_name": "x"})
	if !strings.Contains(e.Error, "pioreactor_unit") || !strings.Contains(e.Remediation, "pioreactor_unit") {
		t.Errorf("missing field error does not name it: %+v", e)
	}
	h.wantError(400, "PUT", "/api/workers", "not json")
	h.wantError(400, "PUT", "/api/workers", map[string]any{"pioreactor_unit": "a/b"})

	var active map[string]any
	h.want(200, "PUT", "/api/workers/u2/is_active", map[string]any{"is_active": 0}, &active)
	if active["is_active"] != 0.0 || active["task_id"] == nil {
		t.Errorf("deactivate: %v", active)
	}
	h.wantError(400, "PUT", "/api/workers/u2/is_active", map[string]any{"is_active": 2})
	code, b := h.do("DELETE", "/api/workers/u2", nil)
	if code != 202 {
		t.Fatalf("DELETE worker: %d %s", code, b)
	}
	h.poll(b)
	h.wantError(404, "GET", "/api/workers/u2", nil)
	var actions string
	h.db.QueryRow("SELECT group_concat(action, ',') FROM (SELECT action FROM audit_log WHERE credential = 'alice' AND pioreactor_unit = 'u2' ORDER BY id)").Scan(&actions)
	if actions != "add-worker,deactivate,remove-worker" {
		t.Errorf("audit of u2: %q, want add-worker,deactivate,remove-worker", actions)
	}
}

func TestExperimentNames(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"trial-1", true}, {"Ecoli 2026 run", true}, {strings.Repeat("x", 199), true},
		{strings.Repeat("x", 200), false}, {"", false}, {"current", false}, {"_testing_x", false},
		{"a#b", false}, {"a$b", false}, {"a%b", false}, {"a+b", false}, {"a/b", false}, {`a\b`, false},
	} {
		if err := CheckExperimentName(c.name); (err == nil) != c.ok {
			t.Errorf("CheckExperimentName(%.20q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestExperiments(t *testing.T) {
	h := newHarness(t)
	var e Experiment
	h.want(201, "POST", "/api/experiments", map[string]any{"experiment": "exp1", "description": "first", "tags": []string{"b", "a"}}, &e)
	if e.Experiment != "exp1" || *e.Description != "first" || !reflect.DeepEqual(e.Tags, []string{"a", "b"}) {
		t.Errorf("created: %+v", e)
	}
	h.wantError(409, "POST", "/api/experiments", map[string]any{"experiment": "exp1"})
	h.wantError(400, "POST", "/api/experiments", map[string]any{"experiment": "current"})
	h.wantError(400, "POST", "/api/experiments", map[string]any{"description": "no name"})
	h.now = t0.Add(90 * 60e9)
	h.want(201, "POST", "/api/experiments", map[string]any{"experiment": "exp2"}, nil)
	h.want(200, "GET", "/api/experiments/latest", nil, &e)
	if e.Experiment != "exp2" {
		t.Errorf("latest: %+v", e)
	}
	var es []Experiment
	h.want(200, "GET", "/api/experiments", nil, &es)
	if len(es) != 2 || es[1].Experiment != "exp1" || es[1].DeltaHours != 1.5 {
		t.Errorf("list: %+v", es)
	}
	h.want(200, "PATCH", "/api/experiments/exp1", map[string]any{"description": "renamed"}, &e)
	if *e.Description != "renamed" {
		t.Errorf("patched: %+v", e)
	}
	h.wantError(404, "GET", "/api/experiments/nope", nil)
	code, b := h.do("DELETE", "/api/experiments/exp2", nil)
	if code != 202 {
		t.Fatalf("DELETE: %d %s", code, b)
	}
	h.poll(b)
	h.wantError(404, "GET", "/api/experiments/exp2", nil)
}

func TestAssignmentsArePublishedRetained(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1", "u2")
	m, ok := h.broker.Retained("pioreactor/u1/$experiment/assignment")
	if !ok {
		t.Fatal("no retained assignment for u1")
	}
	var p map[string]string
	json.Unmarshal(m.Payload, &p)
	if p["pioreactor_unit"] != "u1" || p["experiment"] != "exp1" || p["assigned_at"] == "" || p["updated_at"] == "" {
		t.Errorf("assignment payload: %s", m.Payload)
	}
	var as []Assignment
	h.want(200, "GET", "/api/experiments/exp1/workers", nil, &as)
	if len(as) != 2 {
		t.Errorf("workers of exp1: %+v", as)
	}
	var one Assignment
	h.want(200, "GET", "/api/workers/u1/experiment", nil, &one)
	if *one.Experiment != "exp1" {
		t.Errorf("u1's experiment: %+v", one)
	}
	// Reassigning stops its jobs in the old experiment.
	h.want(201, "POST", "/api/experiments", map[string]any{"experiment": "exp2"}, nil)
	var re map[string]any
	h.want(200, "PUT", "/api/experiments/exp2/workers", map[string]any{"pioreactor_unit": "u1"}, &re)
	re["status"] = "accepted"
	b, _ := json.Marshal(re)
	h.poll(b)
	reqs := h.disp.requests()
	if len(reqs) != 1 || !reflect.DeepEqual(reqs[0].Argv, []string{"kill", "--all-jobs"}) || reqs[0].Experiment != "exp1" {
		t.Errorf("reassignment sent %+v", reqs)
	}
	code, b := h.do("DELETE", "/api/experiments/exp2/workers/u1", nil)
	if code != 202 {
		t.Fatalf("unassign: %d %s", code, b)
	}
	h.poll(b)
	if _, ok := h.broker.Retained("pioreactor/u1/$experiment/assignment"); ok {
		t.Error("unassigning did not clear the retained assignment")
	}
	h.wantError(404, "GET", "/api/workers/u1/experiment", nil)
	h.wantError(404, "PUT", "/api/experiments/exp1/workers", map[string]any{"pioreactor_unit": "ghost"})
	h.wantError(404, "PUT", "/api/experiments/nope/workers", map[string]any{"pioreactor_unit": "u1"})
	var all []Assignment
	h.want(200, "GET", "/api/workers/assignments", nil, &all)
	if len(all) != 2 || all[0].Experiment != nil || *all[1].Experiment != "exp1" {
		t.Errorf("assignments: %+v", all)
	}
}

func TestAuditFilters(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1", "u2")
	h.now = t0.Add(3600e9)
	if err := h.api.Audit(AuditEntry{Credential: "mqtt:u2", Action: "dose", Unit: "u2", Experiment: "exp1", Job: "add_media"}); err != nil {
		t.Fatal(err)
	}
	var rows []auditRow
	h.want(200, "GET", "/api/audit?unit=u2&experiment=exp1", nil, &rows)
	if len(rows) != 2 || rows[0].Action != "dose" || rows[1].Action != "assign" {
		t.Errorf("audit for u2 in exp1: %+v", rows)
	}
	h.want(200, "GET", "/api/audit?since=2026-07-01T12:30:00Z", nil, &rows)
	if len(rows) != 1 || rows[0].Credential != "mqtt:u2" || rows[0].Timestamp != "2026-07-01T13:00:00.000Z" {
		t.Errorf("audit since 12:30: %+v", rows)
	}
	h.want(200, "GET", "/api/audit?until=2026-07-01T12:30:00Z&limit=2", nil, &rows)
	if len(rows) != 2 || rows[0].Credential != "alice" {
		t.Errorf("audit until 12:30, limit 2: %+v", rows)
	}
	h.wantError(400, "GET", "/api/audit?since=yesterday", nil)
	h.wantError(400, "GET", "/api/audit?limit=0", nil)
}

func TestUnknownPathIsAnErrorShape(t *testing.T) {
	h := newHarness(t)
	h.wantError(404, "GET", "/api/nothing/here", nil)
	h.wantError(404, "GET", "/unit_api/task_results/nope", nil)
}

// Deleting an experiment deletes its rows in every table of the stream (the
// tables added after the API's first list too, and the rows the triggers
// rolled up), and keeps the audit trail.
func TestDeleteExperimentDeletesEveryTablesRows(t *testing.T) {
	h := newHarness(t)
	h.setup("exp2", "u1")
	at := stamp(0)
	h.exec(`INSERT INTO od_readings VALUES ('exp2', 'u1', ?, 0.5, 90, 2)`, at)
	h.exec(`INSERT INTO od_blanks (experiment, pioreactor_unit, timestamp, channel, angle, od_reading) VALUES ('exp2', 'u1', ?, '1', 90, 0.1)`, at)
	h.exec(`INSERT INTO pwm_dcs (experiment, pioreactor_unit, timestamp, channel_1) VALUES ('exp2', 'u1', ?, 10)`, at)
	h.exec(`INSERT INTO dosing_automation_events (experiment, pioreactor_unit, timestamp, event_name) VALUES ('exp2', 'u1', ?, 'x')`, at)
	h.exec(`INSERT INTO dosing_automation_settings (experiment, pioreactor_unit, started_at, automation_name, settings) VALUES ('exp2', 'u1', ?, 'chemostat', '{}')`, at)
	h.exec(`INSERT INTO experiment_profile_runs (started_at, experiment_profile_name, experiment) VALUES (?, 'p', 'exp2')`, at)
	code, b := h.do("DELETE", "/api/experiments/exp2", nil)
	if code != 202 {
		t.Fatalf("DELETE: %d %s", code, b)
	}
	h.poll(b)
	rows, err := h.db.Query(`SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name = 'experiment'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tb := range tables {
		n := h.count(`SELECT COUNT(*) FROM ` + tb + ` WHERE experiment = 'exp2'`)
		if tb == "audit_log" {
			if n == 0 {
				t.Errorf("audit_log: the experiment's audit rows were deleted")
			}
			continue
		}
		if n != 0 {
			t.Errorf("%s: %d rows of the deleted experiment remain", tb, n)
		}
	}
}
