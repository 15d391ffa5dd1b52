package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/leaderclient"
	"github.com/piolab/pio/unit"
)

// session is a parsed command line with its leader's client.
type session struct {
	cmdline
	lc  *leaderclient.Client
	out io.Writer
}

// open parses a command's arguments (global flags given before the command
// count too) and makes the leader's client.
func open(c *cli.Context, options bool, boolFlags ...string) (*session, error) {
	cl, err := parseArgs(c.Args().Slice(), options, boolFlags...)
	if err != nil {
		return nil, err
	}
	app := c.Lineage()[len(c.Lineage())-1]
	for _, l := range c.Lineage() {
		if l.App != nil {
			app = l
		}
	}
	cl.units = append(splitAll(app.StringSlice("units")), cl.units...)
	cl.exps = append(splitAll(app.StringSlice("experiments")), cl.exps...)
	pick := func(local, global string) string {
		if local != "" {
			return local
		}
		return app.String(global)
	}
	cl.home, cl.config, cl.leader = pick(cl.home, "home"), pick(cl.config, "config"), pick(cl.leader, "leader")
	if len(cl.units) > 0 && len(cl.exps) > 0 {
		return nil, usageError("--units and --experiments select units two ways: give one of them")
	}
	cfg, err := unit.LoadConfig(unit.Options{Home: cl.home, ConfigFile: cl.config})
	if err != nil {
		return nil, err
	}
	o, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	lc, err := leaderclient.New(leaderclient.ConfigOptions(o.Cluster, cl.leader))
	if err != nil {
		return nil, err
	}
	return &session{cmdline: cl, lc: lc, out: c.App.Writer}, nil
}

func splitAll(vs []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, splitList(v)...)
	}
	return out
}

// target is where one request goes: a unit (or leaderclient.Broadcast) and
// the experiment its job runs under.
type target struct {
	unit, exp string
}

// targets resolves the selectors. --experiments E: the active workers
// assigned to E, in one request to $broadcast under E. --units, or by
// default every active worker: one request per unit, under the experiment
// it is assigned to ($experiment when none). A unit the leader does not
// know, or an inactive one, is a failed result and gets no request.
func (s *session) targets(ctx context.Context) ([]target, []leaderclient.Result, error) {
	if len(s.exps) > 0 {
		var ts []target
		for _, e := range s.exps {
			ws, err := s.lc.ExperimentWorkers(ctx, e)
			if err != nil {
				return nil, nil, err
			}
			if !slices.ContainsFunc(ws, func(w leaderclient.Worker) bool { return bool(w.IsActive) }) {
				return nil, nil, fmt.Errorf("no active worker is assigned to experiment %s (pio experiments assign %s UNIT)", e, e)
			}
			ts = append(ts, target{leaderclient.Broadcast, e})
		}
		return ts, nil, nil
	}
	ws, err := s.lc.Workers(ctx)
	if err != nil {
		return nil, nil, err
	}
	as, err := s.lc.Assignments(ctx)
	if err != nil {
		return nil, nil, err
	}
	exp := map[string]string{}
	for _, a := range as {
		exp[a.Unit] = a.Experiment
	}
	known := map[string]leaderclient.Worker{}
	var names []string
	for _, w := range ws {
		known[w.Unit] = w
		names = append(names, w.Unit)
	}
	units := s.units
	if len(units) == 0 {
		for _, w := range ws {
			if w.IsActive {
				units = append(units, w.Unit)
			}
		}
		if len(units) == 0 {
			return nil, nil, fmt.Errorf("the leader at %s has no active workers (pio workers add NAME)", s.lc.URL())
		}
	}
	var ts []target
	var refused []leaderclient.Result
	seen := map[string]bool{}
	for _, u := range units {
		if seen[u] {
			continue
		}
		seen[u] = true
		w, ok := known[u]
		switch {
		case !ok:
			refused = append(refused, failed(u, fmt.Sprintf("not a worker of the leader at %s (its workers: %s; pio workers add %s)", s.lc.URL(), listOrNone(names), u)))
		case !bool(w.IsActive):
			refused = append(refused, failed(u, fmt.Sprintf("inactive (pio workers update-active %s 1)", u)))
		default:
			e := exp[u]
			if e == "" {
				e = leaderclient.Universal
			}
			ts = append(ts, target{u, e})
		}
	}
	return ts, refused, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func failed(unit, msg string) leaderclient.Result {
	return leaderclient.Result{Unit: unit, Error: &leaderclient.UnitError{Kind: "refused", Message: msg}}
}

// outcome is one unit's result and the experiment it ran under.
type outcome struct {
	leaderclient.Result
	exp string
}

// fan sends one request per target at the same time and gathers each
// unit's result, sorted by unit. A request that fails as a whole fails each
// unit it was for; for $broadcast, it is returned as the error when no
// unit answered at all.
func (s *session) fan(ctx context.Context, ts []target, refused []leaderclient.Result, send func(t target) ([]leaderclient.Result, error)) ([]outcome, error) {
	var mu sync.Mutex
	var out []outcome
	for _, r := range refused {
		out = append(out, outcome{Result: r})
	}
	var errs []error
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Go(func() {
			rs, err := send(t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if t.unit == leaderclient.Broadcast {
					errs = append(errs, fmt.Errorf("experiment %s: %w", t.exp, err))
					return
				}
				out = append(out, outcome{Result: failed(t.unit, err.Error()), exp: t.exp})
				return
			}
			for _, r := range rs {
				out = append(out, outcome{Result: r, exp: t.exp})
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 && len(out) == 0 {
		return nil, errs[0]
	}
	for _, err := range errs {
		out = append(out, outcome{Result: failed("(all)", err.Error())})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out, nil
}

// report prints one line per unit: done(o) for a success, "failed: why"
// for a failure, and returns exit status 1 if any unit failed.
func (s *session) report(out []outcome, done func(o outcome) string) error {
	bad := false
	for _, o := range out {
		if o.OK {
			fmt.Fprintf(s.out, "%s: %s\n", o.Unit, done(o))
		} else {
			bad = true
			fmt.Fprintf(s.out, "%s: failed: %s\n", o.Unit, o.Error.Error())
		}
	}
	if len(out) == 0 {
		fmt.Fprintln(s.out, "no unit answered")
		bad = true
	}
	if bad {
		return &exitError{code: 1}
	}
	return nil
}

// started reads a start's value: {"job", "experiment"} as the daemon
// replies; missing fields are what was asked.
func started(o outcome, job string) (string, string) {
	var v struct {
		Job        string `json:"job"`
		Experiment string `json:"experiment"`
	}
	_ = json.Unmarshal(o.Value, &v)
	if v.Job == "" {
		v.Job = job
	}
	if v.Experiment == "" {
		v.Experiment = o.exp
	}
	return v.Job, v.Experiment
}
