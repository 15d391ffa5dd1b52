package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/unit"
)

func consoleLogger(c *cli.Context) *slog.Logger {
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String("time", a.Value.Time().Format("15:04:05.000"))
			}
			return a
		}}))
}

// unitOptions collects the global flags. Global flags may also be given after
// the command name (pio run-script x.star --broker h:p); extra holds those.
func unitOptions(c *cli.Context, extra map[string]string) unit.Options {
	get := func(name string) string {
		if v, ok := extra[name]; ok {
			return v
		}
		return c.String(name)
	}
	return unit.Options{
		Home: get("home"), ConfigFile: get("config"), Broker: get("broker"),
		Unit: get("unit"), Experiment: get("experiment"), Console: consoleLogger(c),
	}
}

// globalFlagNames are flags that run-script and simulate accept after the file.
var globalFlagNames = map[string]bool{"home": true, "config": true, "broker": true, "unit": true, "experiment": true}

// parsed is a command line of the form FILE [--name value | --name=value]...
type parsed struct {
	file     string
	flags    map[string]string // command flags and global flags
	settings map[string]string // everything else: script settings
}

// parseScriptArgs splits args into the script file, known flags (which take a
// value unless listed in boolFlags) and script settings (--<setting> value).
// Dashes in setting names become underscores, as upstream does.
func parseScriptArgs(args []string, known, boolFlags map[string]bool) (parsed, error) {
	p := parsed{flags: map[string]string{}, settings: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if p.file != "" {
				return p, fmt.Errorf("unexpected argument %q (one script file, then --<setting> value pairs)", a)
			}
			p.file = a
			continue
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, value, hasValue = name[:j], name[j+1:], true
		}
		if boolFlags[name] {
			if !hasValue {
				value = "true"
			}
			p.flags[name] = value
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return p, fmt.Errorf("--%s needs a value", name)
			}
			i++
			value = args[i]
		}
		if known[name] || globalFlagNames[name] {
			p.flags[name] = value
		} else {
			p.settings[strings.ReplaceAll(name, "-", "_")] = value
		}
	}
	if p.file == "" {
		return p, fmt.Errorf("no script file given")
	}
	return p, nil
}

// stopOnSignal returns a context that ends on Ctrl-C, SIGTERM or SIGHUP, for
// a clean stop (pumps off, $state disconnected). Once it has ended, signals
// get their default behaviour back, so a second Ctrl-C ends a stuck process.
func stopOnSignal() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
