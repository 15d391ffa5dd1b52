package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/piolab/pio/scripttest"
)

// scriptsTestCommand is `pio scripts test FILE...`: the test_* functions of
// each script's companion FILE_test.star, against the simulator (package
// scripttest).
func scriptsTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run the tests that travel with a script (FILE_test.star) against the simulator",
		ArgsUsage: "FILE.star... [--run REGEX] [--verbose]",
		Description: "For each FILE.star, runs the test_* functions of FILE_test.star beside it (or of a\n" +
			"FILE_test.star given itself), in the order the file defines them. A test file has every\n" +
			"script builtin, load() of the script and its helpers, an assert module (assert.eq, lt,\n" +
			"near, contains, fails, ...) and simulate(hours=24, settings={...}, seed=1, config={...}),\n" +
			"which runs FILE.star on a simulated unit in virtual time with pio's default configuration\n" +
			"and returns its doses, readings, events, log lines and published messages. The same seed\n" +
			"gives the same result (docs/script-tests.md).\n" +
			"\n" +
			"Prints PASS or FAIL for each test, with file:line:col of a failed assertion or error, then\n" +
			"a summary line. The exit status is 1 if any test failed or a test file could not run, so\n" +
			"a lab can run it in its own CI. --verbose adds each test's print() lines, its time and\n" +
			"the call stack of a failure.",
		SkipFlagParsing: true, // flags may follow the files
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run only the tests whose name matches this regular expression"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show print() lines, times and call stacks"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if wantsHelp(args) {
				return cli.ShowSubcommandHelp(c)
			}
			files, o, err := parseTestArgs(args)
			if err != nil {
				return cli.Exit("pio: "+err.Error(), 2)
			}
			o.Verbose = o.Verbose || globalBool(c, "verbose")
			o.Out = c.App.Writer
			failed, seen := false, map[string]bool{}
			for _, f := range files {
				testFile, _ := scripttest.Companion(f)
				if seen[testFile] {
					continue
				}
				seen[testFile] = true
				rep, err := scripttest.Run(c.Context, f, o)
				if err != nil {
					if len(files) == 1 {
						return err
					}
					fmt.Fprintln(c.App.ErrWriter, "pio:", err)
					failed = true
					continue
				}
				failed = failed || rep.Failed() > 0
				if c.Context.Err() != nil {
					break
				}
			}
			if failed {
				return &exitError{code: 1} // the report said which
			}
			return c.Context.Err()
		},
	}
}

// parseTestArgs reads pio scripts test's arguments: files, --run REGEX (or
// --run=REGEX) and --verbose, in any order.
func parseTestArgs(args []string) ([]string, scripttest.Options, error) {
	var files []string
	var o scripttest.Options
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			files = append(files, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "verbose", "v":
			if hasValue && value != "true" && value != "false" {
				return nil, o, fmt.Errorf("--verbose: want true or false, got %q", value)
			}
			o.Verbose = !hasValue || value == "true"
		case "run":
			if !hasValue {
				if i+1 >= len(args) {
					return nil, o, fmt.Errorf("--run needs a regular expression (pio scripts test FILE --run dose)")
				}
				i++
				value = args[i]
			}
			re, err := regexp.Compile(value)
			if err != nil {
				return nil, o, fmt.Errorf("--run %q: %v", value, err)
			}
			o.Run = re
		default:
			return nil, o, fmt.Errorf("%s: pio scripts test takes --run REGEX and --verbose (pio scripts test --help)", a)
		}
	}
	if len(files) == 0 {
		return nil, o, fmt.Errorf("pio scripts test needs a script: pio scripts test FILE.star (its tests are in FILE_test.star)")
	}
	return files, o, nil
}
