package leaderapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/piolab/pio/cluster"
)

// RunBody is the body of jobs/run: upstream's {options, args, env,
// config_overrides}.
type RunBody struct {
	Options         map[string]any `json:"options"`
	Args            []string       `json:"args"`
	Env             map[string]any `json:"env"`
	ConfigOverrides []any          `json:"config_overrides"`
}

// ScriptBody is the body of scripts/run: the script travels with its content.
type ScriptBody struct {
	Script struct {
		Name    string            `json:"name"`
		Content string            `json:"content"`
		Modules map[string]string `json:"modules"`
	} `json:"script"`
	Options map[string]any `json:"options"`
}

var runFields = []string{"options", "args", "env", "config_overrides"}

// DecodeRunBody decodes and checks a jobs/run body.
func DecodeRunBody(b []byte) (RunBody, error) {
	var body RunBody
	if len(strings.TrimSpace(string(b))) == 0 {
		return body, nil
	}
	if err := decodeJSON(b, &body, runFields); err != nil {
		return body, err
	}
	if len(body.ConfigOverrides) > 0 {
		return body, errorf(http.StatusBadRequest,
			"set the value in the unit's config.ini (or pass it as an option of the job) and leave config_overrides empty",
			"config_overrides: pio has no per-run config override; got %d", len(body.ConfigOverrides))
	}
	return body, nil
}

// DecodeScriptBody decodes and checks a scripts/run body.
func DecodeScriptBody(b []byte) (ScriptBody, error) {
	var body ScriptBody
	if err := decodeJSON(b, &body, []string{"script", "options"}, "script"); err != nil {
		return body, err
	}
	if err := checkScriptName(body.Script.Name); err != nil {
		return body, err
	}
	if body.Script.Content == "" {
		return body, errorf(http.StatusBadRequest, "send the .star file's text in script.content", "script.content is empty")
	}
	for p := range body.Script.Modules {
		if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.ContainsRune(p, '\\') {
			return body, errorf(http.StatusBadRequest, "give modules by their path relative to the script's folder",
				"script.modules: path %q is not relative to the script's folder", p)
		}
	}
	return body, nil
}

func checkScriptName(name string) error {
	if name == "" || len(name) > 200 {
		return errorf(http.StatusBadRequest, "name the script, e.g. turbidostat.star", "script.name %.40q: want 1 to 200 characters", name)
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return errorf(http.StatusBadRequest, "give the file's base name, e.g. turbidostat.star",
				"script.name %q: %q is not allowed in one", name, c)
		}
	}
	return nil
}

// checkName checks a job, setting or option name: letters, digits, _ and -.
func checkName(what, name string) error {
	if name == "" || len(name) > 100 {
		return errorf(http.StatusBadRequest, "", "%s %.40q: want 1 to 100 characters", what, name)
	}
	for _, c := range name {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return errorf(http.StatusBadRequest, "use letters, digits, _ and -",
				"%s %q: %q is not allowed in one", what, name, c)
		}
	}
	return nil
}

// optionArgs turns options into "--opt-name value" pairs, sorted by name:
// underscores become dashes, a null value is a bare flag, a string is
// itself and a number or boolean its JSON text.
func optionArgs(options map[string]any) ([]string, error) {
	names := make([]string, 0, len(options))
	for k := range options {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []string
	for _, k := range names {
		if err := checkName("option", k); err != nil {
			return nil, err
		}
		out = append(out, "--"+strings.ReplaceAll(k, "_", "-"))
		switch v := options[k].(type) {
		case nil:
		case string:
			out = append(out, v)
		case float64, bool, json.Number:
			out = append(out, jsonText(v))
		default:
			return nil, errorf(http.StatusBadRequest, "give options as strings, numbers, booleans or null",
				"option %q: a %T cannot be a command-line value", k, v)
		}
	}
	return out, nil
}

// RunArgv is the daemon's argv for jobs/run: run <job> args... --opt value...
func RunArgv(job string, body RunBody) ([]string, error) {
	if err := checkName("job name", job); err != nil {
		return nil, err
	}
	opts, err := optionArgs(body.Options)
	if err != nil {
		return nil, err
	}
	argv := append([]string{cluster.CommandRun, job}, body.Args...)
	return append(argv, opts...), nil
}

// ScriptArgv is the daemon's argv for scripts/run: run-script <name> --setting v...
func ScriptArgv(body ScriptBody) ([]string, error) {
	opts, err := optionArgs(body.Options)
	if err != nil {
		return nil, err
	}
	return append([]string{cluster.CommandRunScript, body.Script.Name}, opts...), nil
}

// requestExperiment is the experiment a daemon request carries: "" (the
// unit's own) for the universal $experiment.
func requestExperiment(exp string) string {
	if exp == universal {
		return ""
	}
	return exp
}

// manualDoses are the jobs whose run is a dose by hand.
var manualDoses = map[string]bool{"add_media": true, "add_alt_media": true, "remove_waste": true}

// runJob: PATCH|POST /api/workers/<u>/jobs/run/job_name/<job>/experiments/<exp>
func (a *API) runJob(w http.ResponseWriter, r *http.Request, who string) {
	unit, job, exp := r.PathValue("unit"), r.PathValue("job"), r.PathValue("exp")
	b, err := readBody(r)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	body, err := DecodeRunBody(b)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	argv, err := RunArgv(job, body)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	units, err := a.targets(r, unit, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	action := "run"
	if manualDoses[job] {
		action = "dose"
	}
	a.audit(who, action, units, exp, job, jsonText(argv), "")
	req := cluster.Request{Argv: argv, Experiment: requestExperiment(exp), Requester: who}
	a.start(w, unit, func() (any, error) { return a.send(units, req), nil })
}

// runScript: POST /api/workers/<u>/scripts/run/experiments/<exp>
func (a *API) runScript(w http.ResponseWriter, r *http.Request, who string) {
	unit, exp := r.PathValue("unit"), r.PathValue("exp")
	b, err := readBody(r)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	body, err := DecodeScriptBody(b)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	argv, err := ScriptArgv(body)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	units, err := a.targets(r, unit, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	script := cluster.NewScript(body.Script.Name, body.Script.Content, body.Script.Modules)
	a.audit(who, "run-script", units, exp, body.Script.Name, jsonText(argv), script.SHA256)
	req := cluster.Request{Argv: argv, Experiment: requestExperiment(exp), Script: script, Requester: who}
	a.start(w, unit, func() (any, error) { return a.send(units, req), nil })
}

// settingPayload is what a setting's /set topic carries: a string as
// itself, anything else as JSON.
func settingPayload(v any) []byte {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	return []byte(jsonText(v))
}

// updateJob: PATCH /api/workers/<u>/jobs/update/job_name/<job>/experiments/<exp>
// {settings:{k:v}} publishes pioreactor/<u>/<exp>/<job>/<k>/set at QoS 1.
func (a *API) updateJob(w http.ResponseWriter, r *http.Request, who string) {
	unit, job, exp := r.PathValue("unit"), r.PathValue("job"), r.PathValue("exp")
	var body struct {
		Settings map[string]any `json:"settings"`
	}
	if err := decode(r, &body, []string{"settings"}, "settings"); err != nil {
		a.failWith(w, r, err)
		return
	}
	if err := checkName("job name", job); err != nil {
		a.failWith(w, r, err)
		return
	}
	keys := make([]string, 0, len(body.Settings))
	for k := range body.Settings {
		if err := checkName("setting", strings.TrimPrefix(k, "$")); err != nil {
			a.failWith(w, r, err)
			return
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		fail(w, http.StatusBadRequest, "settings is empty", "", `send {"settings": {"<setting>": <value>}}`)
		return
	}
	sort.Strings(keys)
	units, err := a.targets(r, unit, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	action := "update"
	if s, ok := body.Settings["$state"]; ok && len(keys) == 1 {
		action = fmt.Sprint(s) // sleeping (pause), ready (resume), disconnected (stop)
	}
	a.audit(who, action, units, exp, job, jsonText(body.Settings), "")
	// Publish now, so that a change is on the broker when the reply leaves.
	env := Envelope{}
	for _, k := range keys {
		e := a.publishAll(units, func(u string) string { return settingTopic(u, exp, job, k) }, settingPayload(body.Settings[k]), 1)
		for u, x := range e {
			if old, ok := env[u]; ok && !old.OK {
				continue
			}
			env[u] = x
		}
	}
	a.start(w, unit, func() (any, error) { return env, nil })
}

func settingTopic(unit, exp, job, setting string) string {
	return "pioreactor/" + unit + "/" + exp + "/" + job + "/" + setting + "/set"
}

// stopJob: …/jobs/stop/job_name/<job>/experiments/<exp> publishes
// $state/set = disconnected.
func (a *API) stopJob(w http.ResponseWriter, r *http.Request, who string) {
	unit, job, exp := r.PathValue("unit"), r.PathValue("job"), r.PathValue("exp")
	if err := checkName("job name", job); err != nil {
		a.failWith(w, r, err)
		return
	}
	units, err := a.targets(r, unit, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	a.audit(who, "stop", units, exp, job, "", "")
	env := a.publishAll(units, func(u string) string { return settingTopic(u, exp, job, "$state") }, []byte("disconnected"), 1)
	a.start(w, unit, func() (any, error) { return env, nil })
}

// stopAllJobs: POST /api/workers/<u>/jobs/stop/experiments/<exp> asks the
// daemons to kill every job of exp.
func (a *API) stopAllJobs(w http.ResponseWriter, r *http.Request, who string) {
	unit, exp := r.PathValue("unit"), r.PathValue("exp")
	units, err := a.targets(r, unit, exp)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	a.audit(who, "kill", units, exp, "", "", "")
	req := killRequest(requestExperiment(exp), who)
	a.start(w, unit, func() (any, error) { return a.send(units, req), nil })
}

// runningJobs: GET /api/units/<u>/jobs/running asks the daemons for status.
func (a *API) runningJobs(w http.ResponseWriter, r *http.Request, _ string) {
	units, err := a.targets(r, r.PathValue("unit"), universal)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	if a.tasks.busy(maxStatusTasks) {
		a.failWith(w, r, errorf(http.StatusServiceUnavailable, "too many tasks are running on the leader",
			"%d or more tasks are in progress; ask again once they have ended", maxStatusTasks))
		return
	}
	req := cluster.Request{Argv: []string{cluster.CommandStatus}}
	a.start(w, r.PathValue("unit"), func() (any, error) { return a.send(units, req), nil })
}
