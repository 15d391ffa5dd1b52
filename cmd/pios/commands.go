package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leaderclient"
	"github.com/piolab/pio/script"
)

// command makes a pios command whose arguments pios parses itself, so that
// job options (--target-rpm 500) and selectors may come in any order.
func command(name, usage, argsUsage, desc string, action cli.ActionFunc) *cli.Command {
	return &cli.Command{
		Name: name, Usage: usage, ArgsUsage: argsUsage, Description: desc,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			for _, a := range c.Args().Slice() {
				if a == "-h" || a == "--help" {
					return cli.ShowCommandHelp(c, name)
				}
			}
			return action(c)
		},
	}
}

func runCommand() *cli.Command {
	return command("run", "start a job on the selected units", "JOB [ARG...] [--<option> VALUE]... [--units U,...|--experiments E]",
		"Options are the job's, as for pio run (--target-rpm 500); a --flag with no value is sent as a\n"+
			"bare flag. Each unit starts the job under the experiment it is assigned to.",
		func(c *cli.Context) error {
			s, err := open(c, true)
			if err != nil {
				return err
			}
			if len(s.pos) == 0 {
				return usageError("usage: pios run JOB [--<option> VALUE]... (no job given)")
			}
			job, args := s.pos[0], s.pos[1:]
			ts, refused, err := s.targets(c.Context)
			if err != nil {
				return err
			}
			out, err := s.fan(c.Context, ts, refused, func(t target) ([]leaderclient.Result, error) {
				return s.lc.RunJob(c.Context, t.unit, t.exp, job, leaderclient.Job{Options: s.options, Args: args})
			})
			if err != nil {
				return err
			}
			return s.report(out, func(o outcome) string {
				j, e := started(o, job)
				return fmt.Sprintf("started %s (%s)", j, e)
			})
		})
}

func runScriptCommand() *cli.Command {
	return command("run-script", "run a Starlark script on the selected units; it travels with its content", "FILE.star [--<setting> VALUE]... [--units U,...|--experiments E]",
		"The script and the local modules it load()s are read here and sent to each unit, which needs\n"+
			"no copy. Settings are the script's, as for pio run-script.",
		func(c *cli.Context) error {
			s, err := open(c, true)
			if err != nil {
				return err
			}
			if len(s.pos) != 1 {
				return usageError("usage: pios run-script FILE.star [--<setting> VALUE]... (got %d files)", len(s.pos))
			}
			sc, err := readScript(s.pos[0])
			if err != nil {
				return err
			}
			ts, refused, err := s.targets(c.Context)
			if err != nil {
				return err
			}
			out, err := s.fan(c.Context, ts, refused, func(t target) ([]leaderclient.Result, error) {
				return s.lc.RunScript(c.Context, t.unit, t.exp, sc, s.options)
			})
			if err != nil {
				return err
			}
			return s.report(out, func(o outcome) string {
				j, e := started(o, strings.TrimSuffix(sc.Name, ".star"))
				return fmt.Sprintf("started %s (%s)", j, e)
			})
		})
}

// readScript reads a script and the local modules it loads, as a check
// loads it: a script that does not load is refused here, before any unit
// is asked.
func readScript(file string) (leaderclient.Script, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return leaderclient.Script{}, err
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return leaderclient.Script{}, err
	}
	m, err := script.LoadModule(abs, src, "pios", "pios")
	if err != nil {
		return leaderclient.Script{}, fmt.Errorf("%s does not load, nothing was sent: %w", file, err)
	}
	sc := leaderclient.Script{Name: filepath.Base(abs), Content: string(src)}
	top := filepath.Dir(abs)
	for _, p := range m.Loads {
		rel, err := filepath.Rel(top, p)
		if err != nil || !filepath.IsLocal(rel) {
			return sc, fmt.Errorf("%s loads %s, which is outside its folder %s", file, p, top)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return sc, err
		}
		if sc.Modules == nil {
			sc.Modules = map[string]string{}
		}
		sc.Modules[filepath.ToSlash(rel)] = string(b)
	}
	return sc, nil
}

func killCommand() *cli.Command {
	return command("kill", "stop a job, or every job, on the selected units", "JOB | --all-jobs [--units U,...|--experiments E]",
		"Stops JOB (pumps off, $state disconnected), or with --all-jobs every job of the unit's experiment.",
		func(c *cli.Context) error {
			s, err := open(c, false, "all-jobs")
			if err != nil {
				return err
			}
			all := s.bools["all-jobs"]
			if (len(s.pos) == 0) == !all || len(s.pos) > 1 {
				return usageError("usage: pios kill JOB | pios kill --all-jobs (name one job, or --all-jobs)")
			}
			ts, refused, err := s.targets(c.Context)
			if err != nil {
				return err
			}
			out, err := s.fan(c.Context, ts, refused, func(t target) ([]leaderclient.Result, error) {
				if all {
					return s.lc.StopAll(c.Context, t.unit, t.exp)
				}
				return s.lc.StopJob(c.Context, t.unit, t.exp, s.pos[0])
			})
			if err != nil {
				return err
			}
			return s.report(out, func(o outcome) string {
				if stopped := stoppedJobs(o.Value); stopped != "" {
					return fmt.Sprintf("stopped %s (%s)", stopped, o.exp)
				}
				if all {
					return fmt.Sprintf("stopped every job (%s)", o.exp)
				}
				return fmt.Sprintf("stopped %s (%s)", s.pos[0], o.exp)
			})
		})
}

// stoppedJobs names the jobs of a kill's value: a list of names or of
// {"job"} objects. "" when the value says nothing of them.
func stoppedJobs(v json.RawMessage) string {
	var names []string
	if json.Unmarshal(v, &names) == nil && len(names) > 0 {
		return strings.Join(names, ", ")
	}
	var jobs []leaderclient.RunningJob
	if json.Unmarshal(v, &jobs) == nil && len(jobs) > 0 {
		for _, j := range jobs {
			names = append(names, j.Job)
		}
		return strings.Join(names, ", ")
	}
	if json.Unmarshal(v, &jobs) == nil && jobs != nil {
		return "no jobs"
	}
	return ""
}

func jobsCommand() *cli.Command {
	set := command("set", "change a setting of a running job on the selected units", "JOB SETTING VALUE [--units U,...|--experiments E]",
		"Publishes the new value to the job on each unit (pioreactor/<unit>/<experiment>/<job>/<setting>/set);\n"+
			"dashes in SETTING become underscores.",
		func(c *cli.Context) error {
			s, err := open(c, false)
			if err != nil {
				return err
			}
			if len(s.pos) != 3 {
				return usageError("usage: pios jobs set JOB SETTING VALUE (got %d arguments)", len(s.pos))
			}
			job, setting, value := s.pos[0], strings.ReplaceAll(s.pos[1], "-", "_"), s.pos[2]
			ts, refused, err := s.targets(c.Context)
			if err != nil {
				return err
			}
			out, err := s.fan(c.Context, ts, refused, func(t target) ([]leaderclient.Result, error) {
				return s.lc.UpdateJob(c.Context, t.unit, t.exp, job, map[string]any{setting: value})
			})
			if err != nil {
				return err
			}
			return s.report(out, func(o outcome) string {
				return fmt.Sprintf("set %s %s = %s (%s)", job, setting, value, o.exp)
			})
		})
	return &cli.Command{
		Name:        "jobs",
		Usage:       "the jobs of the selected units",
		Subcommands: []*cli.Command{set},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowSubcommandHelp(c)
			}
			return usageError("unknown command %q; see pios jobs --help", c.Args().First())
		},
	}
}

func statusCommand() *cli.Command {
	return command("status", "each worker: active or not, its experiment and its running jobs", "[--units U,...]", "",
		func(c *cli.Context) error {
			s, err := open(c, false)
			if err != nil {
				return err
			}
			if len(s.pos) > 0 {
				return usageError("usage: pios status [--units U,...] (unexpected %q)", s.pos[0])
			}
			st, err := s.lc.Status(c.Context)
			if err != nil {
				return err
			}
			want := map[string]bool{}
			for _, u := range s.units {
				want[u] = true
			}
			sort.Slice(st, func(i, j int) bool { return st[i].Unit < st[j].Unit })
			bad := false
			for _, w := range st {
				if len(want) > 0 && !want[w.Unit] {
					continue
				}
				if len(s.exps) > 0 && !contains(s.exps, w.Experiment) {
					continue
				}
				delete(want, w.Unit)
				active := "active"
				if !w.IsActive {
					active = "inactive"
				}
				exp := w.Experiment
				if exp == "" {
					exp = "unassigned"
				}
				fmt.Fprintf(s.out, "%s: %s, %s: %s\n", w.Unit, active, exp, w.JobsLine())
				if w.Err != nil {
					bad = true
				}
			}
			for _, u := range slices.Sorted(maps.Keys(want)) {
				fmt.Fprintf(s.out, "%s: failed: not a worker of the leader at %s\n", u, s.lc.URL())
				bad = true
			}
			if bad {
				return &exitError{code: 1}
			}
			return nil
		})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
