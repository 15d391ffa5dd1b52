package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Registry records the jobs running on this machine, one file per job name
// under Dir, each held with an exclusive flock for the life of the job. The
// kernel drops the lock when the process dies however it dies, so a killed job
// never blocks its restart (upstream's job database needs a manual purge).
type Registry struct{ Dir string }

// Entry describes a running job.
type Entry struct {
	Job        string    `json:"job"`
	Unit       string    `json:"unit"`
	Experiment string    `json:"experiment"`
	PID        int       `json:"pid"`
	StartedAt  time.Time `json:"started_at"`
}

// ErrJobRunning means a job of that name already runs on this unit.
var ErrJobRunning = errors.New("job is already running")

// Acquire registers job as running in this process. The returned function
// releases it.
func (r *Registry) Acquire(job, unit, experiment string) (func(), error) {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("job registry: %w", err)
	}
	path := filepath.Join(r.Dir, job+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("job registry: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if e, ok := r.Lookup(job); ok {
			return nil, fmt.Errorf("%s %w (pid %d, experiment %s)", job, ErrJobRunning, e.PID, e.Experiment)
		}
		return nil, fmt.Errorf("%s %w", job, ErrJobRunning)
	}
	b, _ := json.Marshal(Entry{Job: job, Unit: unit, Experiment: experiment, PID: os.Getpid(), StartedAt: time.Now().UTC()})
	f.Truncate(0)
	f.WriteAt(b, 0)
	f.Sync()
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Lookup returns the entry of a running job.
func (r *Registry) Lookup(job string) (Entry, bool) {
	path := filepath.Join(r.Dir, job+".lock")
	f, err := os.Open(path)
	if err != nil {
		return Entry{}, false
	}
	defer f.Close()
	// If we can take the lock, nobody holds it: the job is not running.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return Entry{}, false
	}
	var e Entry
	b, _ := os.ReadFile(path)
	if json.Unmarshal(b, &e) != nil {
		e = Entry{Job: job}
	}
	return e, true
}

// List returns the running jobs, sorted by name.
func (r *Registry) List() []Entry {
	names, _ := filepath.Glob(filepath.Join(r.Dir, "*.lock"))
	sort.Strings(names)
	var out []Entry
	for _, n := range names {
		if e, ok := r.Lookup(strings.TrimSuffix(filepath.Base(n), ".lock")); ok {
			out = append(out, e)
		}
	}
	return out
}
