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
//
// The same directory holds one lock per PWM channel in use (pwm-<N>.lock; no job name has a dash), so
// that two processes never drive one output: a manual pump and an
// automation's pump on the same channel, or two pio commands started with
// different homes. Dir is per unit and per machine (see unit.RunDir), never
// inside a home folder.
type Registry struct{ Dir string }

// Entry describes a running job, or the holder of an output.
type Entry struct {
	Job        string    `json:"job"`
	Unit       string    `json:"unit"`
	Experiment string    `json:"experiment"`
	PID        int       `json:"pid"`
	StartedAt  time.Time `json:"started_at"`
}

// ErrJobRunning means a job of that name already runs on this unit.
var ErrJobRunning = errors.New("job is already running")

// ErrOutputInUse means another job drives a PWM channel.
var ErrOutputInUse = errors.New("is in use")

// Acquire registers job as running in this process. The returned function
// releases it.
func (r *Registry) Acquire(job, unit, experiment string) (func(), error) {
	release, holder, err := r.lock(job+".lock", Entry{Job: job, Unit: unit, Experiment: experiment})
	if err == errLocked {
		if holder.PID != 0 {
			return nil, fmt.Errorf("%s %w (pid %d, experiment %s)", job, ErrJobRunning, holder.PID, holder.Experiment)
		}
		return nil, fmt.Errorf("%s %w", job, ErrJobRunning)
	}
	return release, err
}

// AcquireOutput registers job as the one driver of a PWM channel. The
// returned function releases it.
func (r *Registry) AcquireOutput(channel int, job, unit, experiment string) (func(), error) {
	release, holder, err := r.lock(fmt.Sprintf("pwm-%d.lock", channel), Entry{Job: job, Unit: unit, Experiment: experiment})
	if err == errLocked {
		if holder.PID != 0 {
			return nil, fmt.Errorf("PWM channel %d %w by %s (pid %d)", channel, ErrOutputInUse, holder.Job, holder.PID)
		}
		return nil, fmt.Errorf("PWM channel %d %w by another process", channel, ErrOutputInUse)
	}
	return release, err
}

var errLocked = errors.New("locked")

// lock takes the exclusive lock of a file under Dir and writes e (with this
// process's pid) into it; if another holds it, it returns errLocked and the
// holder's entry.
func (r *Registry) lock(file string, e Entry) (func(), Entry, error) {
	if err := os.MkdirAll(r.Dir, 0o777); err != nil {
		return nil, Entry{}, fmt.Errorf("job registry: %w", err)
	}
	// Every user of the machine shares the unit's locks: a lab's second
	// account must see the first one's jobs (sticky, like /tmp).
	_ = os.Chmod(r.Dir, os.ModeSticky|0o777)
	path := filepath.Join(r.Dir, file)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("job registry: %w", err)
	}
	_ = f.Chmod(0o666)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		holder, _ := readEntry(path)
		return nil, holder, errLocked
	}
	e.PID, e.StartedAt = os.Getpid(), time.Now().UTC()
	b, _ := json.Marshal(e)
	f.Truncate(0)
	f.WriteAt(b, 0)
	f.Sync()
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, e, nil
}

func readEntry(path string) (Entry, bool) {
	var e Entry
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &e) != nil {
		return Entry{}, false
	}
	return e, true
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
	e, ok := readEntry(path)
	if !ok {
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
		if strings.Contains(filepath.Base(n), "-") {
			continue // an output's lock, not a job's
		}
		if e, ok := r.Lookup(strings.TrimSuffix(filepath.Base(n), ".lock")); ok {
			out = append(out, e)
		}
	}
	return out
}
