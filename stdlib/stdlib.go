// Package stdlib holds the Starlark library shipped with pio: the built-in
// automations, written in Starlark like any lab's own, one folder per
// script family (dosing/, temperature/, led/). A lab copies one, changes a
// line, and runs its copy with pio run-script.
//
// The folder lib/ is not a family: it holds the modules scripts load()
// ("@stdlib/stats.star"), and is its own package (stdlib/lib) so that the
// script package can resolve loads with it.
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

// Prefix starts the path Lookup gives a library script. A script whose
// path starts with it loads modules only from pio's library (script/load.go).
const Prefix = "@stdlib/"

// Lookup returns the library script name of family (dosing, temperature,
// led): its path ("@stdlib/dosing/turbidostat.star", see Prefix), its
// source, and whether there is one.
func Lookup(family, name string) (p string, src []byte, ok bool) {
	if !isFamily(family) || name == "" || strings.ContainsAny(name, "/\\.") {
		return "", nil, false
	}
	src, err := files.ReadFile(path.Join(family, name+".star"))
	if err != nil {
		return "", nil, false
	}
	return Prefix + path.Join(family, name+".star"), src, true
}

// isFamily reports whether dir may be a family folder: a plain name, and
// not lib/, the folder of loadable modules.
func isFamily(dir string) bool {
	return dir != "" && dir != "lib" && !strings.ContainsAny(dir, "/\\.")
}

// Names lists the library's scripts of family, sorted, without .star.
func Names(family string) []string {
	if !isFamily(family) {
		return nil
	}
	matches, _ := fs.Glob(files, path.Join(family, "*.star"))
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, strings.TrimSuffix(path.Base(m), ".star"))
	}
	sort.Strings(out)
	return out
}
