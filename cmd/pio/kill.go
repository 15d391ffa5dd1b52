package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/topic"
	"github.com/piolab/pio/unit"
)

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "stop jobs cleanly: pumps off, $state disconnected",
		ArgsUsage: "JOB... | --all",
		Description: "Asks each job to stop over MQTT ($state/set = disconnected), as the UI does, and waits\n" +
			"for it to finish; a job that does not stop within --wait gets SIGTERM, then SIGKILL.\n" +
			"--all stops every job except the long-running monitor.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"all-jobs"}, Usage: "stop every job on this unit except monitor (--all-jobs, upstream's name, is the same)"},
			&cli.DurationFlag{Name: "wait", Value: 5 * time.Second, Usage: "how long to wait for each step"},
		}, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			opts := unitOptions(appContext(c), localGlobalFlags(c))
			reg, err := unit.JobRegistry(opts)
			if err != nil {
				return err
			}
			var targets []runtime.Entry
			if c.Bool("all") {
				for _, e := range reg.List() {
					if e.Job != "monitor" && e.Job != "daemon" {
						targets = append(targets, e)
					}
				}
			} else {
				if c.NArg() == 0 {
					return fmt.Errorf("name a job (e.g. pio kill dosing_automation) or use --all")
				}
				for _, name := range c.Args().Slice() {
					if strings.HasPrefix(name, "-") {
						return fmt.Errorf("%s after the job names: flags go first (pio kill --home DIR JOB...)", name)
					}
				}
				for _, name := range c.Args().Slice() {
					e, ok := reg.Lookup(name)
					if !ok {
						return fmt.Errorf("no job named %s is running on this unit", name)
					}
					targets = append(targets, e)
				}
			}
			// Without a broker, stopJob falls back to signals.
			client, dialErr := unit.DialBroker(opts, fmt.Sprintf("pio-kill-%d", os.Getpid()), 2*time.Second)
			if dialErr == nil {
				defer client.Close()
			}
			wait := c.Duration("wait")
			killed := 0
			host := hostOf(c.Context)
			for _, e := range targets {
				if host != nil && e.PID == os.Getpid() {
					// A job of the daemon running this kill: stopped in-process.
					if e.Job == "daemon" {
						return fmt.Errorf("the daemon does not stop itself on request: stop it with SIGTERM (systemctl stop pio-daemon), or pio kill daemon on the unit")
					}
					if host.stop(e.Job) && stopped(reg, e, wait) {
						fmt.Fprintf(c.App.Writer, "%s stopped (hosted by the unit's daemon).\n", e.Job)
						killed++
					}
					continue
				}
				if stopJob(c.App.Writer, reg, client, e, wait) {
					killed++
				}
			}
			fmt.Fprintf(c.App.Writer, "Killed %d jobs.\n", killed)
			return nil
		},
	}
}

// globalFlagsAfterCommand are the global flags that kill also takes after
// its name (pio kill --home DIR JOB), as run-script and simulate do.
func globalFlagsAfterCommand() []cli.Flag {
	var flags []cli.Flag
	for _, name := range slices.Sorted(maps.Keys(globalFlagNames)) {
		flags = append(flags, &cli.StringFlag{Name: name, Usage: "as the global --" + name})
	}
	return flags
}

// appContext is the context of the global flags (the app's), above c.
func appContext(c *cli.Context) *cli.Context {
	app := c
	for _, l := range c.Lineage() { // c, its parents, then an empty context
		if l.App != nil {
			app = l
		}
	}
	return app
}

// localGlobalFlags are the global flags given after the command's name. The
// others are read from the top-level context: a command's own flag of the
// same name hides the global one from c.String.
func localGlobalFlags(c *cli.Context) map[string]string {
	set := map[string]string{}
	for _, name := range c.LocalFlagNames() { // c.IsSet would also see the parents' flags
		if globalFlagNames[name] {
			set[name] = c.String(name)
		}
	}
	return set
}

// stopped waits up to d for the job of e to leave the registry.
func stopped(reg *runtime.Registry, e runtime.Entry, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if cur, ok := reg.Lookup(e.Job); !ok || cur.PID != e.PID {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopJob stops one job: MQTT first, then signals. It reports success.
func stopJob(out io.Writer, reg *runtime.Registry, client pubsub.Client, e runtime.Entry, wait time.Duration) bool {
	gone := func(d time.Duration) bool { return stopped(reg, e, d) }
	if client != nil {
		t := topic.Set(e.Unit, e.Experiment, e.Job, "$state")
		if err := client.Publish(t, []byte(runtime.Disconnected), 1, false); err == nil && gone(wait) {
			fmt.Fprintf(out, "%s stopped (pid %d).\n", e.Job, e.PID)
			return true
		}
	}
	if e.PID <= 0 || e.PID == os.Getpid() {
		return false // never signal this process (the daemon's own jobs)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(e.PID, sig); err != nil {
			return gone(0)
		}
		if gone(wait) {
			fmt.Fprintf(out, "%s stopped with %v (pid %d).\n", e.Job, sig, e.PID)
			return true
		}
	}
	return false
}
