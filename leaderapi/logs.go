package leaderapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/piolab/pio/payload"
)

// LogRow is a row of logs as the API lists it.
type LogRow struct {
	Timestamp  string  `json:"timestamp"`
	Level      *string `json:"level"`
	Unit       string  `json:"pioreactor_unit"`
	Message    string  `json:"message"`
	Task       *string `json:"task"`
	Experiment string  `json:"experiment"`
	Source     string  `json:"source"`
}

// minLevels is upstream's min_level: the level and those above it.
var minLevels = map[string][]string{
	"DEBUG":   nil, // everything
	"INFO":    {"INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"},
	"NOTICE":  {"NOTICE", "WARNING", "ERROR", "CRITICAL"},
	"WARNING": {"WARNING", "ERROR", "CRITICAL"},
	"ERROR":   {"ERROR", "CRITICAL"},
}

const logPage = 100

// queryLogs lists logs matching where, with upstream's skip and min_level.
func (a *API) queryLogs(w http.ResponseWriter, r *http.Request, where string, args ...any) {
	q := r.URL.Query()
	skip := 0
	if s := q.Get("skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			fail(w, http.StatusBadRequest, fmt.Sprintf("skip=%q: want a whole number of rows, 0 or more", s), "", "")
			return
		}
		skip = n
	}
	if s := q.Get("min_level"); s != "" {
		levels, ok := minLevels[strings.ToUpper(s)]
		if !ok {
			fail(w, http.StatusBadRequest, fmt.Sprintf("min_level=%q: want DEBUG, INFO, NOTICE, WARNING or ERROR", s), "", "")
			return
		}
		if levels != nil {
			where += " AND level IN (?" + strings.Repeat(", ?", len(levels)-1) + ")"
			for _, l := range levels {
				args = append(args, l)
			}
		}
	}
	a.writeLogs(w, r, `SELECT timestamp, level, pioreactor_unit, message, task, experiment, source FROM logs `+
		where+` ORDER BY timestamp DESC LIMIT ? OFFSET ?`, append(args, logPage, skip)...)
}

func (a *API) writeLogs(w http.ResponseWriter, r *http.Request, query string, args ...any) {
	rows, err := a.db.QueryContext(r.Context(), query, args...)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	defer rows.Close()
	out := []LogRow{}
	for rows.Next() {
		var l LogRow
		if err := rows.Scan(&l.Timestamp, &l.Level, &l.Unit, &l.Message, &l.Task, &l.Experiment, &l.Source); err != nil {
			a.failWith(w, r, err)
			return
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) allLogs(w http.ResponseWriter, r *http.Request, _ string) {
	a.queryLogs(w, r, "WHERE 1=1")
}

func (a *API) experimentLogs(w http.ResponseWriter, r *http.Request, _ string) {
	a.queryLogs(w, r, "WHERE experiment = ?", r.PathValue("exp"))
}

func (a *API) unitLogs(w http.ResponseWriter, r *http.Request, _ string) {
	a.queryLogs(w, r, "WHERE pioreactor_unit = ?", r.PathValue("unit"))
}

func (a *API) unitExperimentLogs(w http.ResponseWriter, r *http.Request, _ string) {
	a.queryLogs(w, r, "WHERE pioreactor_unit = ? AND experiment = ?", r.PathValue("unit"), r.PathValue("exp"))
}

// recentLogs: the last 50 of the last 24 h, and not before the experiment
// was created.
func (a *API) recentLogs(w http.ResponseWriter, r *http.Request, _ string) {
	exp := r.PathValue("exp")
	since := payload.LogTimestamp(a.now().Add(-24 * time.Hour))
	var created string
	if err := a.db.QueryRowContext(r.Context(), `SELECT created_at FROM experiments WHERE experiment = ?`, exp).Scan(&created); err == nil && created > since {
		since = created
	}
	where, args := "WHERE experiment = ? AND timestamp >= ?", []any{exp, since}
	if s := r.URL.Query().Get("min_level"); s != "" {
		if levels := minLevels[strings.ToUpper(s)]; levels != nil {
			where += " AND level IN (?" + strings.Repeat(", ?", len(levels)-1) + ")"
			for _, l := range levels {
				args = append(args, l)
			}
		}
	}
	a.writeLogs(w, r, `SELECT timestamp, level, pioreactor_unit, message, task, experiment, source FROM logs `+
		where+` ORDER BY timestamp DESC LIMIT 50`, args...)
}

// LogBody is upstream's body of a manual log entry.
type LogBody struct {
	Message   string `json:"message"`
	Source    string `json:"source"`
	SourceTop string `json:"source_"`
	Level     string `json:"level"`
	Timestamp string `json:"timestamp"`
	Task      string `json:"task"`
}

var logLevels = map[string]bool{"DEBUG": true, "INFO": true, "NOTICE": true, "WARNING": true, "ERROR": true, "CRITICAL": true}

// DecodeLogBody decodes and checks a log entry's body; defaults: source and
// source_ "ui", level INFO, task "logs".
func DecodeLogBody(b []byte, now time.Time) (LogBody, error) {
	var body LogBody
	if err := decodeJSON(b, &body, []string{"message", "source", "source_", "level", "timestamp", "task"}, "message"); err != nil {
		return body, err
	}
	if body.Source == "" {
		body.Source = "ui"
	}
	if body.SourceTop == "" {
		body.SourceTop = body.Source
	}
	if body.Level == "" {
		body.Level = "INFO"
	}
	if body.Task == "" {
		body.Task = "logs"
	}
	body.Level = strings.ToUpper(body.Level)
	if !logLevels[body.Level] {
		return body, errorf(http.StatusBadRequest, "", "level %q: want DEBUG, INFO, NOTICE, WARNING, ERROR or CRITICAL", body.Level)
	}
	if err := checkName("source_", body.SourceTop); err != nil {
		return body, err
	}
	if body.Timestamp == "" {
		body.Timestamp = payload.LogTimestamp(now)
	} else if t, err := time.Parse(time.RFC3339Nano, body.Timestamp); err != nil {
		return body, errorf(http.StatusBadRequest, "give a time with its zone, e.g. 2026-07-01T12:00:00Z",
			"timestamp %.40q is not RFC 3339", body.Timestamp)
	} else {
		body.Timestamp = payload.LogTimestamp(t)
	}
	return body, nil
}

// postLog: POST /api/workers/<u>/experiments/<exp>/logs publishes the entry
// on pioreactor/<u>/<exp>/logs/<source_>/<level> at QoS 2.
func (a *API) postLog(w http.ResponseWriter, r *http.Request, who string) {
	unit, exp := r.PathValue("unit"), r.PathValue("exp")
	b, err := readBody(r)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	body, err := DecodeLogBody(b, a.now())
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	if strings.ContainsAny(exp, "#+/") || exp == "" {
		fail(w, http.StatusBadRequest, fmt.Sprintf("experiment %q cannot be a topic level", exp), "", "")
		return
	}
	units := []string{unit}
	if unit == broadcast {
		if units, err = a.targets(r, unit, exp); err != nil {
			a.failWith(w, r, err)
			return
		}
	} else if err := checkUnitName(unit); err != nil {
		a.failWith(w, r, err)
		return
	}
	msg, _ := json.Marshal(map[string]string{"message": body.Message, "level": body.Level, "task": body.Task,
		"source": body.Source, "timestamp": body.Timestamp})
	a.audit(who, "log", units, exp, "", body.Message, "")
	env := a.publishAll(units, func(u string) string {
		return "pioreactor/" + u + "/" + exp + "/logs/" + body.SourceTop + "/" + strings.ToLower(body.Level)
	}, msg, 2)
	a.start(w, unit, func() (any, error) { return env, nil })
}
