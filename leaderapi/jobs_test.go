package leaderapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/piolab/pio/cluster"
)

func TestRunArgv(t *testing.T) {
	for _, c := range []struct {
		job, body string
		want      []string
		err       string
	}{
		{"stirring", `{}`, []string{"run", "stirring"}, ""},
		{"stirring", ``, []string{"run", "stirring"}, ""},
		{"stirring", `{"options":{"target_rpm":500}}`, []string{"run", "stirring", "--target-rpm", "500"}, ""},
		{"dosing_automation", `{"options":{"automation_name":"turbidostat","target_biomass":1.2,"skip_first_run":null},"args":["x"]}`,
			[]string{"run", "dosing_automation", "x", "--automation-name", "turbidostat", "--skip-first-run", "--target-biomass", "1.2"}, ""},
		{"add_media", `{"options":{"ml":1.5,"manually":true}}`, []string{"run", "add_media", "--manually", "true", "--ml", "1.5"}, ""},
		{"x", `{"config_overrides":[["stirring","pwm_hz","100"]]}`, nil, "config_overrides"},
		{"x", `{"options":{"a":[1]}}`, nil, "cannot be a command-line value"},
		{"x", `{"options":{"a b":1}}`, nil, "not allowed"},
		{"../x", `{}`, nil, "job name"},
		{"x", `[1]`, nil, "JSON object"},
		{"x", `{"args":"notalist"}`, nil, "args"},
	} {
		body, err := DecodeRunBody([]byte(c.body))
		var argv []string
		if err == nil {
			argv, err = RunArgv(c.job, body)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: err %v, want one containing %q", c.job, c.body, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(argv, c.want) {
			t.Errorf("%s %s: %q, %v; want %q", c.job, c.body, argv, err, c.want)
		}
	}
}

func TestRunJobFansOutWithOneUnitFailing(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1", "u2", "u3")
	h.want(201, "PUT", "/api/workers", map[string]any{"pioreactor_unit": "elsewhere"}, nil) // not assigned
	h.disp.silent["u2"] = true
	h.disp.refuse["u3"] = "stirring is already running"
	code, b := h.do("PATCH", "/api/workers/$broadcast/jobs/run/job_name/stirring/experiments/exp1",
		map[string]any{"options": map[string]any{"target_rpm": 400}, "env": map[string]any{"JOB_SOURCE": "user"}})
	if code != 202 {
		t.Fatalf("run: %d %s", code, b)
	}
	var acc map[string]any
	json.Unmarshal(b, &acc)
	if acc["unit"] != "$broadcast" {
		t.Errorf("accepted: %s", b)
	}
	res := h.poll(b)
	if res["status"] != "succeeded" {
		t.Fatalf("task: %v", res)
	}
	env := res["result"].(map[string]any)
	if got := sortedKeys(env); !reflect.DeepEqual(got, []string{"u1", "u2", "u3"}) {
		t.Fatalf("envelope units: %v", got)
	}
	u1, u2, u3 := env["u1"].(map[string]any), env["u2"].(map[string]any), env["u3"].(map[string]any)
	if u1["ok"] != true || u1["unit"] != "u1" || u1["value"] == nil {
		t.Errorf("u1: %v", u1)
	}
	e2 := u2["error"].(map[string]any)
	if u2["ok"] != false || e2["kind"] != "unreachable" || u2["status_code"] != 503.0 || u2["retryable"] != true {
		t.Errorf("u2: %v", u2)
	}
	e3 := u3["error"].(map[string]any)
	if e3["kind"] != "refused" || e3["message"] != "stirring is already running" || u3["status_code"] != 400.0 {
		t.Errorf("u3: %v", u3)
	}
	reqs := h.disp.requests()
	if len(reqs) != 1 || !reflect.DeepEqual(reqs[0].Argv, []string{"run", "stirring", "--target-rpm", "400"}) ||
		reqs[0].Experiment != "exp1" || reqs[0].Requester != "alice" || !reflect.DeepEqual(h.disp.targets[0], []string{"u1", "u2", "u3"}) {
		t.Errorf("sent %+v to %v", reqs, h.disp.targets)
	}
	if n := h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'run' AND job_name = 'stirring' AND credential = 'alice' AND detail LIKE '%target-rpm%'"); n != 3 {
		t.Errorf("%d run audit rows, want one per unit (3)", n)
	}
}

func TestRunJobRefusals(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1")
	h.want(201, "PUT", "/api/workers", map[string]any{"pioreactor_unit": "u9"}, nil)
	h.wantError(404, "POST", "/api/workers/ghost/jobs/run/job_name/stirring/experiments/exp1", map[string]any{})
	h.wantError(400, "POST", "/api/workers/u9/jobs/run/job_name/stirring/experiments/exp1", map[string]any{})
	h.wantError(404, "POST", "/api/workers/u1/jobs/run/job_name/stirring/experiments/nope", map[string]any{})
	e := h.wantError(400, "POST", "/api/workers/u1/jobs/run/job_name/stirring/experiments/exp1", map[string]any{"config_overrides": []any{[]string{"a", "b", "c"}}})
	if !strings.Contains(e.Remediation, "config.ini") {
		t.Errorf("config_overrides refusal: %+v", e)
	}
	if n := len(h.disp.requests()); n != 0 {
		t.Errorf("%d requests sent for refused runs", n)
	}
	// The universal experiment: every active worker, the unit's own experiment.
	code, b := h.do("POST", "/api/workers/u9/jobs/run/job_name/add_media/experiments/$experiment", map[string]any{"options": map[string]any{"ml": 1}})
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	h.poll(b)
	if r := h.disp.requests()[0]; r.Experiment != "" {
		t.Errorf("$experiment sent as %q", r.Experiment)
	}
	if n := h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'dose' AND pioreactor_unit = 'u9' AND job_name = 'add_media'"); n != 1 {
		t.Errorf("manual dose audit rows: %d", n)
	}
}

func TestRunScriptTravelsWithItsChecksum(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1")
	content := "def main():\n    pass\n"
	code, b := h.do("POST", "/api/workers/u1/scripts/run/experiments/exp1", map[string]any{
		"script":  map[string]any{"name": "mine.star", "content": content, "modules": map[string]string{"lib/x.star": "y = 1"}},
		"options": map[string]any{"target_od": 1.5}})
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	h.poll(b)
	r := h.disp.requests()[0]
	if !reflect.DeepEqual(r.Argv, []string{"run-script", "mine.star", "--target-od", "1.5"}) || r.Script == nil ||
		r.Script.SHA256 != cluster.Checksum(content) || r.Script.Modules["lib/x.star"] != "y = 1" {
		t.Errorf("sent %+v", r)
	}
	if n := h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'run-script' AND sha256 = ?", cluster.Checksum(content)); n != 1 {
		t.Errorf("script audit rows with the checksum: %d", n)
	}
	h.wantError(400, "POST", "/api/workers/u1/scripts/run/experiments/exp1", map[string]any{"script": map[string]any{"name": "../x.star", "content": "x"}})
	h.wantError(400, "POST", "/api/workers/u1/scripts/run/experiments/exp1", map[string]any{"script": map[string]any{"name": "x.star", "content": ""}})
	h.wantError(400, "POST", "/api/workers/u1/scripts/run/experiments/exp1", map[string]any{"options": map[string]any{}})
}

func TestUpdateAndStopPublish(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1", "u2")
	before := len(h.pub.all())
	code, b := h.do("PATCH", "/api/workers/$broadcast/jobs/update/job_name/stirring/experiments/exp1",
		map[string]any{"settings": map[string]any{"target_rpm": 600}})
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	res := h.poll(b)
	if env := res["result"].(map[string]any); len(env) != 2 || env["u1"].(map[string]any)["ok"] != true {
		t.Errorf("update result: %v", res)
	}
	code, b = h.do("PATCH", "/api/workers/u2/jobs/stop/job_name/stirring/experiments/exp1", nil)
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	var got []string
	for _, m := range h.pub.all()[before:] {
		got = append(got, m.Topic+" "+string(m.Payload)+" "+string('0'+m.QoS))
	}
	want := []string{
		"pioreactor/u1/exp1/stirring/target_rpm/set 600 1",
		"pioreactor/u2/exp1/stirring/target_rpm/set 600 1",
		"pioreactor/u2/exp1/stirring/$state/set disconnected 1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("published\n%q\nwant\n%q", got, want)
	}
	h.wantError(400, "PATCH", "/api/workers/u1/jobs/update/job_name/stirring/experiments/exp1", map[string]any{"settings": map[string]any{}})
	h.wantError(400, "PATCH", "/api/workers/u1/jobs/update/job_name/stirring/experiments/exp1", map[string]any{"settings": map[string]any{"a/b": 1}})
	if n := h.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('update', 'stop') AND job_name = 'stirring'"); n != 3 {
		t.Errorf("update/stop audit rows: %d, want 3", n)
	}
}

func TestStopAllAndRunning(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1")
	code, b := h.do("POST", "/api/workers/$broadcast/jobs/stop/experiments/exp1", nil)
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	h.poll(b)
	code, b = h.do("GET", "/api/units/$broadcast/jobs/running", nil)
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	res := h.poll(b)
	if res["result"].(map[string]any)["u1"].(map[string]any)["ok"] != true {
		t.Errorf("running: %v", res)
	}
	reqs := h.disp.requests()
	if !reflect.DeepEqual(reqs[0].Argv, []string{"kill", "--all-jobs"}) || reqs[0].Experiment != "exp1" || !reflect.DeepEqual(reqs[1].Argv, []string{"status"}) {
		t.Errorf("sent %+v", reqs)
	}
}
