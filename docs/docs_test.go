// Package docs_test runs every Starlark example in docs/scripting.md under
// the simulator, so the reference cannot drift from the runtime.
package docs_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/piolab/pio/simulate"
)

var block = regexp.MustCompile("(?s)```starlark\n(.*?)```")

func TestScriptingExamplesRun(t *testing.T) {
	b, err := os.ReadFile("scripting.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := block.FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 14 {
		t.Fatalf("found %d examples", len(blocks))
	}
	dir := t.TempDir()
	for i, m := range blocks {
		path := filepath.Join(dir, "example.star")
		os.WriteFile(path, []byte(m[1]), 0o644)
		s, err := simulate.Run(context.Background(), simulate.Options{Script: path, For: 3 * time.Hour, Seed: 1})
		if err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, m[1])
			continue
		}
		if s.Errors != 0 {
			t.Errorf("example %d: %v\n%s", i+1, s.ErrorMessages, m[1])
		}
	}
}
