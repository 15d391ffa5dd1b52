package main

import (
	"fmt"
	goruntime "runtime"

	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print pio's version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "pio %s (%s, %s/%s)\n", Version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
			return nil
		},
	}
}
