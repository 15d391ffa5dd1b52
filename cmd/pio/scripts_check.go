package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/script"
	"github.com/piolab/pio/scripttest"
	"github.com/piolab/pio/unit"
)

// scriptsCheckCommand is `pio scripts check FILE...`: every script's
// diagnostics, without running its jobs or touching the hardware; exit
// status 1 when any file has an error, so that a lab's CI can run it.
func scriptsCheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "report a script's errors before it runs: syntax, undefined names, header, settings, pumps",
		ArgsUsage: "FILE.star...",
		Description: "Checks each FILE without running its jobs or touching the hardware: syntax errors, every\n" +
			"undefined name, api_version, metadata and requires (against this unit's config: its [PWM]\n" +
			"pumps and [scripts.hardware] grants), settings against their declared type and bounds,\n" +
			"check_<setting> functions of no setting, doses with no pump function or [PWM] channel,\n" +
			"what the script's family requires, and errors of load() and of the top level. Each finding\n" +
			"is a line FILE:LINE:COL: MESSAGE; a clean file prints `ok  FILE (family name)`.\n" +
			"The exit status is 1 if any file has an error (warnings alone pass unless --strict).",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing for a clean file"},
			&cli.BoolFlag{Name: "strict", Usage: "fail on warnings too (a script without api_version)"},
		}, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			files := c.Args().Slice()
			if len(files) == 0 {
				return &exitError{code: 2, msg: "pio scripts check takes one or more script files"}
			}
			cfg, err := unit.LoadConfig(unitOptions(appContext(c), localGlobalFlags(c)))
			if err != nil {
				return err
			}
			out := c.App.Writer
			failed := false
			for _, file := range files {
				src, err := os.ReadFile(file)
				if err != nil {
					fmt.Fprintf(out, "%s:1:1: %v\n", file, err)
					failed = true
					continue
				}
				var diags []script.Diagnostic
				if script.IsTestFile(file) { // a script's tests: pio scripts test runs them
					diags = scripttest.Check(file, src)
				} else {
					diags = script.Check(file, src, script.CheckOptions{Config: cfg})
				}
				bad := false
				for _, d := range diags {
					// Positions in the file name it as given, so that an editor
					// or a CI log finds it; a loaded module's keep theirs.
					if rest, ok := strings.CutPrefix(d.Pos, filepath.Base(file)+":"); ok {
						d.Pos = file + ":" + rest
					}
					fmt.Fprintln(out, d)
					bad = bad || !d.Warning || c.Bool("strict")
				}
				failed = failed || bad
				if !bad && !c.Bool("quiet") {
					if desc, err := script.Describe(file, src); err == nil {
						fmt.Fprintf(out, "ok  %s (%s %s)\n", file, desc.Family, desc.Name)
					}
				}
			}
			if failed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
}
