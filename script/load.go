package script

// load("helpers.star", "f"): the modules a script loads.
//
// Resolution, in order:
//
//   - a name starting with @stdlib/ comes only from pio's embedded library
//     (package stdlib/lib): load("@stdlib/stats.star", "mean");
//   - any other name is a path relative to the folder of the file that
//     loads it: never absolute, never with \, never above the folder of
//     the top script; if no such file exists, the name is looked up in the
//     embedded library (a lab's own stats.star next to the script wins over
//     pio's).
//
// A script of pio's own library (a path starting with @stdlib/, as
// stdlib.Lookup returns) resolves every name inside the embedded library.
//
// A module runs once per script load (cached by resolved name), on the
// loading thread (so its steps count against the same limit), with the same
// predeclared builtins and dialect as the script; its globals are frozen.
// Errors are *Error values: at the load statement for a module that cannot
// be found or loaded, at the module's own position for an error inside it,
// each followed by the chain of load statements that led there.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/stdlib/lib"
)

// libraryPrefix starts the name of a module of pio's embedded library, and
// the path of a script of pio's own library.
const libraryPrefix = "@stdlib/"

// loader runs the load statements of one script's top level.
type loader struct {
	root      string // the top script's folder, where local names resolve
	inLibrary bool   // the top script is pio's own: every name is a library module
	universe  starlark.StringDict
	fam       Family
	famAt     string // where automation_type is declared, for undefined-name hints
	maxSteps  uint64
	limit     string

	stack []loading                      // modules being loaded, the top script first
	done  map[string]starlark.StringDict // loaded modules by key
	loads []string                       // files of local modules, in load order
}

// loading is a module whose top level is running.
type loading struct {
	key  string // "helpers/math.star" (under root) or "@stdlib/stats.star"
	name string // the name its load statement gave
	site string // the position of that load statement; "" for the top script
}

// newLoader returns the loader of the script at path, whose top level
// runs with universe. Thread steps beyond maxSteps are reported as limit.
func newLoader(path string, universe starlark.StringDict, fam Family, famAt string, maxSteps uint64, limit string) *loader {
	return &loader{
		root:      filepath.Dir(path),
		inLibrary: strings.HasPrefix(path, libraryPrefix),
		universe:  universe,
		fam:       fam,
		famAt:     famAt,
		maxSteps:  maxSteps,
		limit:     limit,
		stack:     []loading{{key: filepath.Base(path)}},
		done:      map[string]starlark.StringDict{},
	}
}

// loadFailure carries a load error through the interpreter, which wraps
// it in "cannot load x: ..." at every level; FormatError unwraps it.
type loadFailure struct{ err *Error }

func (f *loadFailure) Error() string { return f.err.Error() }

// load implements starlark.Thread.Load.
func (l *loader) load(th *starlark.Thread, name string) (starlark.StringDict, error) {
	from := len(l.stack) - 1
	site := th.CallFrame(0).Pos.String()
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf("load(%q): ", name) + fmt.Sprintf(format, args...)
		return &loadFailure{&Error{Pos: site, Msg: msg + l.loadedFrom(from)}}
	}
	local, library, err := resolveModule(l.stack[from].key, name, l.inLibrary)
	if err != nil {
		return nil, fail("%v", err)
	}
	key, file, src, err := l.find(local, library)
	if err != nil {
		return nil, fail("%v", err)
	}
	if g, ok := l.done[key]; ok {
		return g, nil
	}
	for i, m := range l.stack {
		if m.key == key {
			return nil, l.cycle(i, name, site)
		}
	}
	l.stack = append(l.stack, loading{key: key, name: name, site: site})
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	g, err := l.run(th, key, src)
	if err != nil {
		return nil, err
	}
	l.done[key] = g
	if file != "" {
		l.loads = append(l.loads, file)
	}
	return g, nil
}

// find returns the module a resolved name designates: its key, its file
// (for a local module), and its source. local and library are
// resolveModule's candidates, tried in that order.
func (l *loader) find(local, library string) (key, file string, src []byte, err error) {
	var looked []string
	if local != "" {
		file = filepath.Join(l.root, filepath.FromSlash(local))
		src, err := os.ReadFile(file)
		if err == nil {
			if err := l.inside(file); err != nil {
				return "", "", nil, err
			}
			return local, file, src, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", nil, fmt.Errorf("reading %s: %w", file, errors.Unwrap(err))
		}
		looked = append(looked, file)
	}
	if library != "" {
		if src, ok := lib.Lookup(library); ok {
			return libraryPrefix + library, "", src, nil
		}
		looked = append(looked, libraryPrefix+library)
	}
	msg := "no such module: looked for " + strings.Join(looked, ", then ")
	if library != "" {
		msg += " (pio's library has " + strings.Join(lib.Names(), ", ") + ")"
	}
	return "", "", nil, errors.New(msg)
}

// inside refuses a module file that a symbolic link takes outside the top
// script's folder: the name was checked (resolveModule), the file it
// reaches must be too, so that a script reads no file it was not given.
func (l *loader) inside(file string) error {
	root, err := filepath.EvalSymlinks(l.root)
	if err != nil {
		return fmt.Errorf("resolving the script's folder %s: %w", l.root, errors.Unwrap(err))
	}
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", file, errors.Unwrap(err))
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s is a link to %s, outside the script's folder %s: a script loads only files inside its own folder", file, real, l.root)
	}
	return nil
}

// run runs a module's top level on th and freezes its globals. The module
// at the top of the stack is the one running.
func (l *loader) run(th *starlark.Thread, key string, src []byte) (starlark.StringDict, error) {
	at := len(l.stack) - 1
	fail := func(err error) error {
		var se *Error
		if !errors.As(err, &se) {
			se = &Error{Msg: err.Error(), cause: err}
		}
		se.Msg += l.loadedFrom(at)
		return &loadFailure{se}
	}
	f, err := FileOptions.Parse(key, src, 0)
	if err != nil {
		return nil, fail(parseError(err, src))
	}
	prog, err := starlark.FileProgram(f, l.universe.Has)
	if err != nil {
		err = FormatError(err, nil, 0, "")
		if se, ok := err.(*Error); ok {
			err = explainUndefined(se, l.fam, l.famAt)
		}
		return nil, fail(err)
	}
	g, err := prog.Init(th, l.universe)
	g.Freeze()
	if err != nil {
		var inner *loadFailure
		if errors.As(err, &inner) {
			return nil, inner // already placed, with its whole chain
		}
		return nil, fail(FormatError(err, th, l.maxSteps, l.limit))
	}
	return g, nil
}

// cycle is the error of a load that would run a module still loading: the
// module at stack[i] loads, through the rest of the stack, itself. It is
// placed at the load statement that started the cycle.
func (l *loader) cycle(i int, name, site string) error {
	chain := make([]string, 0, len(l.stack)-i+1)
	for _, m := range l.stack[i:] {
		chain = append(chain, m.key)
	}
	chain = append(chain, l.stack[i].key)
	if i+1 < len(l.stack) { // the load in stack[i] of the next module
		name, site = l.stack[i+1].name, l.stack[i+1].site
	}
	msg := fmt.Sprintf("load(%q): cycle: %s", name, strings.Join(chain, " -> "))
	return &loadFailure{&Error{Pos: site, Msg: msg + l.loadedFrom(i)}}
}

// loadedFrom is the chain of load statements that loaded stack[i]:
// " (loaded from b.star:1:1, from a.star:3:1)", or "" for the top script.
func (l *loader) loadedFrom(i int) string {
	var sites []string
	for ; i > 0; i-- {
		sites = append(sites, l.stack[i].site)
	}
	if len(sites) == 0 {
		return ""
	}
	return " (loaded from " + strings.Join(sites, ", from ") + ")"
}

// resolveModule returns where load(name), in the module keyed from, may
// find its module: local, a slash path under the top script's folder (""
// when the name is not a local one), then library, a path in pio's
// embedded library ("" when it cannot be one). Names that break a rule are
// an error that names the rule. inLibrary: the top script is pio's own, so
// every name is a library one.
func resolveModule(from, name string, inLibrary bool) (local, library string, err error) {
	switch {
	case name == "":
		return "", "", errors.New("the module name is empty")
	case strings.Contains(name, `\`):
		return "", "", errors.New(`a module name separates folders with /, not \`)
	case !strings.HasSuffix(name, ".star"):
		return "", "", errors.New("a module name ends in .star")
	case strings.HasPrefix(name, libraryPrefix):
		rest := strings.TrimPrefix(name, libraryPrefix)
		if !fs.ValidPath(rest) {
			return "", "", errors.New("@stdlib/ is followed by a module of pio's library, a path without ., .. or empty parts")
		}
		return "", rest, nil
	case strings.HasPrefix(name, "@"):
		return "", "", errors.New("@stdlib/ is the only @ prefix (pio's library); a script's own module is a path relative to its folder")
	case path.IsAbs(name) || filepath.IsAbs(name) || filepath.VolumeName(name) != "":
		return "", "", errors.New("a module name is a path relative to the folder of the file that loads it, never absolute")
	}
	dir := path.Dir(strings.TrimPrefix(from, libraryPrefix))
	p := path.Join(dir, name)
	if inLibrary || strings.HasPrefix(from, libraryPrefix) {
		if !fs.ValidPath(p) {
			return "", "", errors.New("a module of pio's library loads only modules inside the library")
		}
		return "", p, nil
	}
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", "", errors.New("it resolves above the script's folder; a script loads modules from its own folder and the folders below it")
	}
	if fs.ValidPath(name) {
		library = name
	}
	return p, library, nil
}

// errorFrame is the frame an error is reported at: the innermost frame of
// Starlark code, skipping the modules of pio's library (an error inside
// @stdlib/stats.star is reported where the script called it, as a
// builtin's is) unless only they are on the stack.
func errorFrame(stack starlark.CallStack) (starlark.CallFrame, bool) {
	for _, skipLibrary := range []bool{true, false} {
		for i := len(stack) - 1; i >= 0; i-- {
			fr := stack[i]
			name := fr.Pos.Filename()
			if name == "<builtin>" || !fr.Pos.IsValid() || skipLibrary && strings.HasPrefix(name, libraryPrefix) {
				continue
			}
			return fr, true
		}
	}
	return starlark.CallFrame{}, false
}
