package scripttest

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// run runs a test file and returns its report's lines.
func run(t *testing.T, file string, o Options) (*Report, string) {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	rep, err := Run(context.Background(), file, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String()
}

func TestPassingTests(t *testing.T) {
	rep, out := run(t, "testdata/exchange/exchange.star", Options{})
	if rep.Failed() != 0 {
		t.Fatalf("failed:\n%s", out)
	}
	// Every test passes, in the order the file defines them.
	var want []string
	for _, name := range []string{"test_one_dose_every_ten_minutes", "test_each_dose_exchanges_the_set_volume",
		"test_the_volume_stays_at_the_efflux_tube", "test_events_and_log_lines", "test_published_messages",
		"test_readings", "test_refuses_a_volume_over_2_ml", "test_same_seed_same_run", "test_config_alone_and_target_temperature"} {
		want = append(want, "PASS  "+name)
	}
	want = append(want, "ok    exchange_test.star: 9 tests passed")
	if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("report:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	if rep.TestFile != "testdata/exchange/exchange_test.star" || rep.Script != "testdata/exchange/exchange.star" {
		t.Errorf("test file %q, script %q", rep.TestFile, rep.Script)
	}
}

// TestReport checks the exact lines of a report with every way a test can
// fail: an assertion (at its own line, in the test or in a helper), an
// error, a runaway loop stopped by the step limit, a test with parameters.
func TestReport(t *testing.T) {
	rep, out := run(t, "testdata/report/report.star", Options{MaxSteps: 100_000})
	want := `PASS  test_passes
FAIL  test_fails_an_assertion
      report_test.star:8:14: assert.eq: 2 != 3: arithmetic
      print: before the assertion
FAIL  test_fails_in_a_helper
      report_test.star:13:18: assert.le: 7 is not less than or equal to 5: a value above the range
FAIL  test_errors
      report_test.star:20:17: key "waste" not in dict
FAIL  test_runs_away
      report_test.star:22:1: stopped after 100000 Starlark steps (the limit of a test): does a loop never end?
FAIL  test_takes_a_parameter
      report_test.star:27:1: test_takes_a_parameter takes 1 parameter; a test takes none
FAIL  test_fails_when_nothing_fails
      report_test.star:31:17: assert.fails: lambda did not fail (want an error matching "division")
FAIL  test_simulate_refuses_a_bad_hours
      report_test.star:34:13: simulate: hours 0: want more than 0 and at most 8760 (a year)
PASS  test_passes_too
FAIL  report_test.star: 7 of 9 tests failed
`
	if out != want {
		t.Errorf("report:\n%s\nwant:\n%s", out, want)
	}
	if rep.Failed() != 7 || len(rep.Results) != 9 {
		t.Errorf("%d of %d failed", rep.Failed(), len(rep.Results))
	}
	var f *Failure
	if r := rep.Results[1]; !asFailure(r.Err, &f) || f.Pos.Line != 8 || f.Pos.Col != 14 {
		t.Errorf("%s: %v is not an assertion at 8:14", r.Name, r.Err)
	}
	if r := rep.Results[3]; asFailure(r.Err, &f) {
		t.Errorf("%s: an error reported as an assertion: %v", r.Name, r.Err)
	}
}

func asFailure(err error, f **Failure) bool {
	ff, ok := err.(*Failure)
	*f = ff
	return ok
}

func TestVerboseShowsPrintsTimesAndTheCallStack(t *testing.T) {
	_, out := run(t, "testdata/report/report.star", Options{Verbose: true, MaxSteps: 100_000, Run: regexp.MustCompile("^test_(passes|fails_in_a_helper)$")})
	for _, re := range []string{
		`(?m)^PASS  test_passes \(\d+m?s\)$`,
		`(?m)^FAIL  test_fails_in_a_helper \(\d+m?s\)\n` +
			`      report_test.star:13:18: assert.le: 7 is not less than or equal to 5: a value above the range\n` +
			`      Traceback \(most recent call last\):\n` +
			`        report_test.star:16:11: in test_fails_in_a_helper\n` +
			`        report_test.star:13:18: in within\n`,
		`(?m)^FAIL  report_test.star: 1 of 2 tests failed$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("report does not match %s:\n%s", re, out)
		}
	}
}

func TestRunSelectsTests(t *testing.T) {
	_, out := run(t, "testdata/report/report_test.star", Options{Run: regexp.MustCompile("passes")})
	want := "PASS  test_passes\nPASS  test_passes_too\nok    report_test.star: 2 tests passed\n"
	if out != want {
		t.Errorf("report:\n%s\nwant:\n%s", out, want)
	}
	rep, out := run(t, "testdata/report/report.star", Options{Run: regexp.MustCompile("nothing_is_called_this")})
	if want := "report_test.star: no test matches --run nothing_is_called_this\n"; out != want || len(rep.Results) != 0 {
		t.Errorf("report %q, want %q", out, want)
	}
}

// TestFilesThatCannotRun: each is one clear error, and no report.
func TestFilesThatCannotRun(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"testdata/syntax/badload_test.star", `badload_test.star:2:1: load("helpers/missing.star"): no such module: looked for testdata/syntax/helpers/missing.star, then @stdlib/helpers/missing.star (pio's library has `},
		{"testdata/nocompanion/lonely.star", "testdata/nocompanion/lonely_test.star: no test file: the tests of lonely.star go in lonely_test.star beside it, as test_* functions (docs/script-tests.md)"},
		{"testdata/nocompanion/nothere.star", "testdata/nocompanion/nothere.star: no such script (nor its test file nothere_test.star)"},
		{"testdata/syntax/broken.star", "broken_test.star:3:1: got outdent, want ','"},
		{"testdata/syntax/broken_test.star", "broken_test.star:3:1: got outdent, want ','"},
		{"testdata/syntax/undefined_test.star", "undefined_test.star:4:5: undefined: asert"},
		{"testdata/syntax/toplevel_test.star", "toplevel_test.star:2:15: simulate: hours -1: want more than 0 and at most 8760 (a year)"},
		{"testdata/syntax/topassert_test.star", "topassert_test.star:2:10: assert.eq: 2 != 3: two items"},
		{"testdata/notests/empty.star", "empty_test.star: no test_* functions: a test is a function such as def test_doses_stay_small(): with no parameters"},
		{"testdata/notests/empty.txt", "testdata/notests/empty.txt: want a script (FILE.star) or its test file (FILE_test.star)"},
	} {
		var out bytes.Buffer
		rep, err := Run(context.Background(), tc.file, Options{Out: &out})
		if err == nil || err.Error() != tc.want && !(strings.HasSuffix(tc.want, "has ") && strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%s: error %v\nwant %s", tc.file, err, tc.want)
		}
		if rep != nil || out.Len() != 0 {
			t.Errorf("%s: a report %v %q for a file that cannot run", tc.file, rep, out.String())
		}
	}
}

// TestLoad: a test file loads the script and its helper module, from its
// own folder, and calls their functions.
func TestLoad(t *testing.T) {
	rep, out := run(t, "testdata/load/dilution.star", Options{})
	want := "PASS  test_the_dilution_rate\nPASS  test_the_volume_check\nPASS  test_the_script_runs_with_its_helper\nok    dilution_test.star: 3 tests passed\n"
	if out != want || rep.Failed() != 0 {
		t.Errorf("report:\n%s\nwant:\n%s", out, want)
	}
}

func TestCompanion(t *testing.T) {
	for _, tc := range []struct{ in, test, script string }{
		{"a/turbidostat.star", "a/turbidostat_test.star", "a/turbidostat.star"},
		{"a/turbidostat_test.star", "a/turbidostat_test.star", "a/turbidostat.star"},
		{"t.star", "t_test.star", "t.star"},
	} {
		if test, script := Companion(tc.in); test != tc.test || script != tc.script {
			t.Errorf("Companion(%q) = %q, %q; want %q, %q", tc.in, test, script, tc.test, tc.script)
		}
	}
}

// TestCancel: a cancelled context stops a running test, and no test starts
// after it.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	globals, err := loadTestFile(context.Background(), "testdata/report/report_test.star", []byte(readFile(t, "testdata/report/report_test.star")), &simulator{}, MaxSteps)
	if err != nil {
		t.Fatal(err)
	}
	res := runTest(ctx, globals["test_runs_away"].(*starlark.Function), 1<<62, false)
	if res.Err == nil || !regexp.MustCompile(`^report_test.star:\d+:\d+: Starlark computation cancelled: context canceled$`).MatchString(res.Err.Error()) {
		t.Errorf("error %v", res.Err)
	}
	if _, err := Run(ctx, "testdata/report/report.star", Options{}); err != context.Canceled {
		t.Errorf("Run: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// simulate() in a loop stops at the hours a test may simulate in all (the
// step limit does not see them: one call is one step), and each test, and
// the top level, has its own budget.
func TestSimulatedHoursPerTest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/feeder.star", []byte("api_version = 1\n\ndef execute():\n    pass\n"), 0o644)
	os.WriteFile(dir+"/feeder_test.star", []byte(`first = simulate(hours = 0.02)

def test_loops():
    for i in range(1000):
        simulate(hours = 0.02)

def test_has_its_own_budget():
    simulate(hours = 0.02)
    simulate(hours = 0.02)
`), 0o644)
	_, out := run(t, dir+"/feeder.star", Options{MaxHours: 0.05})
	want := `FAIL  test_loops
      feeder_test.star:5:17: simulate: 0.02 more hours would make 0.06 in this test, above the 0.05 hours a test may simulate in all (simulate() in a loop?)
PASS  test_has_its_own_budget
FAIL  feeder_test.star: 1 of 2 tests failed
`
	if out != want {
		t.Errorf("report:\n%s\nwant:\n%s", out, want)
	}
}
