package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/runtime"
)

// maxIDBytes bounds a request id: it is a level of the reply topic.
const maxIDBytes = 64

// checkID refuses an id that cannot be a level of the reply topic.
func checkID(id string) error {
	if id == "" || len(id) > maxIDBytes {
		return fmt.Errorf("request id %q: want 1 to %d letters, digits, - or _", id, maxIDBytes)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("request id %q: %q is not allowed (want letters, digits, - or _)", id, c)
		}
	}
	return nil
}

// placeFlags are the global flags a request may not give: the daemon's
// machine decides the home, config, broker and unit, and the request's
// Experiment field the experiment.
var placeFlags = []string{"home", "config", "broker", "unit", "experiment"}

// checkArgv refuses a command line the daemon does not run.
func checkArgv(argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("empty command line: want run, run-script, kill or status")
	}
	switch argv[0] {
	case cluster.CommandRun, cluster.CommandRunScript:
		if len(argv) < 2 || strings.HasPrefix(argv[1], "-") {
			return fmt.Errorf("pio %s: name the %s first (e.g. pio run stirring)", argv[0], map[string]string{"run": "job", "run-script": "script"}[argv[0]])
		}
	case cluster.CommandKill, cluster.CommandStatus:
	default:
		return fmt.Errorf("command %q: the daemon runs only run, run-script, kill and status", argv[0])
	}
	for _, a := range argv[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && slices.Contains(placeFlags, name) {
			return fmt.Errorf("%s: a request may not choose the daemon's --%s (the experiment is the request's experiment field)", a, name)
		}
	}
	return nil
}

// serve runs one request and returns its reply.
func (d *Daemon) serve(req cluster.Request) cluster.Reply {
	if err := checkArgv(req.Argv); err != nil {
		return refused(req.ID, err)
	}
	experiment := d.experiment(req)
	if err := runtime.CheckExperimentName(experiment); err != nil {
		return refused(req.ID, fmt.Errorf("experiment: %w", err))
	}
	argv := slices.Clone(req.Argv)
	switch argv[0] {
	case cluster.CommandStatus:
		return cluster.Reply{ID: req.ID, OK: true, Value: d.Status()}
	case cluster.CommandKill:
		if req.Experiment != "" && (slices.Contains(argv, "--all") || slices.Contains(argv, "--all-jobs")) {
			// The leader's "stop every job of this experiment": the jobs of
			// the request's experiment only, by name.
			argv = d.experimentJobs(experiment)
			if len(argv) == 1 {
				return cluster.Reply{ID: req.ID, OK: true, Output: "no job of experiment " + experiment + " is running", Value: []string{}}
			}
		}
		return d.kill(req, argv)
	case cluster.CommandRunScript:
		if req.Script == nil {
			// A bare name is a script installed on the unit or one of
			// pio's library, which pio finds; a file travels with its content.
			if strings.ContainsAny(argv[1], `/.\`) {
				return refused(req.ID, fmt.Errorf("run-script %s: the request carries no script (a file travels with its content and checksum)", argv[1]))
			}
			break
		}
		path, err := d.writeScript(req.Script)
		if err != nil {
			return refused(req.ID, err)
		}
		argv[1] = path
	}
	argv = append(argv, "--experiment", experiment)
	return d.start(req, argv, experiment)
}

// start runs a command that starts a job, and replies once the job has
// started or the command has failed before it could.
func (d *Daemon) start(req cluster.Request, argv []string, experiment string) cluster.Reply {
	out := &replyWriter{log: d.o.Console, job: req.Argv[1]}
	type startResult struct {
		job runtime.Runner
		err error
	}
	started := make(chan startResult, 1)
	ended := make(chan error, 1)
	var once sync.Once
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		var job runtime.Runner
		err := d.o.Exec(d.jobs, argv, out, func(r runtime.Runner, err error) {
			once.Do(func() {
				if err == nil {
					job = r
					d.host(r, req, experiment)
				}
				started <- startResult{r, err}
			})
		})
		if job != nil {
			d.unhost(job)
			if err != nil {
				d.o.Console.Warn(fmt.Sprintf("%s ended: %v", job.JobName(), err))
			} else {
				d.o.Console.Info(fmt.Sprintf("%s ended", job.JobName()))
			}
		}
		ended <- err
	}()
	select {
	case s := <-started:
		if s.err != nil {
			return refused(req.ID, s.err)
		}
		name := s.job.JobName()
		fmt.Fprintf(out, "%s started under experiment %s (hosted by the unit's daemon)\n", name, experiment)
		return cluster.Reply{ID: req.ID, OK: true, Output: out.detach(), Value: map[string]string{"job": name, "experiment": experiment}}
	case err := <-ended:
		text := out.detach()
		if err != nil {
			return cluster.Reply{ID: req.ID, Output: text, Error: &cluster.Error{Kind: "refused", Message: err.Error()}}
		}
		return cluster.Reply{ID: req.ID, OK: true, Output: text} // a command that starts no job
	}
}

// host records a started job and who asked for it.
func (d *Daemon) host(r runtime.Runner, req cluster.Request, experiment string) {
	s := cluster.JobStatus{Job: r.JobName(), Experiment: experiment, StartedAt: time.Now().UTC(), Source: req.Source}
	if s.Source == "" {
		s.Source = req.Requester
	}
	if req.Script != nil {
		s.Script, s.SHA256 = req.Script.Name, req.Script.SHA256
	}
	d.mu.Lock()
	d.hosted[s.Job] = &hostedJob{status: s, job: r}
	d.mu.Unlock()
}

// unhost forgets a job that has ended.
func (d *Daemon) unhost(r runtime.Runner) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h, ok := d.hosted[r.JobName()]; ok && h.job == r {
		delete(d.hosted, r.JobName())
	}
}

// experimentJobs is the kill command line of every job of experiment on
// the unit, except the monitor and the daemon.
func (d *Daemon) experimentJobs(experiment string) []string {
	argv := []string{cluster.CommandKill}
	if d.o.Registry != nil {
		for _, e := range d.o.Registry.List() {
			if e.Experiment == experiment && e.Job != "monitor" && e.Job != cluster.JobName {
				argv = append(argv, e.Job)
			}
		}
		return argv
	}
	for _, s := range d.Status() {
		if s.Experiment == experiment {
			argv = append(argv, s.Job)
		}
	}
	return argv
}

// kill runs pio kill in-process; its value is the jobs that stopped.
func (d *Daemon) kill(req cluster.Request, argv []string) cluster.Reply {
	before := d.running()
	out := &replyWriter{log: d.o.Console, job: "kill"}
	err := d.o.Exec(d.jobs, argv, out, nil)
	text := out.detach()
	if err != nil {
		return cluster.Reply{ID: req.ID, Output: text, Error: &cluster.Error{Kind: "refused", Message: err.Error()}}
	}
	// The jobs asked to stop that were running; a job's entry may outlive
	// its stop by a moment (it releases its name last), so wait a little
	// for them to be gone before saying which are.
	var targets []string
	all := slices.Contains(argv, "--all") || slices.Contains(argv, "--all-jobs")
	for _, j := range before {
		if (all && j != "monitor" && j != cluster.JobName) || slices.Contains(argv[1:], j) {
			targets = append(targets, j)
		}
	}
	after := d.running()
	for deadline := time.Now().Add(killSettle); time.Now().Before(deadline) && anyOf(targets, after); {
		time.Sleep(20 * time.Millisecond)
		after = d.running()
	}
	stopped := []string{}
	for _, j := range targets {
		if !slices.Contains(after, j) {
			stopped = append(stopped, j)
		}
	}
	return cluster.Reply{ID: req.ID, OK: true, Output: text, Value: stopped}
}

// killSettle bounds the wait for stopped jobs' entries to go.
const killSettle = 2 * time.Second

// anyOf reports whether any of names is in list.
func anyOf(names, list []string) bool {
	for _, n := range names {
		if slices.Contains(list, n) {
			return true
		}
	}
	return false
}

// running names the unit's running jobs: the registry's (every process),
// else the daemon's own.
func (d *Daemon) running() []string {
	var names []string
	if d.o.Registry != nil {
		for _, e := range d.o.Registry.List() {
			names = append(names, e.Job)
		}
		return names
	}
	for _, s := range d.Status() {
		names = append(names, s.Job)
	}
	return names
}

// maxScriptBytes bounds a script sent with its content: the script, its
// modules and their paths together. A script is a few kilobytes; this is
// far above any, and far below what would strain a unit's memory or disk.
const maxScriptBytes = 1 << 20

// writeScript checks a script sent with its content and writes it, with
// its modules, under ScriptsDir/<sha256>/ (<sha256>-<modules' checksum>/
// with modules); it returns the script's path. A folder's files never
// change once written: another request for the same script with other
// modules gets a folder of its own, and each file is renamed into place
// whole, so a job loading its modules never reads a half-written one.
func (d *Daemon) writeScript(s *cluster.Script) (string, error) {
	if got := cluster.Checksum(s.Content); got != s.SHA256 {
		return "", fmt.Errorf("script %s: its content's sha256 is %s, not the %s it was sent with: it changed on the way; send it again", s.Name, got, s.SHA256)
	}
	name := filepath.Base(s.Name)
	if s.Name == "" || !strings.HasSuffix(name, ".star") {
		return "", fmt.Errorf("script name %q: want a file name ending in .star", s.Name)
	}
	size := len(s.Name) + len(s.Content)
	paths := make([]string, 0, len(s.Modules))
	for p, c := range s.Modules {
		if !filepath.IsLocal(p) || strings.Contains(p, `\`) {
			return "", fmt.Errorf("script %s: module path %q leaves the script's folder (want a relative path without ..)", s.Name, p)
		}
		if filepath.Clean(p) == "." || slices.Contains(paths, filepath.Clean(p)) {
			return "", fmt.Errorf("script %s: module path %q names no file, or one another path names too", s.Name, p)
		}
		if filepath.Clean(p) == name {
			return "", fmt.Errorf("script %s: module path %q is the script itself (a module needs a name of its own)", s.Name, p)
		}
		size += len(p) + len(c)
		paths = append(paths, filepath.Clean(p))
	}
	if size > maxScriptBytes {
		return "", fmt.Errorf("script %s: %d bytes with its modules, more than the %d a request may carry (the daemon's limit on scripts sent with their content)", s.Name, size, maxScriptBytes)
	}
	if d.o.ScriptsDir == "" {
		return "", &internalError{fmt.Errorf("script %s: this daemon has no folder for scripts", s.Name)}
	}
	files := map[string]string{name: s.Content}
	for p, c := range s.Modules {
		files[filepath.Clean(p)] = c
	}
	dir := filepath.Join(d.o.ScriptsDir, s.SHA256)
	if len(paths) > 0 {
		slices.Sort(paths)
		var all strings.Builder
		for _, p := range paths {
			fmt.Fprintf(&all, "%d:%s%d:%s", len(p), p, len(files[p]), files[p])
		}
		dir += "-" + cluster.Checksum(all.String())[:16]
	}
	for p, c := range files {
		if err := writeWhole(filepath.Join(dir, p), c); err != nil {
			return "", &internalError{fmt.Errorf("script %s: %w", s.Name, err)}
		}
	}
	return filepath.Join(dir, name), nil
}

// writeWhole writes content to path by renaming a finished temporary file
// into place: a reader sees the old file or the new one, never a part.
func writeWhole(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
