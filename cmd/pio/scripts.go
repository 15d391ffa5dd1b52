package main

import (
	"github.com/urfave/cli/v2"
)

// scriptsCommand is `pio scripts`: checking, testing and keeping a library
// of scripts on the unit. Each subcommand is built in its own file.
func scriptsCommand() *cli.Command {
	return &cli.Command{
		Name:  "scripts",
		Usage: "check, test and install scripts in the unit's library",
		Description: "Scripts installed with `pio scripts install FILE` are kept in <home>/scripts/ with\n" +
			"their checksums, and `pio run-script NAME` runs them by name (docs/script-library.md).",
		Subcommands: []*cli.Command{},
	}
}
