package scriptlib

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Manifest is what the library records of an installed script, in its
// folder's manifest.json.
type Manifest struct {
	// Name is the installed name: the script's job_name or
	// automation_name, else its file's stem.
	Name string `json:"name"`
	// Family is the script's family: dosing, temperature, led or job.
	Family string `json:"family"`
	// Version is metadata["version"] of the script ("" without one).
	Version string `json:"version"`
	// Script is the script's file in the folder (its name when installed).
	Script string `json:"script"`
	// Source is the absolute path it was installed from.
	Source string `json:"source"`
	// InstalledAt is when it was installed, in UTC.
	InstalledAt time.Time `json:"installed_at"`
	// Files are the script (first) and the local modules it loads, with
	// their checksums.
	Files []File `json:"files"`
}

// File is a file of an installed script and its checksum.
type File struct {
	// Path is relative to the script's folder, with forward slashes.
	Path string `json:"path"`
	// SHA256 is the hex sha256 of the file's bytes.
	SHA256 string `json:"sha256"`
}

// sum is the hex sha256 of b.
func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// readManifest reads and validates the manifest of the script folder dir.
func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("it has no %s", ManifestFile)
		}
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", ManifestFile, err)
	}
	if len(m.Files) == 0 || m.Script == "" || m.Files[0].Path != m.Script {
		return nil, fmt.Errorf("%s: it lists no script file", ManifestFile)
	}
	for _, f := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) || f.Path == ManifestFile {
			return nil, fmt.Errorf("%s: file %q is not a path inside the script's folder", ManifestFile, f.Path)
		}
	}
	return &m, nil
}

// writeManifest writes m into the folder dir.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o644)
}

// verify compares the files of the script folder dir with m's checksums: it
// returns the problem ("" if none): a file that is missing, changed, or in
// the folder without being in the manifest (a module dropped there would
// be loaded instead of pio's own).
func verify(dir string, m *Manifest) string {
	var problems []string
	listed := map[string]bool{ManifestFile: true}
	for _, f := range m.Files {
		listed[f.Path] = true
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case os.IsNotExist(err):
			problems = append(problems, f.Path+" is missing")
		case err != nil:
			problems = append(problems, err.Error())
		case sum(b) != f.SHA256:
			problems = append(problems, f.Path+" does not match its checksum")
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if !listed[filepath.ToSlash(rel)] {
			problems = append(problems, filepath.ToSlash(rel)+" is not one of its files")
		}
		return nil
	})
	return strings.Join(problems, "; ")
}
