package scripttest

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/script"
)

// Check reports, without running anything, what would stop a test file
// (FILE_test.star) from running, for pio scripts check: a syntax error,
// every undefined name (against the test file's builtins: assert, simulate,
// and every script's), no test_* function, and a test_* function that takes
// parameters. A test file is not a script, so script.Check, which would find
// assert and simulate undefined, is not for it.
func Check(path string, src []byte) []script.Diagnostic {
	file := filepath.Base(path)
	f, err := script.FileOptions.Parse(file, src, 0)
	if err != nil {
		return []script.Diagnostic{diagnostic(script.FormatError(err, nil, 0, ""), file)}
	}
	var diags []script.Diagnostic
	u := universe(&simulator{})
	var rerr resolve.ErrorList
	if err := resolve.File(f, u.Has, starlark.Universe.Has); errors.As(err, &rerr) {
		for _, e := range rerr {
			diags = append(diags, script.Diagnostic{Pos: e.Pos.String(), Msg: e.Msg})
		}
	}
	tests := 0
	for _, stmt := range f.Stmts {
		def, ok := stmt.(*syntax.DefStmt)
		if !ok || !strings.HasPrefix(def.Name.Name, "test_") {
			continue
		}
		tests++
		if n := len(def.Params); n > 0 {
			diags = append(diags, script.Diagnostic{Pos: def.Name.NamePos.String(),
				Msg: fmt.Sprintf("%s takes %d %s; a test takes none", def.Name.Name, n, plural(n, "parameter", "parameters"))})
		}
	}
	if tests == 0 {
		diags = append(diags, script.Diagnostic{Pos: file + ":1:1", Msg: "no test_* functions: a test is a function such as def test_doses_stay_small(): with no parameters"})
	}
	return diags
}

// diagnostic is an error of script.FormatError as a Diagnostic.
func diagnostic(err error, file string) script.Diagnostic {
	var se *script.Error
	if errors.As(err, &se) && se.Pos != "" {
		return script.Diagnostic{Pos: se.Pos, Msg: se.Msg}
	}
	return script.Diagnostic{Pos: file, Msg: err.Error()}
}
