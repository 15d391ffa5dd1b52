package script

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// loadDir loads testdata/load/<dir>/a.star, the top script of a tree.
func loadDir(dir string) (*Module, error) {
	path := filepath.Join("testdata", "load", dir, "a.star")
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadModule(path, src, "u1", "e1")
}

// Each tree's a.star fails at its top level unless its loads gave it what
// it expects.
func TestLoadResolves(t *testing.T) {
	tests := []struct {
		dir   string
		loads []string // the local modules, in load order
	}{
		{"local", []string{"local/helpers.star"}},
		{"nested", []string{"nested/shared.star", "nested/sub/deeper/leaf.star", "nested/sub/util.star"}},
		{"stdlib", nil},
		{"forced", nil},
		{"shadow", []string{"shadow/stats.star"}},
		{"once", []string{"once/common.star", "once/b.star", "once/c.star"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			m, err := loadDir(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range tt.loads {
				want = append(want, filepath.Join("testdata", "load", filepath.FromSlash(p)))
			}
			if !reflect.DeepEqual(m.Loads, want) {
				t.Errorf("Loads = %q, want %q", m.Loads, want)
			}
		})
	}
}

// A loaded module's globals are frozen, as the script's are.
func TestLoadedModuleIsFrozen(t *testing.T) {
	src := []byte("load(\"common.star\", \"COMMON\")\n\ndef execute():\n    COMMON.append(3)\n")
	path := filepath.Join("testdata", "load", "once", "append.star")
	m, err := LoadModule(path, src, "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = callGlobal(m, "execute")
	if err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("append to a loaded list: %v, want a frozen-value error", err)
	}
}

func TestLoadErrorsPointAtTheLoad(t *testing.T) {
	tests := []struct{ dir, want string }{
		{"cycle2", `a.star:1:1: load("b.star"): cycle: a.star -> b.star -> a.star`},
		{"cycle3", `a.star:1:1: load("b.star"): cycle: a.star -> b.star -> c.star -> a.star`},
		{"cycle_below", `b.star:3:1: load("c.star"): cycle: b.star -> c.star -> b.star (loaded from a.star:1:1)`},
		{"self", `a.star:1:1: load("a.star"): cycle: a.star -> a.star`},
		{"syntax", `helper.star:4:4: got '=', want ')' (loaded from a.star:3:1)`},
		{"runtime", `helper.star:4:13: floating-point division by zero (loaded from a.star:1:1)`},
		{"undefined", `helper.star:2:12: undefined: execute_io_actoin (loaded from a.star:1:1)`},
		{"steps", `helper.star:1:1: stopped after 10000000 Starlark steps (the limit of a script's top level): does a loop never end? (loaded from a.star:1:1)`},
		{"missing", `a.star:2:1: load("helpers.star"): no such module: looked for ` + filepath.Join("testdata", "load", "missing", "helpers.star") +
			`, then @stdlib/helpers.star (pio's library has moving_average.star, stats.star, units.star)`},
		{"missing_stdlib", `a.star:1:1: load("@stdlib/nope.star"): no such module: looked for @stdlib/nope.star (pio's library has moving_average.star, stats.star, units.star)`},
		{"missing_name", `a.star:1:1: load: name tripel not found in module helpers.star (did you mean triple?)`},
		{"escape", `a.star:1:1: load("../local/helpers.star"): it resolves above the script's folder; a script loads modules from its own folder and the folders below it`},
		{"escape_nested", `sub/h.star:1:1: load("../../local/helpers.star"): it resolves above the script's folder; a script loads modules from its own folder and the folders below it (loaded from a.star:1:1)`},
		{"absolute", `a.star:1:1: load("/etc/helpers.star"): a module name is a path relative to the folder of the file that loads it, never absolute`},
		{"backslash", `a.star:1:1: load("sub\\h.star"): a module name separates folders with /, not \`},
		{"notstar", `a.star:1:1: load("helpers.py"): a module name ends in .star`},
		{"badprefix", `a.star:1:1: load("@pio//stats.star"): @stdlib/ is the only @ prefix (pio's library); a script's own module is a path relative to its folder`},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			_, err := loadDir(tt.dir)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n  %s\nwant\n  %s", err, tt.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error is a %T, want a *script.Error", err)
			}
		})
	}
}

// A script of pio's own library (its path starts with @stdlib/) loads only
// from the embedded library, even when a file of that name is on disk.
func TestLibraryScriptLoadsOnlyFromTheLibrary(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "@stdlib", "dosing"), 0o755)
	os.WriteFile(filepath.Join(dir, "@stdlib", "dosing", "stats.star"), []byte("def mean(xs):\n    return \"local\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "@stdlib", "dosing", "helpers.star"), []byte("def double(x):\n    return 2 * x\n"), 0o644)
	t.Chdir(dir)
	src := []byte("load(\"stats.star\", \"mean\")\n\nif mean([1, 2]) != 1.5:\n    fail(\"not pio's stats.star\")\n")
	if _, err := LoadModule("@stdlib/dosing/x.star", src, "u1", "e1"); err != nil {
		t.Fatal(err)
	}
	src = []byte("load(\"helpers.star\", \"double\")\n")
	_, err := LoadModule("@stdlib/dosing/x.star", src, "u1", "e1")
	want := `x.star:1:1: load("helpers.star"): no such module: looked for @stdlib/helpers.star (pio's library has moving_average.star, stats.star, units.star)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	// The same files, for a script that is not pio's, are its own modules.
	if _, err := LoadModule("./@stdlib/dosing/x.star", src, "u1", "e1"); err != nil {
		t.Error(err)
	}
}

func TestResolveModule(t *testing.T) {
	tests := []struct {
		from, name     string
		inLibrary      bool
		local, library string
		err            string
	}{
		{"a.star", "helpers.star", false, "helpers.star", "helpers.star", ""},
		{"a.star", "sub/h.star", false, "sub/h.star", "sub/h.star", ""},
		{"a.star", "./h.star", false, "h.star", "", ""},
		{"sub/h.star", "x.star", false, "sub/x.star", "x.star", ""},
		{"sub/h.star", "../x.star", false, "x.star", "", ""},
		{"sub/deep/h.star", "../../x.star", false, "x.star", "", ""},
		{"sub/h.star", "../../x.star", false, "", "", "above the script's folder"},
		{"a.star", "..", false, "", "", "ends in .star"},
		{"a.star", "../a.star", false, "", "", "above the script's folder"},
		{"a.star", "sub/../../a.star", false, "", "", "above the script's folder"},
		{"a.star", "@stdlib/stats.star", false, "", "stats.star", ""},
		{"sub/h.star", "@stdlib/stats.star", false, "", "stats.star", ""},
		{"a.star", "@stdlib/../x.star", false, "", "", "without ., .. or empty parts"},
		{"a.star", "@stdlib//x.star", false, "", "", "without ., .. or empty parts"},
		{"a.star", "@other/x.star", false, "", "", "the only @ prefix"},
		{"a.star", "/abs/x.star", false, "", "", "never absolute"},
		{"a.star", `C:\x.star`, false, "", "", "not \\"},
		{"a.star", `sub\x.star`, false, "", "", "not \\"},
		{"a.star", "x.py", false, "", "", "ends in .star"},
		{"a.star", "", false, "", "", "empty"},
		{"a.star", "stats.star", true, "", "stats.star", ""},
		{"a.star", "../x.star", true, "", "", "only modules inside the library"},
		{"@stdlib/stats.star", "units.star", false, "", "units.star", ""},
		{"@stdlib/stats.star", "../units.star", false, "", "", "only modules inside the library"},
	}
	for _, tt := range tests {
		local, library, err := resolveModule(tt.from, tt.name, tt.inLibrary)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("resolveModule(%q, %q, %v): error %v, want one containing %q", tt.from, tt.name, tt.inLibrary, err, tt.err)
			}
			continue
		}
		if err != nil || local != tt.local || library != tt.library {
			t.Errorf("resolveModule(%q, %q, %v) = %q, %q, %v; want %q, %q", tt.from, tt.name, tt.inLibrary, local, library, err, tt.local, tt.library)
		}
	}
}

// callGlobal calls a function of a loaded module on a new thread.
func callGlobal(m *Module, name string) (starlark.Value, error) {
	v, err := starlark.Call(&starlark.Thread{Name: "test"}, m.Globals[name], nil, nil)
	if err != nil {
		return nil, FormatError(err, nil, 0, "")
	}
	return v, nil
}

// An error in a helper's function, once the script runs, is at the
// helper's line; one in a function of pio's library is where the script
// called it, as a builtin's is.
func TestRuntimeErrorsInLoadedFunctions(t *testing.T) {
	m, err := loadDir("runtime_call")
	if err != nil {
		t.Fatal(err)
	}
	for fn, want := range map[string]string{
		"execute":            "helpers/div.star:3:15: floating-point division by zero",
		"average_of_nothing": "a.star:8:16: fail: mean: the list is empty",
	} {
		_, err := callGlobal(m, fn)
		if err == nil || err.Error() != want {
			t.Errorf("%s(): error %v, want %s", fn, err, want)
		}
	}
}

// A module that a symbolic link takes outside the script's folder is
// refused: the folder rule holds for the file reached, not only the name.
func TestLoadRefusesALinkOutOfTheFolder(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.star"), []byte("X = 1\n"), 0o644)
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "secret.star"), filepath.Join(dir, "helpers.star")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	os.WriteFile(filepath.Join(dir, "inside.star"), []byte("Y = 2\n"), 0o644)
	os.Symlink(filepath.Join(dir, "inside.star"), filepath.Join(dir, "alias.star"))

	path := filepath.Join(dir, "a.star")
	_, err := LoadModule(path, []byte("load(\"helpers.star\", \"X\")\n"), "u1", "e1")
	if err == nil || !strings.HasPrefix(err.Error(), `a.star:1:1: load("helpers.star"): `) ||
		!strings.Contains(err.Error(), "outside the script's folder") {
		t.Errorf("a link out of the folder: %v", err)
	}
	// A link that stays inside the folder is an ordinary module.
	if _, err := LoadModule(path, []byte("load(\"alias.star\", \"Y\")\n"), "u1", "e1"); err != nil {
		t.Errorf("a link inside the folder: %v", err)
	}
}
