package scriptlib

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/script"
)

// InstallOptions are the options of Install.
type InstallOptions struct {
	// Config is the unit's config, which Check checks the script against
	// (its pumps and grants); nil: the defaults.
	Config *config.Config
	// Force replaces an installed script of the same name whose files
	// differ.
	Force bool
}

// Installed is what Install did.
type Installed struct {
	Entry *Entry
	// Status is "installed", "replaced" (--force), "repaired" (the same
	// files over an entry that had been modified) or "unchanged" (the
	// same files were installed already: nothing was written).
	Status string
	// Warnings are Check's warnings about the script.
	Warnings []script.Diagnostic
}

// CheckError is a script Install refused because Check found errors.
type CheckError struct {
	Path        string
	Diagnostics []script.Diagnostic // errors and warnings, in Check's order
}

func (e *CheckError) Error() string {
	n := 0
	for _, d := range e.Diagnostics {
		if !d.Warning {
			n++
		}
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("%s: not installed: pio scripts check finds %d error%s", e.Path, n, plural)
}

// Install checks the script at src as `pio scripts check` does and, if
// Check finds no error, stores it in the library under its name (job_name
// or automation_name, else its file's stem) with the local modules it
// loads and their checksums. The new folder is written aside and renamed
// into place, so a failure leaves the library as it was.
//
// A different script already installed under the name is refused unless
// o.Force; the same files again are a no-op ("unchanged"). A name of pio's
// own library is allowed: the installed script shadows it for pio
// run-script NAME (Entry.Shadows says so).
func (l *Library) Install(src string, o InstallOptions) (*Installed, error) {
	switch {
	case filepath.Ext(src) != ".star":
		return nil, fmt.Errorf("%s: a script is a .star file", src)
	case script.IsTestFile(src):
		return nil, fmt.Errorf("%s: a script's tests, not a script: install %s (pio scripts test runs its tests)",
			src, strings.TrimSuffix(filepath.Base(src), "_test.star")+".star")
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("pio scripts install: %w", err)
	}
	diags := script.Check(src, b, script.CheckOptions{Config: o.Config})
	if script.HasErrors(diags) {
		return nil, &CheckError{Path: src, Diagnostics: diags}
	}
	warnings := diags
	d, err := script.Describe(abs, b)
	if err != nil {
		return nil, err
	}
	if d.Family == "library" {
		return nil, fmt.Errorf("%s: a module of helpers that scripts load(), not a script: install the script that loads it (its modules come with it)", src)
	}
	if err := checkName(d.Name); err != nil {
		return nil, fmt.Errorf("%s: the script's name %v; set job_name or automation_name", src, err)
	}
	m, err := newManifest(abs, b, d)
	if err != nil {
		return nil, err
	}
	m.InstalledAt = l.Now().UTC().Truncate(time.Second)

	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	status := "installed"
	dir := filepath.Join(l.Dir, d.Name)
	if _, err := os.Lstat(dir); err == nil {
		old, err := readManifest(dir)
		switch {
		case err == nil && slices.Equal(old.Files, m.Files) && verify(dir, old) == "":
			return &Installed{Entry: l.entry(d.Name, true), Status: "unchanged", Warnings: warnings}, nil
		case err == nil && slices.Equal(old.Files, m.Files):
			status = "repaired"
		case o.Force:
			status = "replaced"
		case err != nil:
			return nil, fmt.Errorf("%s: the library already has a folder %s, which is broken (%v); pio scripts install --force replaces it", src, dir, err)
		default:
			return nil, fmt.Errorf("%s: a different script named %s is installed (%s); pio scripts install --force replaces it", src, d.Name, describeInstall(old))
		}
	}
	if err := l.write(abs, dir, m); err != nil {
		return nil, fmt.Errorf("pio scripts install: %w", err)
	}
	return &Installed{Entry: l.entry(d.Name, true), Status: status, Warnings: warnings}, nil
}

// describeInstall says where and when an installed script came from.
func describeInstall(m *Manifest) string {
	var parts []string
	if m.Version != "" {
		parts = append(parts, "version "+m.Version)
	}
	parts = append(parts, "from "+m.Source, "installed "+m.InstalledAt.Format("2006-01-02 15:04 UTC"))
	return strings.Join(parts, ", ")
}

// newManifest builds the manifest of the script at abs (whose source is b)
// and its local modules, reading and summing each file.
func newManifest(abs string, b []byte, d *script.Description) (*Manifest, error) {
	m := &Manifest{Name: d.Name, Family: d.Family, Version: d.Metadata.Version, Script: filepath.Base(abs), Source: abs,
		Files: []File{{Path: filepath.Base(abs), SHA256: sum(b)}}}
	mods, err := localModules(abs, b)
	if err != nil {
		return nil, err
	}
	for _, rel := range mods {
		mb, err := os.ReadFile(filepath.Join(filepath.Dir(abs), filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("pio scripts install: %w", err)
		}
		m.Files = append(m.Files, File{Path: rel, SHA256: sum(mb)})
	}
	return m, nil
}

// write stores the files of m, copied from beside abs, as the folder dir:
// it writes them into a new folder in the library, checks what it wrote,
// and renames it into place (the old folder, if any, aside first, and back
// if that fails).
func (l *Library) write(abs, dir string, m *Manifest) (err error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("%w (the library is unchanged)", err)
	}
	tmp, err := os.MkdirTemp(l.Dir, ".install-"+m.Name+"-")
	if err != nil {
		return fmt.Errorf("%w (the library is unchanged)", err)
	}
	keep := false // the old folder could not be put back: leave it aside
	defer func() {
		if keep {
			return
		}
		os.RemoveAll(tmp) // empty after a success
		if err != nil {
			err = fmt.Errorf("%w (the library is unchanged)", err)
		}
	}()
	staged := filepath.Join(tmp, m.Name)
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(abs), filepath.FromSlash(f.Path)))
		if err != nil {
			return err
		}
		to := filepath.Join(staged, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return err
		}
	}
	if err := writeManifest(staged, m); err != nil {
		return err
	}
	// A file that changed while it was copied does not match its sum.
	if p := verify(staged, m); p != "" {
		return fmt.Errorf("%s changed while it was installed: %s", abs, p)
	}
	rename := l.rename
	if rename == nil {
		rename = os.Rename
	}
	aside := filepath.Join(tmp, "old")
	_, statErr := os.Lstat(dir)
	if statErr == nil {
		if err := rename(dir, aside); err != nil {
			return err
		}
	}
	if err := rename(staged, dir); err != nil {
		if statErr == nil {
			if err2 := os.Rename(aside, dir); err2 != nil {
				keep = true
				return fmt.Errorf("%w; the installed script could not be put back either: it is in %s", err, aside)
			}
		}
		return err
	}
	return nil
}
