package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestScriptsTest runs pio scripts test: the report on stdout, errors on
// stderr, exit status 0 when every test passed, 1 on a failure or a file
// that cannot run, 2 for a usage error.
func TestScriptsTest(t *testing.T) {
	const td = "../../scripttest/testdata/"
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{td + "load/dilution.star"}, 0,
			"PASS  test_the_dilution_rate\nPASS  test_the_volume_check\nPASS  test_the_script_runs_with_its_helper\nok    dilution_test.star: 3 tests passed\n", ""},
		// Flags after the file; the script and its test file given both run once.
		{[]string{td + "report/report.star", "--run", "passes", td + "report/report_test.star"}, 0,
			"PASS  test_passes\nPASS  test_passes_too\nok    report_test.star: 2 tests passed\n", ""},
		{[]string{"--run=assertion$", td + "report/report.star"}, 1,
			"FAIL  test_fails_an_assertion\n      report_test.star:8:14: assert.eq: 2 != 3: arithmetic\n      print: before the assertion\nFAIL  report_test.star: 1 of 1 test failed\n", ""},
		{[]string{td + "nocompanion/lonely.star"}, 1, "",
			"pio: " + td + "nocompanion/lonely_test.star: no test file: the tests of lonely.star go in lonely_test.star beside it, as test_* functions (docs/script-tests.md)\n"},
		// With several files, one that cannot run does not stop the others.
		{[]string{td + "syntax/broken_test.star", td + "report/report.star", "--run", "^test_passes$"}, 1,
			"PASS  test_passes\nok    report_test.star: 1 test passed\n", "pio: broken_test.star:3:1: got outdent, want ','\n"},
		{[]string{}, 2, "", "pio: pio scripts test needs a script: pio scripts test FILE.star (its tests are in FILE_test.star)\n"},
		{[]string{td + "report/report.star", "--run", "("}, 2, "", "pio: --run \"(\": error parsing regexp: missing closing ): `(`\n"},
		{[]string{td + "report/report.star", "--fast"}, 2, "", "pio: --fast: pio scripts test takes --run REGEX and --verbose (pio scripts test --help)\n"},
	} {
		cmd := exec.Command(pioBin, append([]string{"scripts", "test"}, tc.args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("%s: exit status %d, want %d", name, code, tc.code)
		}
		if stdout.String() != tc.stdout {
			t.Errorf("%s: stdout\n%s\nwant\n%s", name, stdout.String(), tc.stdout)
		}
		if stderr.String() != tc.stderr {
			t.Errorf("%s: stderr\n%s\nwant\n%s", name, stderr.String(), tc.stderr)
		}
	}
}
