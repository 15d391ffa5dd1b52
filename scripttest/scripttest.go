// Package scripttest runs the tests that travel with a script: the test_*
// functions of a companion file FILE_test.star beside FILE.star, as
// pio scripts test FILE does.
//
// A test file is Starlark with the builtins every script has (builtins.Common),
// the builtins of every script family (so it can load() the script under test
// and its helpers and call their functions), an assert module (assert.go) and
// simulate(...) (simulate.go), which runs the script under test on a
// simulated unit in virtual time and returns what it did.
//
// Its top level runs once; then every top-level function whose name starts
// with test_ runs, in the order the file defines them, each on its own thread
// with a step limit. A test passes when it returns; it fails at the first
// assertion that does not hold, or with the first error, each reported with
// its file:line:col. docs/script-tests.md is the reference.
package scripttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/script"
)

// MaxSteps bounds the Starlark steps of a test file's top level and of each
// test (the script's own steps inside simulate() count apart, under the
// script's own limits).
const MaxSteps = 10_000_000

// Options change how a test file runs.
type Options struct {
	// Run, if set, runs only the tests whose name it matches.
	Run *regexp.Regexp
	// Verbose shows every test's print() lines, its wall time and, for a
	// failure, the call stack; otherwise print() lines show only for a
	// test that failed.
	Verbose bool
	// Out receives the report as tests finish (nil: discarded).
	Out io.Writer
	// MaxSteps bounds each test's Starlark steps; 0 is the default, MaxSteps.
	MaxSteps uint64
	// MaxHours bounds the hours each test (and the top level) may simulate
	// in all, over all its simulate() calls; 0 is the default, MaxHours.
	MaxHours float64
}

// MaxHours bounds the hours a test simulates in all: a year of virtual
// time, some minutes of CPU. A simulate() call is one Starlark step, so the
// step limit alone would let simulate() in a loop run for days.
const MaxHours = maxHours

// Result is the outcome of one test.
type Result struct {
	Name string
	// Err is nil for a pass; else "file:line:col: message" of the failed
	// assertion or of the error.
	Err error
	// Output is what the test print()ed, one line each.
	Output []string
	Wall   time.Duration
}

// Report is the outcome of a test file.
type Report struct {
	TestFile string // the companion file that ran
	Script   string // the script simulate() runs
	Results  []Result
}

// Failed counts the tests that failed.
func (r *Report) Failed() int {
	n := 0
	for _, t := range r.Results {
		if t.Err != nil {
			n++
		}
	}
	return n
}

// Companion returns the test file of a script and the script of a test file:
// given dir/turbidostat.star, dir/turbidostat_test.star; given
// dir/turbidostat_test.star itself, the same pair.
func Companion(file string) (testFile, scriptFile string) {
	if stem, ok := strings.CutSuffix(file, "_test.star"); ok {
		return file, stem + ".star"
	}
	return strings.TrimSuffix(file, ".star") + "_test.star", file
}

// Run runs the tests of a script (or of a test file given directly) and
// writes the report to o.Out: one line per test, then a summary. Its error
// means the tests could not run at all: a missing companion file, a test file
// that does not load, or no test_* functions; a failing test is in the Report
// (Report.Failed), not an error.
func Run(ctx context.Context, file string, o Options) (*Report, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = MaxSteps
	}
	if o.MaxHours == 0 {
		o.MaxHours = MaxHours
	}
	if filepath.Ext(file) != ".star" {
		return nil, fmt.Errorf("%s: want a script (FILE.star) or its test file (FILE_test.star)", file)
	}
	testFile, scriptFile := Companion(file)
	src, err := os.ReadFile(testFile)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(scriptFile); errors.Is(serr, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such script (nor its test file %s)", scriptFile, filepath.Base(testFile))
		}
		return nil, fmt.Errorf("%s: no test file: the tests of %s go in %s beside it, as test_* functions (docs/script-tests.md)",
			testFile, filepath.Base(scriptFile), filepath.Base(testFile))
	}
	if err != nil {
		return nil, fmt.Errorf("scripttest: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := &Report{TestFile: testFile, Script: scriptFile}
	sim := &simulator{script: scriptFile, maxHours: o.MaxHours}
	globals, err := loadTestFile(ctx, testFile, src, sim, o.MaxSteps)
	if err != nil {
		return nil, err
	}
	tests := testFunctions(globals)
	if len(tests) == 0 {
		return nil, fmt.Errorf("%s: no test_* functions: a test is a function such as def test_doses_stay_small(): with no parameters", filepath.Base(testFile))
	}
	ran := 0
	for _, fn := range tests {
		if o.Run != nil && !o.Run.MatchString(fn.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("%s: stopped before %s: %w", filepath.Base(testFile), fn.Name(), err)
		}
		ran++
		res := runTest(ctx, fn, o.MaxSteps, o.Verbose)
		rep.Results = append(rep.Results, res)
		printResult(o.Out, res, o.Verbose)
	}
	if ran == 0 {
		fmt.Fprintf(o.Out, "%s: no test matches --run %s\n", filepath.Base(testFile), o.Run)
		return rep, nil
	}
	printSummary(o.Out, rep)
	return rep, nil
}

// universe returns the predeclared names of a test file: the builtins of
// every script, of every family (custom jobs, then the automations by
// automation_type; a name two define is taken from the first), assert and
// simulate.
func universe(sim *simulator) starlark.StringDict {
	u := builtins.Common("sim", "sim")
	types := make([]string, 0, len(script.Families))
	for t := range script.Families {
		types = append(types, t)
	}
	sort.Strings(types)
	families := []func() starlark.StringDict{builtins.Job} // custom jobs
	for _, t := range types {
		families = append(families, script.Families[t].Builtins)
	}
	for _, fam := range families {
		for k, v := range fam() {
			if _, ok := u[k]; !ok {
				u[k] = v
			}
		}
	}
	u["assert"] = Assert
	u["simulate"] = starlark.NewBuiltin("simulate", sim.simulate)
	return u
}

// loadTestFile runs a test file's top level and returns its frozen globals.
func loadTestFile(ctx context.Context, path string, src []byte, sim *simulator, maxSteps uint64) (starlark.StringDict, error) {
	file := filepath.Base(path)
	f, err := script.FileOptions.Parse(file, src, 0)
	if err != nil {
		return nil, script.FormatError(err, nil, 0, "")
	}
	universe := universe(sim)
	prog, err := starlark.FileProgram(f, universe.Has)
	if err != nil {
		return nil, script.FormatError(err, nil, 0, "")
	}
	th := newThread("load "+file, maxSteps, func(msg string) { fmt.Fprintln(os.Stderr, msg) })
	th.Load = script.Loader(path, universe, maxSteps, "the limit of a test file's top level")
	defer watch(ctx, th)()
	globals, err := prog.Init(th, universe)
	globals.Freeze()
	if err != nil {
		return nil, placed(err, th, maxSteps, "the limit of a test file's top level")
	}
	return globals, nil
}

// watch sets ctx as the thread's context (simulate() runs under it) and
// cancels the thread when ctx ends, until the returned stop is called.
func watch(ctx context.Context, th *starlark.Thread) (stop func()) {
	th.SetLocal(ctxKey, ctx)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			th.Cancel(ctx.Err().Error())
		case <-done:
		}
	}()
	return func() { close(done) }
}

// newThread is a thread of a test file, with a step limit.
func newThread(name string, maxSteps uint64, print func(string)) *starlark.Thread {
	th := &starlark.Thread{Name: name, Print: func(_ *starlark.Thread, msg string) { print(msg) }}
	th.SetMaxExecutionSteps(maxSteps)
	th.SetLocal(hoursKey, new(float64)) // the hours its simulate() calls ran
	return th
}

// testFunctions lists the test file's own test_* functions in the order it
// defines them.
func testFunctions(globals starlark.StringDict) []*starlark.Function {
	var tests []*starlark.Function
	for name, v := range globals {
		if fn, ok := v.(*starlark.Function); ok && strings.HasPrefix(name, "test_") && fn.Name() == name {
			tests = append(tests, fn)
		}
	}
	sort.Slice(tests, func(i, j int) bool {
		a, b := tests[i].Position(), tests[j].Position()
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return tests
}

// runTest runs one test on its own thread; ctx's end cancels it.
func runTest(ctx context.Context, fn *starlark.Function, maxSteps uint64, verbose bool) Result {
	res := Result{Name: fn.Name()}
	if n := fn.NumParams(); n > 0 {
		res.Err = fmt.Errorf("%s: %s takes %d %s; a test takes none", fn.Position(), fn.Name(), n, plural(n, "parameter", "parameters"))
		return res
	}
	th := newThread(fn.Name(), maxSteps, func(msg string) { res.Output = append(res.Output, msg) })
	defer watch(ctx, th)()
	start := time.Now()
	_, err := starlark.Call(th, fn, nil, nil)
	res.Wall = time.Since(start)
	if err != nil {
		res.Err = testError(err, th, maxSteps, verbose)
	}
	return res
}

// testError is a test's error as "file:line:col: message": an assertion's
// at the assertion, any other at the innermost line of Starlark that failed.
// verbose adds the call stack.
func testError(err error, th *starlark.Thread, maxSteps uint64, verbose bool) error {
	shown := placed(err, th, maxSteps, "the limit of a test")
	var ee *starlark.EvalError
	if verbose && errors.As(err, &ee) {
		return fmt.Errorf("%w\n%s", shown, strings.TrimRight(ee.CallStack.String(), "\n"))
	}
	return shown
}

// placed is err as "file:line:col: message": a failed assertion where it
// was called, any other error at the innermost line of Starlark that failed
// (script.FormatError, which explains a step limit of the given name).
func placed(err error, th *starlark.Thread, maxSteps uint64, limit string) error {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return script.FormatError(err, th, maxSteps, limit)
}

// printResult writes one test's lines: PASS or FAIL and its name, the
// failure, and its print() lines when it failed or verbose asks for them.
func printResult(w io.Writer, r Result, verbose bool) {
	status := "PASS"
	if r.Err != nil {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s  %s", status, r.Name)
	if verbose {
		fmt.Fprintf(w, " (%s)", r.Wall.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	if r.Err != nil {
		for _, line := range strings.Split(r.Err.Error(), "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
	if r.Err != nil || verbose {
		for _, line := range r.Output {
			fmt.Fprintf(w, "      print: %s\n", line)
		}
	}
}

// printSummary writes the last line: how many tests passed and failed.
func printSummary(w io.Writer, r *Report) {
	failed := r.Failed()
	passed := len(r.Results) - failed
	name := filepath.Base(r.TestFile)
	if failed == 0 {
		fmt.Fprintf(w, "ok    %s: %d %s passed\n", name, passed, plural(passed, "test", "tests"))
		return
	}
	fmt.Fprintf(w, "FAIL  %s: %d of %d %s failed\n", name, failed, len(r.Results), plural(len(r.Results), "test", "tests"))
}

// plural is one or many, by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

const ctxKey, hoursKey = "scripttest.ctx", "scripttest.hours"

// threadContext is the context of a test file's thread.
func threadContext(th *starlark.Thread) context.Context {
	if c, ok := th.Local(ctxKey).(context.Context); ok {
		return c
	}
	return context.Background()
}
