package runtime

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Runner is the one lifecycle every job of a unit implements: the monitor,
// pump actions, automations, and the sensor and script jobs to come. A job is
// created started (its $state is ready, its settings published); Run does its
// work until ctx ends or the job is disconnected (pio kill, $state/set), and
// returns with every output the job opened off and the job closed.
type Runner interface {
	JobName() string
	State() State
	Run(ctx context.Context) error
}

// Supervisor hosts a unit's jobs on one Env (one board, one scheduler): it
// runs each as an actor, stops them, reports their state, and halts the
// board when it shuts down.
type Supervisor struct {
	env *Env

	mu   sync.Mutex
	jobs map[string]*hosted
	errs []error
}

type hosted struct {
	r      Runner
	cancel context.CancelFunc
	ended  bool
	err    error
}

// NewSupervisor returns a supervisor with no jobs.
func NewSupervisor(env *Env) *Supervisor {
	return &Supervisor{env: env, jobs: map[string]*hosted{}}
}

// Start runs r as an actor of the unit's scheduler. onEnd, if set, is called
// on that actor when r's Run returns.
func (s *Supervisor) Start(ctx context.Context, r Runner, onEnd func(error)) error {
	name := r.JobName()
	s.mu.Lock()
	if h, ok := s.jobs[name]; ok && !h.ended {
		s.mu.Unlock()
		return fmt.Errorf("%s %w on %s", name, ErrJobRunning, s.env.Unit)
	}
	ctx, cancel := context.WithCancel(ctx)
	h := &hosted{r: r, cancel: cancel}
	s.jobs[name] = h
	s.mu.Unlock()
	s.env.Sched.Go(name, func() {
		err := r.Run(ctx)
		cancel()
		s.mu.Lock()
		h.ended, h.err = true, err
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s: %w", name, err))
		}
		s.mu.Unlock()
		if onEnd != nil {
			onEnd(err)
		}
	})
	return nil
}

// Stop ends a hosted job (its Run sees its context end).
func (s *Supervisor) Stop(name string) bool {
	s.mu.Lock()
	h, ok := s.jobs[name]
	s.mu.Unlock()
	if ok {
		h.cancel()
	}
	return ok
}

// StopAll ends every hosted job and stops every pump.
func (s *Supervisor) StopAll() {
	s.mu.Lock()
	var cancels []context.CancelFunc
	for _, h := range s.jobs {
		cancels = append(cancels, h.cancel)
	}
	s.mu.Unlock()
	s.env.StopAllPumps()
	for _, c := range cancels {
		c()
	}
}

// JobStatus is one hosted job as pio reports it.
type JobStatus struct {
	Name  string
	State State
	Ended bool
	Err   error
}

// Jobs reports the hosted jobs, sorted by name.
func (s *Supervisor) Jobs() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.jobs))
	for n, h := range s.jobs {
		out = append(out, JobStatus{Name: n, State: h.r.State(), Ended: h.ended, Err: h.err})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Halt halts every output of the board: the last step of every exit path,
// after the jobs have stopped theirs.
func (s *Supervisor) Halt() error { return s.env.Board.HaltAll() }

// Errors returns the errors the hosted jobs' Runs returned.
func (s *Supervisor) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}
