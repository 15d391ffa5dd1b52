package main

import (
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/script"
	"github.com/piolab/pio/unit"
)

// handOff is the app's Before: `pio run`, `pio run-script` and `pio kill`
// on a unit whose daemon is running (its "daemon" entry in the job
// registry is held) send the command line to the daemon over the broker,
// print its reply, and end; the job runs in the daemon and outlives the
// terminal. With --foreground (or PIO_FOREGROUND=1), inside the daemon
// itself, or with no daemon, the command runs here as before.
func handOff(c *cli.Context) error {
	if hostOf(c.Context) != nil || c.Bool("foreground") {
		return nil
	}
	args := c.Args().Slice()
	if len(args) < 2 || wantsHelp(args) {
		return nil
	}
	switch args[0] {
	case cluster.CommandRun, cluster.CommandRunScript:
		if strings.HasPrefix(args[1], "-") {
			return nil
		}
		if args[0] == cluster.CommandRun && args[1] == "experiment_profile" {
			return nil // a profile drives the cluster from here, reading its file here
		}
	case cluster.CommandKill:
		if slices.Contains(args, cluster.JobName) {
			return nil // pio kill daemon: signals it from here
		}
	default:
		return nil
	}
	argv, globals := splitGlobals(args)
	uo := unitOptions(c, globals)
	reg, err := unit.JobRegistry(uo)
	if err != nil {
		return nil // the command says what is wrong
	}
	if _, ok := reg.Lookup(cluster.JobName); !ok {
		return nil
	}
	cfg, err := unit.LoadConfig(uo)
	if err != nil {
		return err
	}
	o, err := cfg.Options()
	if err != nil {
		return err
	}
	unitName, _ := unit.Identity(o, uo)
	req := cluster.Request{Argv: argv, Experiment: uo.Experiment, Source: "cli", Requester: localUser()}
	if argv[0] == cluster.CommandRunScript {
		if req.Script, err = scriptToSend(uo, argv[1]); err != nil {
			return err
		}
		if req.Script != nil {
			req.Argv[1] = req.Script.Name
		}
	}
	client, err := unit.DialBroker(uo, fmt.Sprintf("pio-handoff-%d", os.Getpid()), 5*time.Second)
	if err != nil {
		return fmt.Errorf("the unit's daemon runs, but its broker does not answer (%v); use --foreground to run here", err)
	}
	defer client.Close()
	timeout := o.Cluster.RequestTimeout
	if argv[0] == cluster.CommandKill {
		timeout += 30 * time.Second // kill waits for each job to stop
	}
	rep := cluster.NewRequester(client, timeout).Send(c.Context, unitName, req)
	fmt.Fprint(c.App.Writer, rep.Output)
	if !rep.OK {
		msg := rep.Error.Message
		if rep.Error.Remediation != "" {
			msg += " (" + rep.Error.Remediation + ")"
		}
		return &exitError{code: 1, msg: msg}
	}
	return &exitError{code: 0} // done: the command does not run here
}

// splitGlobals takes the global flags given after the command out of
// args: the daemon decides where it runs, the request says the experiment.
func splitGlobals(args []string) (argv []string, globals map[string]string) {
	globals = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !globalFlagNames[name] {
			argv = append(argv, a)
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		globals[name] = value
	}
	return argv, globals
}

// scriptToSend reads the script run-script names, with the local modules
// it loads, to travel with the request. A name that is no file (a script
// installed on the unit, or one of pio's library) travels as the name: the
// daemon finds it.
func scriptToSend(uo unit.Options, name string) (*cluster.Script, error) {
	if _, err := os.Stat(name); err != nil && !strings.ContainsAny(name, "/.") {
		return nil, nil
	}
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	mods := map[string]string{}
	localLoads(filepath.Dir(name), filepath.Base(name), src, mods)
	if len(mods) == 0 {
		mods = nil
	}
	return cluster.NewScript(filepath.Base(name), string(src), mods), nil
}

// localLoads adds to mods the files next to the script that its load
// statements name, and theirs, by reading the statements (the script's
// code does not run here). Names that are no file here are pio's library
// modules, which the daemon has.
func localLoads(root, rel string, src []byte, mods map[string]string) {
	f, err := script.FileOptions.Parse(rel, src, 0)
	if err != nil {
		return // the daemon reports the syntax error
	}
	for _, st := range f.Stmts {
		ld, ok := st.(*syntax.LoadStmt)
		if !ok {
			continue
		}
		name, _ := ld.Module.Value.(string)
		if strings.HasPrefix(name, "@") || path.IsAbs(name) || strings.Contains(name, `\`) {
			continue
		}
		p := path.Join(path.Dir(filepath.ToSlash(rel)), name)
		if !filepath.IsLocal(p) {
			continue
		}
		if _, seen := mods[p]; seen {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			continue
		}
		mods[p] = string(b)
		localLoads(root, p, b, mods)
	}
}

// localUser names who ran the command, for the daemon's job record.
func localUser() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// foregroundFirst moves --foreground, wherever it was typed, to the front
// of the command line, where the app's global flag reads it (run-script
// and automations pass their other flags to the script).
func foregroundFirst(args []string) []string {
	if len(args) < 2 {
		return args
	}
	rest := slices.DeleteFunc(slices.Clone(args[1:]), func(a string) bool { return a == "--foreground" || a == "-foreground" })
	if len(rest) == len(args)-1 {
		return args
	}
	return append([]string{args[0], "--foreground"}, rest...)
}
