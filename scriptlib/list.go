package scriptlib

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/piolab/pio/script"
	"github.com/piolab/pio/stdlib"
)

// Entry is an installed script as List and Show see it. A broken or
// tampered entry has a Problem and whatever could still be read.
type Entry struct {
	Name string `json:"name"`
	// Dir is the script's folder in the library.
	Dir string `json:"dir"`
	// Path is the script's file ("" when the manifest is unreadable).
	Path string `json:"path,omitempty"`
	// Manifest is nil when it is missing or unreadable.
	Manifest *Manifest `json:"manifest,omitempty"`
	// Description is the script's header, read from its syntax without
	// running it (nil when the script does not parse).
	Description *script.Description `json:"description,omitempty"`
	// Problem is why the entry cannot run as installed ("" when every file
	// matches its checksum and the script parses).
	Problem string `json:"problem,omitempty"`
	// Shadows names the automation of pio's own library with the same
	// name, which pio run-script NAME no longer runs ("" if none).
	Shadows string `json:"shadows,omitempty"`
}

// Status is "ok" or the entry's problem.
func (e *Entry) Status() string {
	if e.Problem == "" {
		return "ok"
	}
	return e.Problem
}

// Family is the entry's family, from its header or else its manifest.
func (e *Entry) Family() string {
	switch {
	case e.Description != nil:
		return e.Description.Family
	case e.Manifest != nil:
		return e.Manifest.Family
	}
	return ""
}

// List reads every installed script's manifest and header (never running
// it) and verifies its checksums. An entry that is broken or tampered with
// is listed with its problem; only a library folder that cannot be read is
// an error.
func (l *Library) List() ([]*Entry, error) {
	names, err := l.Names()
	if err != nil {
		return nil, err
	}
	out := make([]*Entry, 0, len(names))
	for _, name := range names {
		out = append(out, l.entry(name, true))
	}
	return out, nil
}

// Show is List's entry of the script name, or ErrNotInstalled.
func (l *Library) Show(name string) (*Entry, error) {
	if checkName(name) != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	if _, err := os.Stat(filepath.Join(l.Dir, name)); err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	return l.entry(name, true), nil
}

// entry reads the folder of name: its manifest, its checksums and, with
// describe, its header.
func (l *Library) entry(name string, describe bool) *Entry {
	e := &Entry{Name: name, Dir: filepath.Join(l.Dir, name), Shadows: shadowed(name)}
	m, err := readManifest(e.Dir)
	if err != nil {
		e.Problem = "broken: " + err.Error()
		return e
	}
	e.Manifest, e.Path = m, filepath.Join(e.Dir, filepath.FromSlash(m.Script))
	if m.Name != name {
		e.Problem = fmt.Sprintf("broken: %s names it %q, not %q", ManifestFile, m.Name, name)
		return e
	}
	if p := verify(e.Dir, m); p != "" {
		e.Problem = "modified: " + p
	}
	if !describe {
		return e
	}
	src, err := os.ReadFile(e.Path)
	if err != nil {
		return e // verify has said it
	}
	d, err := script.Describe(e.Path, src)
	if err != nil {
		e.Problem = joinProblems(e.Problem, "broken: "+err.Error())
		return e
	}
	e.Description = d
	return e
}

func joinProblems(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// shadowed names the automation of pio's library called name, if any.
func shadowed(name string) string {
	var fams []string
	for _, fam := range []string{"dosing", "temperature", "led"} {
		if _, _, ok := stdlib.Lookup(fam, name); ok {
			fams = append(fams, fam)
		}
	}
	if len(fams) == 0 {
		return ""
	}
	return fmt.Sprintf("pio's own %s automation %s", strings.Join(fams, " and "), name)
}
