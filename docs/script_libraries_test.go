package docs_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/script"
	"github.com/piolab/pio/simulate"
)

// TestScriptLibrariesExamplesRun writes every "# file: NAME" block of
// script-libraries.md as a module, then runs every other Starlark block
// beside them under the simulator: each one loads, runs without an error
// and doses.
func TestScriptLibrariesExamplesRun(t *testing.T) {
	b, err := os.ReadFile("script-libraries.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var scripts []string
	for _, m := range block.FindAllStringSubmatch(string(b), -1) {
		if name, ok := strings.CutPrefix(strings.SplitN(m[1], "\n", 2)[0], "# file: "); ok {
			os.WriteFile(filepath.Join(dir, name), []byte(m[1]), 0o644)
			continue
		}
		scripts = append(scripts, m[1])
	}
	if len(scripts) < 5 {
		t.Fatalf("found %d scripts", len(scripts))
	}
	for i, src := range scripts {
		path := filepath.Join(dir, "example.star")
		os.WriteFile(path, []byte(src), 0o644)
		s, err := simulate.Run(context.Background(), simulate.Options{Script: path, For: 3 * time.Hour, Seed: 1})
		if err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, src)
			continue
		}
		if s.Errors != 0 || s.Doses == 0 {
			t.Errorf("example %d: %d doses, errors %v\n%s", i+1, s.Doses, s.ErrorMessages, src)
		}
	}
}

// The error lines the page shows are the ones pio gives for the trees of
// script/testdata/load.
func TestScriptLibrariesErrorLines(t *testing.T) {
	b, err := os.ReadFile("script-libraries.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Errors\n.*?```text\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no error lines under ## Errors")
	}
	shown := strings.Split(strings.TrimSpace(string(m[1])), "\n")
	trees := []string{"cycle2", "cycle3", "cycle_below", "syntax", "runtime", "missing_stdlib", "escape", "escape_nested", "absolute", "notstar"}
	if len(shown) != len(trees) {
		t.Fatalf("the page shows %d lines, the test has %d trees", len(shown), len(trees))
	}
	for i, tree := range trees {
		path := filepath.Join("..", "script", "testdata", "load", tree, "a.star")
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = script.LoadModule(path, src, "u1", "e1")
		if err == nil || err.Error() != shown[i] {
			t.Errorf("%s: error\n  %v\nthe page shows\n  %s", tree, err, shown[i])
		}
	}
}
