package scriptlib

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/piolab/pio/script"
)

// localModules lists the script's own modules that the script at abs (an
// absolute path, whose source is src) loads, directly or through other
// modules, as paths relative to its folder with forward slashes, sorted.
// They are the files its load statements open when it loads
// (script.Module.Loads), as a check loads it: modules of pio's own library
// are not among them.
func localModules(abs string, src []byte) ([]string, error) {
	m, err := script.LoadModule(abs, src, "install", "install")
	if err != nil {
		return nil, err
	}
	top := filepath.Dir(abs)
	var out []string
	for _, p := range m.Loads {
		rel, err := filepath.Rel(top, p)
		if err != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("%s: it loads %s, which is outside its folder %s", abs, p, top)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	sort.Strings(out)
	return out, nil
}
