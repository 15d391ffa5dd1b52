package script

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/dosing"
)

var starlarkBlock = regexp.MustCompile("(?s)```starlark\n(.*?)```")

// Every Starlark example of docs/script-api.md checks clean and runs for a
// virtual hour as a dosing automation without an error.
func TestScriptAPIDocExamplesRun(t *testing.T) {
	b, err := os.ReadFile("../docs/script-api.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := starlarkBlock.FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d examples", len(blocks))
	}
	for i, m := range blocks {
		src := []byte(m[1])
		for _, d := range Check("example.star", src, CheckOptions{}) {
			t.Errorf("example %d: %s", i+1, d)
		}
		u := newUnit(t)
		s, err := Load("example.star", src, "u1", "e1")
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		overrides := map[string]string{}
		if strings.Contains(m[1], `"target_od"`) {
			overrides["target_od"] = "1.5"
		}
		a, err := dosing.Start(u.env, dosing.Options{Program: s, Overrides: overrides})
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		st := &started{a: a}
		a.Log.OnRecord = func(level, msg string) { st.logs = append(st.logs, level+": "+msg) }
		st.run(t, u, time.Hour)
		if errs := st.errors(); len(errs) != 0 || a.Errors != 0 || a.Doses == 0 {
			t.Errorf("example %d: %d doses, errors %q", i+1, a.Doses, errs)
		}
	}
}
