package scriptlib

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/syntax"

	"github.com/piolab/pio/script"
)

// localModules lists the local modules the script at path loads, directly
// or through other local modules, as paths relative to the script's folder
// (with forward slashes, sorted). It reads their syntax only, and follows
// load()'s resolution order: a name starting with @stdlib/ is pio's own; any
// other is a path relative to the loading file's folder when that file
// exists (it must stay inside the script's folder), else pio's own.
func localModules(path string) ([]string, error) {
	top := filepath.Dir(path)
	seen := map[string]bool{}
	var walk func(file string) error
	walk = func(file string) error {
		src, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		f, err := script.FileOptions.Parse(filepath.Base(file), src, 0)
		if err != nil {
			return err
		}
		for _, stmt := range f.Stmts {
			load, ok := stmt.(*syntax.LoadStmt)
			if !ok {
				continue
			}
			name, _ := load.Module.Value.(string)
			if strings.HasPrefix(name, "@stdlib/") || filepath.IsAbs(name) {
				continue
			}
			dep := filepath.Join(filepath.Dir(file), filepath.FromSlash(name))
			if st, err := os.Stat(dep); err != nil || st.IsDir() {
				continue // pio's own library (or an error Check reports)
			}
			rel, err := filepath.Rel(top, dep)
			if err != nil || !filepath.IsLocal(rel) {
				return fmt.Errorf("%s: load(%q): %s is outside the script's folder %s", load.Load, name, dep, top)
			}
			rel = filepath.ToSlash(rel)
			if seen[rel] {
				continue
			}
			seen[rel] = true
			if err := walk(dep); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(path); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for rel := range seen {
		out = append(out, rel)
	}
	sort.Strings(out)
	return out, nil
}
