package lib_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/script"
	"github.com/piolab/pio/stdlib/lib"
)

// Every module has testdata/<module>_test.star, whose test_* functions pass,
// and a header comment that names it.
func TestModules(t *testing.T) {
	names := lib.Names()
	if len(names) < 3 {
		t.Fatalf("library %q", names)
	}
	for _, name := range names {
		stem := strings.TrimSuffix(name, ".star")
		t.Run(stem, func(t *testing.T) {
			src, ok := lib.Lookup(name)
			if !ok {
				t.Fatalf("Lookup(%s) failed", name)
			}
			if !strings.HasPrefix(string(src), "# "+stem+": ") {
				t.Errorf("%s does not start with its documentation, # %s: ...", name, stem)
			}
			runTests(t, filepath.Join("testdata", stem+"_test.star"))
		})
	}
}

// runTests loads a test file and calls each of its test_* functions.
func runTests(t *testing.T, path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := script.LoadModule(path, src, "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	var tests []string
	for name := range m.Globals {
		if strings.HasPrefix(name, "test_") {
			tests = append(tests, name)
		}
	}
	sort.Strings(tests)
	if len(tests) == 0 {
		t.Fatalf("%s has no test_* functions", path)
	}
	for _, name := range tests {
		th := &starlark.Thread{Name: name}
		if _, err := starlark.Call(th, m.Globals[name], nil, nil); err != nil {
			t.Errorf("%s: %v", name, script.FormatError(err, th, 0, ""))
		}
	}
}

// A wrong argument fails where the script called the module's function (at
// its parenthesis, as a builtin's error), with a message that names the
// function and the value.
func TestBadArguments(t *testing.T) {
	tests := []struct{ load, call, want string }{
		{`"@stdlib/stats.star", "mean"`, `mean([])`, `mean: the list is empty`},
		{`"@stdlib/stats.star", "mean"`, `mean(3)`, `mean: want a list of numbers, got int`},
		{`"@stdlib/stats.star", "median"`, `median([1, "2"])`, `median: "2" is a string, not a number`},
		{`"@stdlib/stats.star", "stdev"`, `stdev([1])`, `stdev: want at least 2 numbers, got 1`},
		{`"@stdlib/stats.star", "clamp"`, `clamp(1, 5, 0)`, `clamp: lo = 5 is above hi = 0`},
		{`"@stdlib/stats.star", "clamp"`, `clamp(None, 0, 1)`, `clamp: x = None is a NoneType, not a number`},
		{`"@stdlib/units.star", "ml_per_hour"`, `ml_per_hour(1, 0)`, `ml_per_hour: seconds = 0.0, want more than 0`},
		{`"@stdlib/units.star", "ml_for_rate"`, `ml_for_rate(-1, 60)`, `ml_for_rate: ml_per_hour = -1.0, want 0 or more`},
		{`"@stdlib/units.star", "c_to_f"`, `c_to_f("37")`, `c_to_f: c = "37" is a string, not a number`},
		{`"@stdlib/units.star", "dilution_volume_ml"`, `dilution_volume_ml(1, 0, 14)`, `dilution_volume_ml: target_od = 0.0, want more than 0`},
		{`"@stdlib/moving_average.star", "sma"`, `sma("od", 1, 0)`, `sma: window = 0, want a whole number of values, 1 or more`},
		{`"@stdlib/moving_average.star", "ema"`, `ema("od", 1, 1.5)`, `ema: alpha = 1.5, want a number above 0 and at most 1`},
		{`"@stdlib/moving_average.star", "ema"`, `ema("", 1, 0.5)`, `ema: name must be a non-empty string, got ""`},
		{`"@stdlib/moving_average.star", "sma", "ema"`, `[sma("od", 1, 3), ema("od", 1, 0.5)]`, `ema: od is an sma; reset("od") before using it as an ema`},
	}
	for _, tt := range tests {
		src := "load(" + tt.load + ")\n\nX = " + tt.call + "\n"
		_, err := script.LoadModule("x.star", []byte(src), "u1", "e1")
		want := fmt.Sprintf("x.star:3:%d: fail: %s", len("X = (")+strings.LastIndex(tt.call, "("), tt.want)
		if err == nil || err.Error() != want {
			t.Errorf("%s: error\n  %v\nwant\n  %s", tt.call, err, want)
		}
	}
}

func TestLookup(t *testing.T) {
	if _, ok := lib.Lookup("stats.star"); !ok {
		t.Error("no stats.star")
	}
	for _, bad := range []string{"stats", "../lib/stats.star", "/stats.star", "./stats.star", "testdata/stats_test.star", "lib.go", ""} {
		if _, ok := lib.Lookup(bad); ok {
			t.Errorf("Lookup(%q) found a module", bad)
		}
	}
}
