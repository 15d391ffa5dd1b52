package scriptlib

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The scripts the tests install.
const (
	pumpsV1 = `api_version = 1
automation_name = "three_pumps"
metadata = {"name": "three_pumps", "version": "1.0.0", "author": "A. Lab", "description": "Adds media."}
settings = {"volume": {"default": 0.5, "type": "float", "unit": "mL", "min": 0.1, "max": 5.0, "description": "Volume per dose"}}

def execute():
    add_media(ml = setting("volume"))
`
	pumpsV2 = `api_version = 1
automation_name = "three_pumps"
metadata = {"name": "three_pumps", "version": "2.0.0", "description": "Adds more media."}

def execute():
    add_media(ml = 1.0)
`
	withHelpers = `api_version = 1
automation_name = "halves"
load("helpers.star", "half")

def execute():
    add_media(ml = half(1.0))
`
	helpers = `load("lib/more.star", "one")

def half(x):
    return x * one() / 2
`
	more = `def one():
    return 1
`
	syntaxError = `api_version = 1

def execute(:
    pass
`
	turbidostat = `api_version = 1
automation_name = "turbidostat"

def execute():
    add_media(ml = 0.5)
`
)

// write writes files (path: content) under dir and returns the path of the
// first one named.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, src := range files {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// newLibrary is an empty library in a temporary home, on a fixed clock.
func newLibrary(t *testing.T) *Library {
	l := Open(t.TempDir())
	l.Now = func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
	return l
}

// leftovers lists the dot folders an install or a removal left behind.
func leftovers(t *testing.T, l *Library) []string {
	t.Helper()
	des, err := os.ReadDir(l.Dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") && de.Name() != lockFile {
			out = append(out, de.Name())
		}
	}
	return out
}

func TestInstall(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"v1/pumps.star": pumpsV1, "v2/pumps.star": pumpsV2, "bad.star": syntaxError,
		"h/halves.star": withHelpers, "h/helpers.star": helpers, "h/lib/more.star": more, "h/unused.star": more,
		"t/turbidostat.star": turbidostat})
	at := func(p string) string { return filepath.Join(src, p) }
	type step struct {
		file    string
		force   bool
		status  string // "" when refused
		errWant string
	}
	tests := []struct {
		name  string
		steps []step
		// files are the installed files of the last step's script.
		files []string
	}{
		{"a new script", []step{{file: at("v1/pumps.star"), status: "installed"}}, []string{"pumps.star"}},
		{"the same again is a no-op", []step{{file: at("v1/pumps.star"), status: "installed"}, {file: at("v1/pumps.star"), status: "unchanged"}}, []string{"pumps.star"}},
		{"a different script of the same name is refused", []step{{file: at("v1/pumps.star"), status: "installed"},
			{file: at("v2/pumps.star"), errWant: "a different script named three_pumps is installed (version 1.0.0, from " + at("v1/pumps.star") + ", installed 2025-03-01 12:00 UTC); pio scripts install --force replaces it"}}, []string{"pumps.star"}},
		{"--force replaces it", []step{{file: at("v1/pumps.star"), status: "installed"}, {file: at("v2/pumps.star"), force: true, status: "replaced"}}, []string{"pumps.star"}},
		{"a script with errors is refused", []step{{file: at("bad.star"), errWant: "bad.star: not installed: pio scripts check finds"}}, nil},
		{"local modules come along, nested, and only those loaded", []step{{file: at("h/halves.star"), status: "installed"}}, []string{"halves.star", "helpers.star", "lib/more.star"}},
		{"a name of pio's own library shadows it", []step{{file: at("t/turbidostat.star"), status: "installed"}}, []string{"turbidostat.star"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLibrary(t)
			var last *Installed
			for i, s := range tt.steps {
				res, err := l.Install(s.file, InstallOptions{Force: s.force})
				if s.errWant != "" {
					if err == nil || !strings.Contains(err.Error(), s.errWant) {
						t.Fatalf("step %d: error %v, want one containing %q", i, err, s.errWant)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if res.Status != s.status {
					t.Errorf("step %d: status %q, want %q", i, res.Status, s.status)
				}
				last = res
			}
			if left := leftovers(t, l); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
			if tt.files == nil {
				if names, _ := l.Names(); len(names) != 0 {
					t.Errorf("installed %v after a refusal", names)
				}
				return
			}
			e := last.Entry
			var got []string
			for _, f := range e.Manifest.Files {
				got = append(got, f.Path)
				b, err := os.ReadFile(filepath.Join(e.Dir, filepath.FromSlash(f.Path)))
				if err != nil || sum(b) != f.SHA256 {
					t.Errorf("%s: %v, or not its checksum", f.Path, err)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.files, " ") {
				t.Errorf("files %v, want %v", got, tt.files)
			}
			if e.Problem != "" {
				t.Errorf("problem %q", e.Problem)
			}
			if p, ok := l.Resolve(e.Name); !ok || p != filepath.Join(l.Dir, e.Name, tt.files[0]) {
				t.Errorf("Resolve(%s) = %q, %v", e.Name, p, ok)
			}
		})
	}
}

func TestInstallRecordsTheManifest(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"pumps.star": pumpsV1, "turbidostat.star": turbidostat})
	l := newLibrary(t)
	res, err := l.Install(filepath.Join(src, "pumps.star"), InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Entry.Manifest
	if m.Name != "three_pumps" || m.Family != "dosing" || m.Version != "1.0.0" || m.Script != "pumps.star" ||
		m.Source != filepath.Join(src, "pumps.star") || !m.InstalledAt.Equal(l.Now()) || m.Files[0].SHA256 != sum([]byte(pumpsV1)) {
		t.Errorf("manifest %+v", m)
	}
	if res.Entry.Shadows != "" {
		t.Errorf("three_pumps shadows %q", res.Entry.Shadows)
	}
	// Reinstalling the same file keeps the first installation's record.
	l.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	res, err = l.Install(filepath.Join(src, "pumps.star"), InstallOptions{})
	if err != nil || res.Status != "unchanged" || !res.Entry.Manifest.InstalledAt.Equal(m.InstalledAt) {
		t.Errorf("reinstall: %v, %+v", err, res)
	}
	res, err = l.Install(filepath.Join(src, "turbidostat.star"), InstallOptions{})
	if err != nil || res.Entry.Shadows != "pio's own dosing automation turbidostat" {
		t.Errorf("turbidostat: %v, shadows %q", err, res.Entry.Shadows)
	}
}

// A failure while the new folder is put in place leaves the library as it
// was: no new entry, the old one intact, nothing left aside.
func TestInstallIsAtomic(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"v1/pumps.star": pumpsV1, "v2/pumps.star": pumpsV2})
	broken := errors.New("disk full")
	for _, failAt := range []int{1, 2} { // the first rename, the second
		l := newLibrary(t)
		if _, err := l.Install(filepath.Join(src, "v1/pumps.star"), InstallOptions{}); err != nil {
			t.Fatal(err)
		}
		n := 0
		l.rename = func(from, to string) error {
			if n++; n == failAt {
				return broken
			}
			return os.Rename(from, to)
		}
		_, err := l.Install(filepath.Join(src, "v2/pumps.star"), InstallOptions{Force: true})
		if !errors.Is(err, broken) || !strings.Contains(err.Error(), "the library is unchanged") {
			t.Errorf("rename %d fails: error %v", failAt, err)
		}
		e, err := l.Show("three_pumps")
		if err != nil || e.Problem != "" || e.Manifest.Version != "1.0.0" {
			t.Errorf("rename %d fails: the old entry is %+v, %v", failAt, e, err)
		}
		if left := leftovers(t, l); len(left) > 0 {
			t.Errorf("rename %d fails: left behind %v", failAt, left)
		}
	}
	// A first install that fails leaves no entry.
	l := newLibrary(t)
	l.rename = func(from, to string) error { return broken }
	if _, err := l.Install(filepath.Join(src, "v1/pumps.star"), InstallOptions{}); !errors.Is(err, broken) {
		t.Errorf("error %v", err)
	}
	if names, _ := l.Names(); len(names) != 0 || len(leftovers(t, l)) != 0 {
		t.Errorf("a failed install left %v and %v", names, leftovers(t, l))
	}
}

// Broken and tampered entries are listed with their problem; running them
// is refused; the others are unaffected.
func TestBrokenAndTamperedEntries(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"pumps.star": pumpsV1, "h/halves.star": withHelpers, "h/helpers.star": helpers, "h/lib/more.star": more, "t/turbidostat.star": turbidostat})
	l := newLibrary(t)
	for _, f := range []string{"pumps.star", "h/halves.star", "t/turbidostat.star"} {
		if _, err := l.Install(filepath.Join(src, f), InstallOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Written directly into the library: a script with a syntax error whose
	// manifest matches it, and folders without a valid manifest.
	write(t, l.Dir, map[string]string{
		"typo/typo.star":         syntaxError,
		"typo/manifest.json":     `{"name": "typo", "family": "dosing", "script": "typo.star", "files": [{"path": "typo.star", "sha256": "` + sum([]byte(syntaxError)) + `"}]}`,
		"nomanifest/x.star":      pumpsV1,
		"garbled/manifest.json":  `{"name": `,
		"escapes/manifest.json":  `{"name": "escapes", "script": "../pumps.star", "files": [{"path": "../pumps.star", "sha256": "00"}]}`,
		"misnamed/manifest.json": `{"name": "other", "script": "x.star", "files": [{"path": "x.star", "sha256": "00"}]}`,
	})
	// Tampered: a helper edited, and a module dropped into an entry.
	write(t, l.Dir, map[string]string{"halves/lib/more.star": "def one():\n    return 2\n", "turbidostat/pid.star": more})

	entries, err := l.List()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"escapes":     `broken: manifest.json: file "../pumps.star" is not a path inside the script's folder`,
		"garbled":     "broken: manifest.json: unexpected end of JSON input",
		"halves":      "modified: lib/more.star does not match its checksum",
		"misnamed":    `broken: manifest.json names it "other", not "misnamed"`,
		"nomanifest":  "broken: it has no manifest.json",
		"three_pumps": "ok",
		"turbidostat": "modified: pid.star is not one of its files",
		"typo":        "broken: typo.star:3:14:",
	}
	if len(entries) != len(want) {
		t.Errorf("listed %d entries, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		if w, ok := want[e.Name]; !ok || !strings.HasPrefix(e.Status(), w) {
			t.Errorf("%s: status %q, want %q", e.Name, e.Status(), w)
		}
	}
	for name, w := range want {
		p, err := l.Find(name)
		switch {
		case w == "ok" && err != nil:
			t.Errorf("Find(%s): %v", name, err)
		case name == "typo":
			// Its checksum matches: it is compiled, and fails, when it runs.
			if err != nil || p != filepath.Join(l.Dir, "typo", "typo.star") {
				t.Errorf("Find(typo) = %q, %v", p, err)
			}
		case w != "ok" && (err == nil || errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "reinstall it with pio scripts install FILE")):
			t.Errorf("Find(%s): error %v, want a refusal that says to reinstall", name, err)
		}
	}
	// Reinstalling the same files repairs an entry; removing one works.
	res, err := l.Install(filepath.Join(src, "h/halves.star"), InstallOptions{})
	if err != nil || res.Status != "repaired" || res.Entry.Problem != "" {
		t.Errorf("reinstall over a modified entry: %v, %+v", err, res)
	}
	if _, err := l.Install(filepath.Join(src, "t/turbidostat.star"), InstallOptions{}); err != nil {
		t.Errorf("reinstall over an entry with a dropped file: %v", err)
	}
	if _, ok := l.Resolve("turbidostat"); !ok {
		t.Error("turbidostat still does not resolve after its reinstall")
	}
	for _, name := range []string{"garbled", "typo", "nomanifest"} {
		if err := l.Remove(name); err != nil {
			t.Errorf("Remove(%s): %v", name, err)
		}
		if _, err := l.Find(name); !errors.Is(err, ErrNotInstalled) {
			t.Errorf("Find(%s) after Remove: %v", name, err)
		}
	}
	if left := leftovers(t, l); len(left) > 0 {
		t.Errorf("left behind %v", left)
	}
}

func TestUnknownNames(t *testing.T) {
	l := newLibrary(t)
	for _, name := range []string{"absent", "", "../etc", "Upper", "a/b", ".install-x"} {
		if _, err := l.Find(name); !errors.Is(err, ErrNotInstalled) {
			t.Errorf("Find(%q): %v", name, err)
		}
		if _, err := l.Show(name); !errors.Is(err, ErrNotInstalled) {
			t.Errorf("Show(%q): %v", name, err)
		}
		if err := l.Remove(name); !errors.Is(err, ErrNotInstalled) {
			t.Errorf("Remove(%q): %v", name, err)
		}
	}
	if entries, err := l.List(); err != nil || len(entries) != 0 {
		t.Errorf("List of no library: %v, %v", entries, err)
	}
}

func TestInstallRefusesANameThatIsNotOne(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"My Pumps.star": "api_version = 1\n\ndef execute():\n    add_media(ml = 1.0)\n"})
	l := newLibrary(t)
	if _, err := l.Install(filepath.Join(src, "My Pumps.star"), InstallOptions{}); err == nil {
		t.Error("installed a script whose name is not a name")
	}
	if names, _ := l.Names(); len(names) != 0 {
		t.Errorf("installed %v", names)
	}
}

// A folder of the name without a manifest is replaced only with Force.
func TestInstallOverABrokenFolder(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"pumps.star": pumpsV1})
	l := newLibrary(t)
	write(t, l.Dir, map[string]string{"three_pumps/notes.txt": "mine"})
	_, err := l.Install(filepath.Join(src, "pumps.star"), InstallOptions{})
	if err == nil || !strings.Contains(err.Error(), "the library already has a folder "+filepath.Join(l.Dir, "three_pumps")+", which is broken (it has no manifest.json); pio scripts install --force replaces it") {
		t.Errorf("error %v", err)
	}
	res, err := l.Install(filepath.Join(src, "pumps.star"), InstallOptions{Force: true})
	if err != nil || res.Status != "replaced" || res.Entry.Problem != "" {
		t.Errorf("--force: %v, %+v", err, res)
	}
}

// BenchmarkList lists a library of 200 installed scripts, and Find looks
// one of them up (what pio run-script NAME reads).
func BenchmarkList(b *testing.B) {
	l, src := Open(b.TempDir()), b.TempDir()
	for i := range 200 {
		name := fmt.Sprintf("script_%03d", i)
		p := filepath.Join(src, name+".star")
		os.WriteFile(p, []byte(strings.Replace(pumpsV1, "three_pumps", name, -1)), 0o644)
		if _, err := l.Install(p, InstallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("List", func(b *testing.B) {
		for b.Loop() {
			if entries, err := l.List(); err != nil || len(entries) != 200 {
				b.Fatal(len(entries), err)
			}
		}
	})
	b.Run("Find", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Find("script_100"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Only a script installs: not its tests, not a module of helpers that
// scripts load, not a file that is not a .star file. Each is refused with
// what to install instead, and nothing is left in the library.
func TestInstallRefusesWhatIsNotAScript(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{
		"pumps_test.star": "def test_doses():\n    assert.true(simulate(hours = 1).media_ml > 0)\n",
		"helpers.star":    more,
		"pumps.txt":       pumpsV1,
	})
	tests := []struct{ file, want string }{
		{"pumps_test.star", "pumps_test.star: a script's tests, not a script: install pumps.star (pio scripts test runs its tests)"},
		{"helpers.star", "helpers.star: a module of helpers that scripts load(), not a script: install the script that loads it (its modules come with it)"},
		{"pumps.txt", "pumps.txt: a script is a .star file"},
	}
	l := newLibrary(t)
	for _, tt := range tests {
		_, err := l.Install(filepath.Join(src, tt.file), InstallOptions{})
		if err == nil || err.Error() != filepath.Join(src, tt.want) {
			t.Errorf("Install(%s): error %v\nwant %s", tt.file, err, filepath.Join(src, tt.want))
		}
	}
	if des, _ := os.ReadDir(l.Dir); len(des) != 0 {
		t.Errorf("left %v in the library", des)
	}
}

// Installs and removals that run at once never leave a broken entry or a
// leftover folder: each entry is whole, whichever won.
func TestConcurrentInstallAndRemove(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"v1/pumps.star": pumpsV1, "v2/pumps.star": pumpsV2, "h/halves.star": withHelpers, "h/helpers.star": helpers, "h/lib/more.star": more})
	l := newLibrary(t)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0:
				l.Install(filepath.Join(src, "v1/pumps.star"), InstallOptions{Force: true})
			case 1:
				l.Install(filepath.Join(src, "v2/pumps.star"), InstallOptions{Force: true})
			case 2:
				l.Install(filepath.Join(src, "h/halves.star"), InstallOptions{})
			case 3:
				l.Remove("three_pumps")
			}
		}()
	}
	wg.Wait()
	entries, err := l.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Problem != "" {
			t.Errorf("%s: %s", e.Name, e.Problem)
		}
	}
	if left := leftovers(t, l); len(left) > 0 {
		t.Errorf("left behind %v", left)
	}
}

// A name too long for a folder of the library is refused as a name, with
// its limit, before anything is written.
func TestInstallRefusesANameTooLong(t *testing.T) {
	src := t.TempDir()
	name := strings.Repeat("a", 240)
	write(t, src, map[string]string{"long.star": strings.Replace(pumpsV1, `"three_pumps"`, `"`+name+`"`, 1)})
	l := newLibrary(t)
	_, err := l.Install(filepath.Join(src, "long.star"), InstallOptions{})
	if err == nil || !strings.Contains(err.Error(), "is 240 characters long; a script name has at most 64") {
		t.Errorf("error %v", err)
	}
	if des, _ := os.ReadDir(l.Dir); len(des) != 0 {
		t.Errorf("left %v in the library", des)
	}
}
