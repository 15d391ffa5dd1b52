package leaderapi

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/dbstream"
	"github.com/piolab/pio/pubsub"
)

// fakeDispatcher answers for the units in ok and stays silent for the rest
// (unreachable); it records what it was sent.
type fakeDispatcher struct {
	mu      sync.Mutex
	silent  map[string]bool
	refuse  map[string]string
	sent    []cluster.Request
	targets [][]string
}

func (f *fakeDispatcher) SendAll(ctx context.Context, units []string, req cluster.Request) []cluster.Reply {
	f.mu.Lock()
	f.sent = append(f.sent, req)
	f.targets = append(f.targets, append([]string(nil), units...))
	f.mu.Unlock()
	var out []cluster.Reply
	for _, u := range units {
		switch {
		case f.silent[u]:
		case f.refuse[u] != "":
			out = append(out, cluster.Reply{ID: req.ID, Unit: u, Error: &cluster.Error{Kind: "refused", Message: f.refuse[u]}})
		default:
			out = append(out, cluster.Reply{ID: req.ID, Unit: u, OK: true, Value: map[string]any{"argv": req.Argv}})
		}
	}
	return out
}

func (f *fakeDispatcher) requests() []cluster.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cluster.Request(nil), f.sent...)
}

type mapTokens map[string]string

func (m mapTokens) Name(t string) (string, bool) { n, ok := m[t]; return n, ok }

type published struct {
	mu   sync.Mutex
	msgs []pubsub.Message
}

func (p *published) all() []pubsub.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pubsub.Message(nil), p.msgs...)
}

type harness struct {
	t      *testing.T
	api    *API
	db     *sql.DB
	broker *pubsub.Memory
	disp   *fakeDispatcher
	pub    *published
	now    time.Time
}

const token = "secret-token"

var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	t.Helper()
	db, err := dbstream.Open(filepath.Join(t.TempDir(), "pio.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, db: db, broker: pubsub.NewMemory(), disp: &fakeDispatcher{silent: map[string]bool{}, refuse: map[string]string{}},
		pub: &published{}, now: t0}
	h.broker.Tap = func(_ string, m pubsub.Message) {
		h.pub.mu.Lock()
		h.pub.msgs = append(h.pub.msgs, m)
		h.pub.mu.Unlock()
	}
	h.api, err = New(Options{DB: db, Client: h.broker.Connect(pubsub.Options{ClientID: "leader"}), Dispatcher: h.disp,
		Tokens: mapTokens{token: "alice"}, Now: func() time.Time { return h.now }, Leader: "leader",
		ExportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.api.Close)
	return h
}

// do sends a request with the token (for writes) and returns the status and body.
func (h *harness) do(method, path string, body any) (int, []byte) {
	h.t.Helper()
	return h.doWith(method, path, body, token)
}

func (h *harness) doWith(method, path string, body any, tok string) (int, []byte) {
	h.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	h.api.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

// want checks the status and decodes the body into v (if not nil).
func (h *harness) want(status int, method, path string, body any, v any) {
	h.t.Helper()
	code, b := h.do(method, path, body)
	if code != status {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// wantError checks an error reply's status and shape.
func (h *harness) wantError(status int, method, path string, body any) Error {
	h.t.Helper()
	var e Error
	h.want(status, method, path, body, &e)
	if e.Status != status || e.Error == "" || e.Cause == "" {
		h.t.Fatalf("%s %s: error body %+v lacks the shape {error, status, cause, remediation}", method, path, e)
	}
	return e
}

// poll follows a 202 reply's task until it is done (deadline 5 s) and
// returns the final body.
func (h *harness) poll(accepted []byte) map[string]any {
	h.t.Helper()
	var a struct {
		TaskID, ResultURLPath, Status string
	}
	var raw map[string]any
	json.Unmarshal(accepted, &raw)
	a.TaskID, _ = raw["task_id"].(string)
	a.ResultURLPath, _ = raw["result_url_path"].(string)
	if raw["status"] != "accepted" || a.ResultURLPath != "/unit_api/task_results/"+a.TaskID {
		h.t.Fatalf("not an accepted task: %s", accepted)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		code, b := h.do("GET", a.ResultURLPath, nil)
		var out map[string]any
		json.Unmarshal(b, &out)
		switch code {
		case http.StatusOK:
			return out
		case http.StatusAccepted:
			if s := out["status"]; s != "pending" && s != "running" {
				h.t.Fatalf("202 with status %v", s)
			}
			time.Sleep(time.Millisecond)
		default:
			h.t.Fatalf("task result: %d %s", code, b)
		}
	}
	h.t.Fatal("task did not finish in 5 s")
	return nil
}

// setup adds workers and an experiment with them assigned.
func (h *harness) setup(exp string, units ...string) {
	h.t.Helper()
	h.want(201, "POST", "/api/experiments", map[string]any{"experiment": exp}, nil)
	for _, u := range units {
		h.want(201, "PUT", "/api/workers", map[string]any{"pioreactor_unit": u}, nil)
		h.want(200, "PUT", "/api/experiments/"+exp+"/workers", map[string]any{"pioreactor_unit": u}, nil)
	}
}

func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
