// Package stdlib holds the Starlark library shipped with pio: the built-in
// automations, written in Starlark like any lab's own, one folder per
// script family (dosing/, temperature/, led/). A lab copies one, changes a
// line, and runs its copy with pio run-script.
package stdlib

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// files holds the library: every family folder (the pattern takes the
// folders that exist; the Go files it also takes are never looked up).
//
//go:embed *
var files embed.FS

// FS is the dosing library at its root (silent.star, chemostat.star, ...),
// as pio looked scripts up before the families had folders.
var FS fs.FS = mustSub("dosing")

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Lookup returns the library script name of family (dosing, temperature,
// led): its path in the library ("dosing/turbidostat.star"), its source, and
// whether there is one.
func Lookup(family, name string) (p string, src []byte, ok bool) {
	if family == "" || name == "" || strings.ContainsAny(family+name, "/\\.") {
		return "", nil, false
	}
	p = path.Join(family, name+".star")
	src, err := files.ReadFile(p)
	if err != nil {
		return "", nil, false
	}
	return p, src, true
}

// Names lists the library's scripts of family, sorted, without .star.
func Names(family string) []string {
	matches, _ := fs.Glob(files, path.Join(family, "*.star"))
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, strings.TrimSuffix(path.Base(m), ".star"))
	}
	sort.Strings(out)
	return out
}
