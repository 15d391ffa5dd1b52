package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/profile"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/topic"
	"github.com/piolab/pio/unit"
)

const profileJob = "experiment_profile"

func experimentProfileCommand() *cli.Command {
	return &cli.Command{
		Name:  profileJob,
		Usage: "check or run an experiment profile (a YAML schedule of job actions, docs/experiment-profiles.md)",
		Subcommands: []*cli.Command{
			{
				Name:      "verify",
				Usage:     "check a profile and list every problem with its line and column",
				ArgsUsage: "FILE.yaml",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("verify takes one profile file, got %d arguments", c.NArg())
					}
					p, err := loadProfile(c, c.Args().First())
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "%s: ok, %q: %d actions\n", p.File, p.Name, countActions(p))
					return nil
				},
			},
			{
				Name:      "execute",
				Usage:     "check a profile, then run it (on the leader) until its last action or Ctrl-C",
				ArgsUsage: "FILE.yaml [EXPERIMENT]",
				Flags: append([]cli.Flag{
					&cli.BoolFlag{Name: "dry-run", Usage: "print the timeline and do nothing"},
					&cli.StringFlag{Name: "units", Usage: "the workers of common, comma-separated (default: the experiment's workers from the leader's API)"},
				}, globalFlagsAfterCommand()...),
				Action: executeProfile,
			},
		},
	}
}

// profileCheck is what a profile is checked against: pio's jobs and the
// options each start takes, read from the run command itself.
func profileCheck() profile.Check {
	jobs := map[string][]string{}
	for _, cmd := range runCommand().Subcommands {
		if cmd.Name == profileJob {
			continue
		}
		var opts []string
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			if globalFlagNames[name] {
				continue
			}
			opts = append(opts, strings.ReplaceAll(name, "-", "_"))
		}
		jobs[cmd.Name] = opts
	}
	return profile.Check{Jobs: jobs}
}

// boolOptions are the options of job's start that take no value.
func boolOptions(job string) map[string]bool {
	out := map[string]bool{}
	for _, cmd := range runCommand().Subcommands {
		if cmd.Name != job {
			continue
		}
		for _, f := range cmd.Flags {
			if _, ok := f.(*cli.BoolFlag); ok {
				out[strings.ReplaceAll(f.Names()[0], "-", "_")] = true
			}
		}
	}
	return out
}

func countActions(p *profile.Profile) int {
	n := 0
	p.Walk(func(string, string, *profile.Action) { n++ })
	return n
}

// loadProfile checks file; every problem goes to stderr, one a line.
func loadProfile(c *cli.Context, file string) (*profile.Profile, error) {
	p, err := profile.Load(file, profileCheck())
	var es profile.Errors
	if errors.As(err, &es) {
		fmt.Fprintln(c.App.ErrWriter, es.Error())
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s); nothing was started", file, len(es))}
	}
	if err != nil {
		return nil, fmt.Errorf("experiment profile: %w", err)
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(c.App.ErrWriter, "warning:", w)
	}
	return p, nil
}

// executeArgs splits execute's arguments: the file, the experiment, and
// the flags, which may also follow them (FILE EXP --dry-run).
func executeArgs(c *cli.Context) (pos []string, flags map[string]string, err error) {
	flags = localGlobalFlags(c)
	if c.Bool("dry-run") {
		flags["dry-run"] = "true"
	}
	if c.IsSet("units") {
		flags["units"] = c.String("units")
	}
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			pos = append(pos, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		switch {
		case name == "dry-run":
			flags[name] = "true"
		case name == "units" || globalFlagNames[name]:
			if !hasValue {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("--%s needs a value", name)
				}
				i++
				value = args[i]
			}
			flags[name] = value
		default:
			return nil, nil, fmt.Errorf("execute has no flag --%s (flags: --dry-run, --units a,b)", name)
		}
	}
	if len(pos) < 1 || len(pos) > 2 {
		return nil, nil, fmt.Errorf("execute takes a profile file and an optional experiment, got %d arguments", len(pos))
	}
	return pos, flags, nil
}

func executeProfile(c *cli.Context) error {
	pos, flags, err := executeArgs(c)
	if err != nil {
		return err
	}
	p, err := loadProfile(c, pos[0])
	if err != nil {
		return err
	}
	dryRun := flags["dry-run"] == "true"
	opts := unitOptions(appContext(c), flags)
	if len(pos) == 2 {
		opts.Experiment = pos[1]
	}
	cfg, err := unit.LoadConfig(opts)
	if err != nil {
		return err
	}
	o, err := cfg.Options()
	if err != nil {
		return err
	}
	self, exp := unit.Identity(o, opts)
	if err := unit.CheckIdentity(self, exp); err != nil {
		return err
	}
	var workers []string
	if s := flags["units"]; s != "" {
		workers = config.List(s)
	} else if len(p.Common) > 0 {
		workers, err = experimentWorkers(c.Context, o.Cluster, exp)
		if err != nil && !dryRun {
			return fmt.Errorf("the workers of common: %v (give them with --units a,b)", err)
		}
	}
	if dryRun {
		fmt.Fprintf(c.App.Writer, "%s (%s), experiment %s, dry run:\n", p.Name, p.File, exp)
		profile.WritePlan(c.App.Writer, p, workers)
		return nil
	}
	return runProfile(c, p, opts, o, self, exp, workers)
}

// experimentWorkers asks the leader's API for the workers assigned to exp.
func experimentWorkers(ctx context.Context, co config.ClusterOptions, exp string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, co.RequestTimeout)
	defer cancel()
	url := co.LeaderURL() + "/api/experiments/" + exp + "/workers"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var rows []struct {
		Unit     string `json:"pioreactor_unit"`
		IsActive *int   `json:"is_active"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	var out []string
	for _, r := range rows {
		if r.Unit != "" && (r.IsActive == nil || *r.IsActive != 0) {
			out = append(out, r.Unit)
		}
	}
	sort.Strings(out)
	return out, nil
}

func runProfile(c *cli.Context, p *profile.Profile, opts unit.Options, o config.Options, self, exp string, workers []string) error {
	reg, err := unit.JobRegistry(opts)
	if err != nil {
		return err
	}
	release, err := reg.Acquire(profileJob, self, exp)
	if err != nil {
		return err
	}
	defer release()
	client, err := unit.DialBroker(opts, fmt.Sprintf("%s-%s-%d", self, profileJob, os.Getpid()), o.Cluster.RequestTimeout)
	if err != nil {
		return err
	}
	defer client.Close()

	ctx, stop := stopOnSignal()
	defer stop()
	// The job's $state is pio's (pio kill experiment_profile); the run's
	// own values are under its run id, as upstream's are under its job id
	// (pioreactor/<unit>/<exp>/experiment_profile/<id>/experiment_profile_name
	// is what the leader stores in experiment_profile_runs).
	runID := cluster.NewID()[:16]
	pub := func(setting, v string) {
		if setting == "$state" {
			_ = client.Publish(topic.Setting(self, exp, profileJob, setting), []byte(v), 1, true)
		}
		_ = client.Publish(topic.Setting(self, exp, profileJob+"/"+runID, setting), []byte(v), 1, true)
	}
	// pio kill experiment_profile, or a /set from the UI, ends the run.
	setTopic := topic.Set(self, exp, profileJob, "$state")
	if err := client.Subscribe(setTopic, 1, func(m pubsub.Message) {
		if string(m.Payload) == "disconnected" {
			stop()
		}
	}); err != nil {
		return err
	}
	clk := sched.NewReal(clock.Real{})
	cl := newProfileCluster(client, o.Cluster.RequestTimeout, self, exp, runID, clk.Now)
	r := &profile.Runner{
		Profile: p, Cluster: cl, Clock: clk, Experiment: exp, Workers: workers,
		Random: rand.Float64,
		Logf: func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			fmt.Fprintln(c.App.ErrWriter, msg)
			_ = cl.Log(ctx, self, "DEBUG", msg)
		},
		OnAction: func(done int) { pub("action_count", fmt.Sprint(done)) },
	}
	pub("$state", "init")
	pub("experiment_profile_name", p.Name)
	pub("profile_filename", filepath.Base(p.File))
	pub("start_time_utc", payload.LogTimestamp(clk.Now()))
	pub("action_count", "0")
	pub("$state", "ready")
	fmt.Fprintf(c.App.ErrWriter, "%s: running %q in experiment %s on %s\n", profileJob, p.Name, exp, strings.Join(append(append([]string(nil), workers...), unitsOf(p)...), ", "))
	err = r.Run(ctx)
	_ = client.Unsubscribe(setTopic)
	pub("$state", "disconnected")
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(c.App.ErrWriter, "%s: stopped; the jobs it started were asked to stop\n", profileJob)
		return nil
	}
	return err
}

func unitsOf(p *profile.Profile) []string {
	var out []string
	for _, u := range p.Units {
		out = append(out, u.Unit)
	}
	return out
}

// profileCluster is profile.Cluster on the cluster: starts go to the units'
// daemons, sets and states are MQTT /set messages, reads are the retained
// values of the settings.
type profileCluster struct {
	client       pubsub.Client
	req          *cluster.Requester
	self, exp    string
	source       string           // experiment_profile/<run id>, the started jobs' source
	now          func() time.Time // the profile's clock
	mu           sync.Mutex
	values       map[string]string // topic -> retained payload
	subscribedTo map[string]bool
}

// newProfileCluster returns the cluster of run runID of a profile started
// on unit self in experiment exp, whose requests wait timeout for a reply.
func newProfileCluster(client pubsub.Client, timeout time.Duration, self, exp, runID string, now func() time.Time) *profileCluster {
	req := cluster.NewRequester(client, timeout)
	req.Name = profileJob
	return &profileCluster{client: client, req: req, self: self, exp: exp, source: profileJob + "/" + runID, now: now,
		values: map[string]string{}}
}

func (pc *profileCluster) Start(ctx context.Context, u, job string, options map[string]string, args []string) error {
	argv := []string{cluster.CommandRun, job}
	argv = append(argv, args...)
	bools := boolOptions(job)
	names := make([]string, 0, len(options))
	for k := range options {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		flag := "--" + strings.ReplaceAll(k, "_", "-")
		if bools[k] {
			if v := strings.ToLower(options[k]); v == "true" || v == "1" || v == "" {
				argv = append(argv, flag)
			}
			continue
		}
		argv = append(argv, flag, options[k])
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s on %s not started: %w", job, u, err)
	}
	// Once sent, the start may happen whatever this side does: wait for
	// the answer (within the request timeout) even after Ctrl-C, so that
	// a started job is known and stopped with the run.
	reply := pc.req.Send(context.WithoutCancel(ctx), u, cluster.Request{Argv: argv, Experiment: pc.exp, Source: pc.source, SentAt: pc.now().UTC()})
	if !reply.OK {
		if reply.Error != nil {
			return fmt.Errorf("%s on %s not started (%s): %s", job, u, reply.Error.Kind, reply.Error.Message)
		}
		return fmt.Errorf("%s on %s not started", job, u)
	}
	return nil
}

func (pc *profileCluster) Set(_ context.Context, u, job, setting, value string) error {
	return pc.client.Publish(topic.Set(u, pc.exp, job, setting), []byte(value), 1, false)
}

func (pc *profileCluster) State(ctx context.Context, u, job, state string) error {
	return pc.Set(ctx, u, job, "$state", state)
}

func (pc *profileCluster) Log(_ context.Context, u, level, msg string) error {
	rec := payload.LogRecord{Message: msg, Level: level, Task: profileJob, Source: "app", Timestamp: payload.LogTimestamp(pc.now())}
	return pc.client.Publish(topic.Log(pc.self, pc.exp, "app", level), rec.AppendJSON(nil), 1, false)
}

// Read subscribes to the setting's topic the first time it is asked for,
// waits a moment for its retained value, and keeps it up to date after.
func (pc *profileCluster) Read(ctx context.Context, u, job, setting string) (string, bool) {
	t := topic.Setting(u, pc.exp, job, setting)
	pc.mu.Lock()
	if pc.subscribedTo == nil {
		pc.subscribedTo = map[string]bool{}
	}
	first := !pc.subscribedTo[t]
	pc.subscribedTo[t] = true
	pc.mu.Unlock()
	if first {
		got := make(chan struct{}, 1)
		err := pc.client.Subscribe(t, 1, func(m pubsub.Message) {
			pc.mu.Lock()
			if len(m.Payload) == 0 {
				delete(pc.values, t)
			} else {
				pc.values[t] = string(m.Payload)
			}
			pc.mu.Unlock()
			select {
			case got <- struct{}{}:
			default:
			}
		})
		if err == nil {
			select { // a retained value comes right after the SUBACK
			case <-got:
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	v, ok := pc.values[t]
	return v, ok
}
