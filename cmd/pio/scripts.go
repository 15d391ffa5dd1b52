package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/scriptlib"
	"github.com/piolab/pio/unit"
)

// scriptsCommand is `pio scripts`: checking, testing and keeping a library
// of scripts on the unit. Each subcommand is built in its own function.
func scriptsCommand() *cli.Command {
	return &cli.Command{
		Name:  "scripts",
		Usage: "check, test and install scripts in the unit's library",
		Description: "Scripts installed with `pio scripts install FILE` are kept in <home>/scripts/ with\n" +
			"their checksums, and `pio run-script NAME` runs them by name (docs/script-library.md).",
		Subcommands: []*cli.Command{
			scriptsCheckCommand(),
			scriptsInstallCommand(),
			scriptsListCommand(),
			scriptsShowCommand(),
			scriptsRemoveCommand(),
			scriptsTestCommand(),
		},
	}
}

// library opens the script library of the home the global flags name.
func library(c *cli.Context) *scriptlib.Library {
	return scriptlib.Open(unit.Home(unitOptions(appContext(c), localGlobalFlags(c)).Home))
}

// oneArg is the single positional argument of a scripts subcommand, or a
// usage error that says what to give.
func oneArg(c *cli.Context, what string) (string, error) {
	args := c.Args().Slice()
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return "", &exitError{code: 2, msg: fmt.Sprintf("%s after the %s: flags go first (pio scripts %s --help)", a, what, c.Command.Name)}
		}
	}
	if len(args) != 1 {
		return "", &exitError{code: 2, msg: fmt.Sprintf("pio scripts %s takes one %s (got %d arguments)", c.Command.Name, what, len(args))}
	}
	return args[0], nil
}

func scriptsInstallCommand() *cli.Command {
	return &cli.Command{
		Name:      "install",
		Usage:     "check a script and store it in the unit's library, with its checksum",
		ArgsUsage: "FILE.star",
		Description: "Checks FILE as `pio scripts check` does (against this unit's config) and refuses it on\n" +
			"any error. Then stores it, with the local modules it loads, in <home>/scripts/NAME/, NAME\n" +
			"being its job_name or automation_name (else the file's stem), with a manifest of each\n" +
			"file's sha256. `pio run-script NAME` then runs it. A different script already installed as\n" +
			"NAME is refused unless --force; the same files again change nothing. NAME may be one of\n" +
			"pio's own automations (turbidostat): the installed one is then what run-script NAME runs.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "replace a different script installed under the same name"},
		}, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			file, err := oneArg(c, "script file")
			if err != nil {
				return err
			}
			cfg, err := unit.LoadConfig(unitOptions(appContext(c), localGlobalFlags(c)))
			if err != nil {
				return err
			}
			res, err := library(c).Install(file, scriptlib.InstallOptions{Config: cfg, Force: c.Bool("force")})
			var refused *scriptlib.CheckError
			if errors.As(err, &refused) {
				for _, d := range refused.Diagnostics {
					fmt.Fprintln(c.App.ErrWriter, d)
				}
			}
			if err != nil {
				return err
			}
			for _, d := range res.Warnings {
				fmt.Fprintln(c.App.ErrWriter, d)
			}
			printInstalled(c.App.Writer, res)
			return nil
		},
	}
}

// printInstalled says what install did.
func printInstalled(w io.Writer, res *scriptlib.Installed) {
	e := res.Entry
	if res.Status == "unchanged" {
		fmt.Fprintf(w, "%s is already installed with the same files (sha256 %s): nothing to do\n", e.Name, short(e.Manifest.Files[0].SHA256))
		return
	}
	version := ""
	if v := e.Manifest.Version; v != "" {
		version = " " + v
	}
	fmt.Fprintf(w, "%s %s%s (%s) as %s\n", res.Status, e.Name, version, e.Family(), e.Path)
	for _, f := range e.Manifest.Files[1:] {
		fmt.Fprintf(w, "  with %s\n", f.Path)
	}
	if e.Shadows != "" {
		fmt.Fprintf(w, "note: it shadows %s: pio run-script %s runs the installed one\n", e.Shadows, e.Name)
	}
	fmt.Fprintf(w, "run it with: pio run-script %s\n", e.Name)
}

// short is the first 12 digits of a checksum.
func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func scriptsListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the scripts installed on this unit",
		Description: "Reads each installed script's manifest and header, without running it, and checks its\n" +
			"checksums. A broken or modified entry is listed with its problem.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the entries as JSON"},
		}, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &exitError{code: 2, msg: fmt.Sprintf("pio scripts list takes no arguments (got %q); flags go first", c.Args().First())}
			}
			lib := library(c)
			entries, err := lib.List()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, entries)
			}
			if len(entries) == 0 {
				fmt.Fprintf(c.App.Writer, "no scripts installed in %s (pio scripts install FILE adds one)\n", lib.Dir)
				return nil
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tFAMILY\tVERSION\tSTATUS\tDESCRIPTION")
			for _, e := range entries {
				version, description := "", ""
				if e.Manifest != nil {
					version = e.Manifest.Version
				}
				if e.Description != nil {
					description = firstLine(e.Description.Metadata.Description)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, dash(e.Family()), dash(version), e.Status(), description)
			}
			return tw.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func scriptsShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show an installed script: manifest, description, settings, checksums, path",
		ArgsUsage: "NAME",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the entry as JSON"},
		}, globalFlagsAfterCommand()...),
		Action: func(c *cli.Context) error {
			name, err := oneArg(c, "script name")
			if err != nil {
				return err
			}
			lib := library(c)
			e, err := lib.Show(name)
			if err != nil {
				return notInstalled(lib, name, err)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, e)
			}
			printEntry(c.App.Writer, e)
			return nil
		},
	}
}

// printEntry prints an installed script for pio scripts show.
func printEntry(w io.Writer, e *scriptlib.Entry) {
	// Values line up after "description: "; their further lines too.
	row := func(k, v string) {
		if v != "" {
			v = strings.ReplaceAll(strings.TrimSpace(v), "\n", "\n"+strings.Repeat(" ", 13))
			fmt.Fprintf(w, "%-12s %s\n", k+":", v)
		}
	}
	row("name", e.Name)
	row("family", e.Family())
	if d := e.Description; d != nil {
		row("version", d.Metadata.Version)
		row("author", d.Metadata.Author)
		row("description", d.Metadata.Description)
	}
	row("path", e.Path)
	if m := e.Manifest; m != nil {
		row("source", m.Source)
		row("installed", m.InstalledAt.Format("2006-01-02 15:04:05 UTC"))
	}
	row("checksums", e.Status())
	row("shadows", e.Shadows)
	if m := e.Manifest; m != nil {
		fmt.Fprintln(w, "files:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range m.Files {
			fmt.Fprintf(tw, "  %s\tsha256 %s\n", f.Path, f.SHA256)
		}
		tw.Flush()
	}
	if d := e.Description; d != nil && len(d.Settings) > 0 {
		fmt.Fprintln(w, "settings:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range d.Settings {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Name, dash(s.Type), settingDefault(s.Default, s.Unit), bounds(s.Min, s.Max), s.Description)
		}
		tw.Flush()
	}
}

func scriptsRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "remove an installed script from this unit's library",
		ArgsUsage: "NAME",
		Flags:     globalFlagsAfterCommand(),
		Action: func(c *cli.Context) error {
			name, err := oneArg(c, "script name")
			if err != nil {
				return err
			}
			lib := library(c)
			if err := lib.Remove(name); err != nil {
				return notInstalled(lib, name, err)
			}
			fmt.Fprintf(c.App.Writer, "removed %s from %s\n", name, lib.Dir)
			return nil
		},
	}
}

// notInstalled is the error of a name the library does not have: it lists
// what is installed.
func notInstalled(lib *scriptlib.Library, name string, err error) error {
	if !errors.Is(err, scriptlib.ErrNotInstalled) {
		return err
	}
	return fmt.Errorf("no script named %s is installed (%s)", name, installedNames(lib))
}

// installedNames says what the library has, for an error message.
func installedNames(lib *scriptlib.Library) string {
	names, err := lib.Names()
	switch {
	case err != nil:
		return err.Error()
	case len(names) == 0:
		return "none is, in " + lib.Dir
	}
	return "installed: " + strings.Join(names, ", ")
}

// settingDefault is a setting's default with its unit ("0.5 mL"), or
// "required" when it has none.
func settingDefault(v any, unit string) string {
	if v == nil {
		return "required"
	}
	s := fmt.Sprint(v)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// bounds is a setting's range: "0.1 to 5", "at least 0", "at most 100", or
// "" without bounds.
func bounds(lo, hi *float64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%g to %g", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf("at least %g", *lo)
	case hi != nil:
		return fmt.Sprintf("at most %g", *hi)
	}
	return ""
}
