// Package scriptlib is the unit's script library: scripts installed with
// `pio scripts install FILE` under <home>/scripts/, one folder per script,
// each with a manifest that records the checksum of every file.
//
// The library is read only when asked: by `pio run-script NAME` and by the
// `pio scripts` commands. Nothing in it is compiled before it is run, so a
// broken or tampered entry never stops pio from starting or another script
// from running; it is listed with its problem, and running it is refused.
//
// A library folder looks like this:
//
//	<home>/scripts/
//	  ph_reading/
//	    manifest.json      name, family, version, source, installed_at, files with sha256
//	    ph_reading.star    the script, under the file name it was installed from
//	    helpers.star       the local modules it loads, at the same relative paths
//
// docs/script-library.md is the reference.
package scriptlib

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ManifestFile is the name of the manifest in each script's folder.
const ManifestFile = "manifest.json"

// ErrNotInstalled is the error of a name the library does not have.
var ErrNotInstalled = errors.New("not installed")

// Library is a script library in a folder.
type Library struct {
	// Dir is the library's folder, <home>/scripts.
	Dir string
	// Now is the clock that stamps installed_at.
	Now func() time.Time
	// rename moves a folder (os.Rename when nil; tests make it fail).
	rename func(from, to string) error
}

// Open returns the library of the pio home folder home (see unit.Home). It
// reads nothing: a library that does not exist yet is an empty one.
func Open(home string) *Library {
	return &Library{Dir: filepath.Join(home, "scripts"), Now: time.Now}
}

// nameRe is what an installed name may be: the form of automation and job
// names, so it is also a safe folder name.
var nameRe = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// maxName is the longest installed name: a folder name, with room for the
// prefix and suffix of the folder an install writes first.
const maxName = 64

// checkName refuses a name that cannot be an installed script's.
func checkName(name string) error {
	if len(name) > maxName {
		return fmt.Errorf("%q... is %d characters long; a script name has at most %d", name[:20], len(name), maxName)
	}
	if !nameRe.MatchString(name) {
		return fmt.Errorf("%q is not a script name: want lower-case letters and digits joined by _ (e.g. ph_reading)", name)
	}
	return nil
}

// Resolve returns the path of the installed script name if it is installed
// and intact (every file matches its checksum). Find says why it is not.
func (l *Library) Resolve(name string) (path string, ok bool) {
	p, err := l.Find(name)
	return p, err == nil
}

// Find returns the path of the installed script name, to run it. A name
// that is not installed is ErrNotInstalled (errors.Is); an entry whose
// files do not match their checksums, or that is broken, is an error that
// says what is wrong and to reinstall it.
func (l *Library) Find(name string) (string, error) {
	if checkName(name) != nil {
		return "", fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	dir := filepath.Join(l.Dir, name)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	e := l.entry(name, false)
	if e.Problem != "" {
		return "", fmt.Errorf("installed script %s (%s): %s; reinstall it with pio scripts install FILE (or remove it with pio scripts remove %s)", name, dir, e.Problem, name)
	}
	return e.Path, nil
}

// Names lists the installed scripts' names (the folders of the library),
// sorted, without reading them.
func (l *Library) Names() ([]string, error) {
	des, err := os.ReadDir(l.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("script library: %w", err)
	}
	var names []string
	for _, de := range des {
		// Dot folders are installs and removals in progress.
		if de.IsDir() && !strings.HasPrefix(de.Name(), ".") {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Remove deletes the installed script name and its folder.
func (l *Library) Remove(name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	dir := filepath.Join(l.Dir, name)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(dir); err != nil { // removed while it waited
		return fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	// Renamed aside first, so the name is gone at once even if deleting
	// the files fails half-way.
	trash, err := os.MkdirTemp(l.Dir, ".remove-"+name+"-")
	if err != nil {
		return fmt.Errorf("script library: %w", err)
	}
	defer os.RemoveAll(trash)
	if err := os.Rename(dir, filepath.Join(trash, name)); err != nil {
		return fmt.Errorf("script library: %w", err)
	}
	return nil
}
