// Package lib holds pio's library of Starlark modules: helpers a script
// loads with load("@stdlib/stats.star", "mean") (or load("stats.star", ...)
// when the script's folder has no stats.star). Each module is pure Starlark,
// documented at its top; docs/script-libraries.md is the reference.
//
// The library is its own package, not part of package stdlib, because the
// script package resolves load() with it and stdlib's tests run scripts.
package lib

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

// files holds the modules (the folder's .star files; testdata/ is not in it).
//
//go:embed *.star
var files embed.FS

// Lookup returns the source of the module name ("stats.star") and whether
// the library has it. A name that is not a plain path inside the library
// ("../x.star", "/x.star", "a//b.star") is not found.
func Lookup(name string) ([]byte, bool) {
	if !fs.ValidPath(name) || !strings.HasSuffix(name, ".star") {
		return nil, false
	}
	src, err := files.ReadFile(name)
	if err != nil {
		return nil, false
	}
	return src, true
}

// Names lists the library's modules, sorted ("moving_average.star", ...).
func Names() []string {
	matches, _ := fs.Glob(files, "*.star")
	sort.Strings(matches)
	return matches
}
