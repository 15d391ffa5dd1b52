package script

import (
	"fmt"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/builtins"
)

// How the script API deprecates a builtin within an api_version: the
// builtin keeps working, and each use is a warning, at check
// (pio scripts check) and at start (logged), that names its replacement and
// the api_version that removes it. docs/script-api.md states the promise.

// Deprecation is a builtin scripts should stop using.
type Deprecation struct {
	Since   string // the pio release that deprecated it, e.g. "0.3"
	Use     string // what to write instead
	Removed int    // the api_version that no longer has it
}

// Deprecated are the deprecated builtins, by name. Empty: api_version 1
// deprecates nothing yet.
var Deprecated = map[string]Deprecation{}

// deprecations are the warnings for each use of a deprecated builtin in a
// resolved file (a script's own name that shadows a builtin is not one).
func deprecations(f *syntax.File) []Diagnostic {
	if len(Deprecated) == 0 {
		return nil
	}
	var out []Diagnostic
	syntax.Walk(f, func(n syntax.Node) bool {
		id, ok := n.(*syntax.Ident)
		if !ok || !predeclared(id) {
			return true
		}
		if d, ok := Deprecated[id.Name]; ok {
			out = append(out, Diagnostic{Pos: id.NamePos.String(), Warning: true,
				Msg: fmt.Sprintf("%s is deprecated since pio %s: use %s (api_version %d removes %s)", id.Name, d.Since, d.Use, d.Removed, id.Name)})
		}
		return true
	})
	return out
}

// deprecationsOf resolves a parsed file against the builtins of every
// family and returns its deprecation warnings; a file that does not resolve
// has none (its load reports why).
func deprecationsOf(f *syntax.File) []Diagnostic {
	if len(Deprecated) == 0 {
		return nil
	}
	if _, err := starlark.FileProgram(f, allBuiltins().Has); err != nil {
		return nil
	}
	out := deprecations(f)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	return out
}

// allBuiltins are the builtins of every family.
func allBuiltins() starlark.StringDict {
	u := builtins.Common(checkUnit, checkExperiment)
	for _, fam := range []func() starlark.StringDict{builtins.Job, builtins.Dosing, builtins.Temperature, builtins.LED} {
		for k, v := range fam() {
			u[k] = v
		}
	}
	return u
}
