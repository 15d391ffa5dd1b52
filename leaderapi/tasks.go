package leaderapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
)

// task is one slow or fan-out action behind the 202 contract.
type task struct {
	status string // pending, running, succeeded, failed
	result any
	err    string
}

// taskStore keeps the tasks' outcomes for polling. It keeps the most recent
// maxTasks.
type taskStore struct {
	mu      sync.Mutex
	tasks   map[string]*task
	order   []string
	running int // tasks started and not ended
}

const maxTasks = 4096

// maxStatusTasks bounds the status tasks an unauthenticated GET may have
// running at once (each asks every daemon and may wait out its timeout).
const maxStatusTasks = 32

// busy reports whether n or more tasks are running.
func (s *taskStore) busy(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running >= n
}

func newTaskStore() *taskStore { return &taskStore{tasks: map[string]*task{}} }

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// start runs fn in the background as a task and answers 202 with its id.
// fn's error makes the task failed (a 200 "failed" when polled, never 5xx).
func (a *API) start(w http.ResponseWriter, unit string, fn func() (any, error)) string {
	id := newID()
	s := a.tasks
	s.mu.Lock()
	s.tasks[id] = &task{status: "pending"}
	s.running++
	s.order = append(s.order, id)
	if len(s.order) > maxTasks {
		delete(s.tasks, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		s.set(id, func(t *task) { t.status = "running" })
		v, err := fn()
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
		s.set(id, func(t *task) {
			if err != nil {
				t.status, t.err = "failed", err.Error()
				a.log.Warn("leader task failed", "task", id, "err", err)
			} else {
				t.status, t.result = "succeeded", v
			}
		})
	}()
	if w != nil {
		writeJSON(w, http.StatusAccepted, map[string]any{
			"unit": unit, "task_id": id, "result_url_path": "/unit_api/task_results/" + id, "status": "accepted",
		})
	}
	return id
}

func (s *taskStore) set(id string, f func(*task)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tasks[id]; ok {
		f(t)
	}
}

// taskResult: GET /unit_api/task_results/<id>
func (a *API) taskResult(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	a.tasks.mu.Lock()
	t, ok := a.tasks.tasks[id]
	var c task
	if ok {
		c = *t
	}
	a.tasks.mu.Unlock()
	if !ok {
		fail(w, http.StatusNotFound, fmt.Sprintf("no task %q", id), "",
			"task results are kept for the leader's last 4096 tasks, until it restarts")
		return
	}
	switch c.status {
	case "succeeded":
		writeJSON(w, http.StatusOK, map[string]any{"task_id": id, "status": c.status, "result": c.result})
	case "failed":
		writeJSON(w, http.StatusOK, map[string]any{"task_id": id, "status": c.status, "error": c.err})
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{"task_id": id, "status": c.status})
	}
}
