package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
	"github.com/piolab/pio/scriptlib"
	"github.com/piolab/pio/unit"
)

// sha is the hex sha256 of s.
func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// libScript is an installable dosing script named name, at version.
func libScript(name, version string) string {
	return fmt.Sprintf(`api_version = 1
automation_name = %q
metadata = {"version": %q, "description": "Adds media.\nA second line."}
settings = {"volume": {"default": 0.5, "type": "float", "unit": "mL", "min": 0.1, "max": 5.0, "description": "Volume per dose"}}

def execute():
    add_media(ml = setting("volume"))
`, name, version)
}

// writeFiles writes files (path: content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
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

func TestScriptsInstallListShowRemove(t *testing.T) {
	home, src := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{
		"v1/pumps.star": libScript("pumps", "1.0.0"), "v2/pumps.star": libScript("pumps", "2.0.0"),
		"bad.star": "api_version = 1\n\ndef execute():\n    add_mediaa(ml = 1)\n",
	})
	steps := []struct {
		args    []string
		wantOut []string
		wantErr string
	}{
		{[]string{"scripts", "list"}, []string{"no scripts installed in " + filepath.Join(home, "scripts")}, ""},
		{[]string{"scripts", "install", filepath.Join(src, "v1/pumps.star")}, []string{"installed pumps 1.0.0 (dosing) as " + filepath.Join(home, "scripts/pumps/pumps.star"), "run it with: pio run-script pumps"}, ""},
		{[]string{"scripts", "install", filepath.Join(src, "v1/pumps.star")}, []string{"pumps is already installed with the same files (sha256 "}, ""},
		{[]string{"scripts", "install", filepath.Join(src, "v2/pumps.star")}, nil, "a different script named pumps is installed (version 1.0.0"},
		{[]string{"scripts", "install", "--force", filepath.Join(src, "v2/pumps.star")}, []string{"replaced pumps 2.0.0 (dosing)"}, ""},
		{[]string{"scripts", "install", filepath.Join(src, "bad.star")}, nil, "bad.star: not installed: pio scripts check finds 1 error"},
		{[]string{"scripts", "install", filepath.Join(src, "v1/pumps.star"), "--force"}, nil, "--force after the script file: flags go first"},
		{[]string{"scripts", "list"}, []string{"NAME   FAMILY  VERSION  STATUS  DESCRIPTION\npumps  dosing  2.0.0    ok      Adds media.\n"}, ""},
		{[]string{"scripts", "show", "pumps"}, []string{"name:        pumps\n", "version:     2.0.0\n", "checksums:   ok\n", "path:        " + filepath.Join(home, "scripts/pumps/pumps.star"),
			"  pumps.star  sha256 ", "settings:\n  volume  float  0.5 mL  0.1 to 5  Volume per dose\n"}, ""},
		{[]string{"scripts", "show", "absent"}, nil, "no script named absent is installed (installed: pumps)"},
		{[]string{"scripts", "remove", "pumps"}, []string{"removed pumps from " + filepath.Join(home, "scripts")}, ""},
		{[]string{"scripts", "remove", "pumps"}, nil, "no script named pumps is installed (none is, in " + filepath.Join(home, "scripts") + ")"},
	}
	for _, s := range steps {
		out, _, err := runPio(t, append([]string{"--home", home}, s.args...)...)
		if s.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Errorf("pio %s: error %v, want one containing %q", strings.Join(s.args, " "), err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("pio %s: %v", strings.Join(s.args, " "), err)
		}
		for _, w := range s.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("pio %s: output lacks %q:\n%s", strings.Join(s.args, " "), w, out)
			}
		}
	}
}

// A refused install prints each of Check's diagnostics.
func TestScriptsInstallPrintsWhyItRefuses(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"bad.star": "api_version = 1\n\ndef execute():\n    add_mediaa(ml = 1)\n"})
	_, stderr, err := runPio(t, "--home", t.TempDir(), "scripts", "install", filepath.Join(src, "bad.star"))
	if err == nil || !strings.Contains(stderr, "bad.star:4:5: ") || !strings.Contains(stderr, "add_mediaa") {
		t.Errorf("error %v, stderr %q", err, stderr)
	}
}

func TestScriptsListAndShowJSON(t *testing.T) {
	home, src := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"pumps.star": libScript("pumps", "1.0.0")})
	if _, _, err := runPio(t, "--home", home, "scripts", "install", filepath.Join(src, "pumps.star")); err != nil {
		t.Fatal(err)
	}
	out, _, err := runPio(t, "--home", home, "scripts", "list", "--json")
	var entries []scriptlib.Entry
	if err != nil || json.Unmarshal([]byte(out), &entries) != nil || len(entries) != 1 || entries[0].Name != "pumps" || entries[0].Manifest.Version != "1.0.0" {
		t.Errorf("list --json: %v\n%s", err, out)
	}
	out, _, err = runPio(t, "--home", home, "scripts", "show", "--json", "pumps")
	var e scriptlib.Entry
	if err != nil || json.Unmarshal([]byte(out), &e) != nil || e.Description == nil || len(e.Description.Settings) != 1 || e.Description.Settings[0].Unit != "mL" {
		t.Errorf("show --json: %v\n%s", err, out)
	}
}

// brokenLibrary is a home whose library holds an intact script (good), one
// with a syntax error written straight into the library (typo) and one
// whose file was edited after it was installed (tampered).
func brokenLibrary(t testing.TB) string {
	home, src := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"good.star": libScript("good", "1.0.0"), "tampered.star": libScript("tampered", "1.0.0")})
	lib := scriptlib.Open(home)
	for _, f := range []string{"good.star", "tampered.star"} {
		if _, err := lib.Install(filepath.Join(src, f), scriptlib.InstallOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	typo := "def execute(:\n    pass\n"
	writeFiles(t, lib.Dir, map[string]string{
		"typo/typo.star":         typo,
		"typo/manifest.json":     `{"name": "typo", "script": "typo.star", "files": [{"path": "typo.star", "sha256": "` + sha(typo) + `"}]}`,
		"tampered/tampered.star": libScript("tampered", "1.0.0") + "\n# edited\n",
	})
	return home
}

// A broken script in the library stops neither pio nor the other scripts.
func TestBrokenLibraryScriptStopsNothingElse(t *testing.T) {
	home := brokenLibrary(t)
	for _, args := range [][]string{{"--help"}, {"version"}, {"scripts", "--help"}} {
		if out, err := pio(t, home, args...).CombinedOutput(); err != nil {
			t.Errorf("pio %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err := pio(t, home, "scripts", "list").CombinedOutput()
	for _, want := range []string{"good      dosing  1.0.0    ok", "tampered  dosing  1.0.0    modified: tampered.star does not match its checksum", "typo      -       -        broken: typo.star:1:14: "} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("pio scripts list: %v, output lacks %q:\n%s", err, want, out)
		}
	}

	// The tampered and the broken scripts are refused, each with its reason.
	for name, want := range map[string]string{
		"tampered": "installed script tampered (" + filepath.Join(home, "scripts", "tampered") + "): modified: tampered.star does not match its checksum; reinstall it with pio scripts install FILE",
		"typo":     "typo.star:1:14: ",
		"absent":   "absent: no such file, no script of that name is installed (installed: good, tampered, typo), and pio ships no automation of that name (dosing: chemostat",
	} {
		_, _, err := runPio(t, "--home", home, "run-script", name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("pio run-script %s: error %v, want one containing %q", name, err, want)
		}
	}

	// The good one runs, by name, until it is stopped.
	addr := mqtttest.StartEmbedded(t)
	obs := observe(t, addr)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, []string{"pio", "--home", home, "--broker", addr, "--unit", "u1", "--experiment", "e1", "run-script", "good"}, io.Discard, io.Discard)
		done <- err
	}()
	obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/automation_name", "good")
	obs.waitFor(t, "pioreactor/u1/e1/dosing_automation/$state", "ready")
	stop()
	if err := <-done; err != nil {
		t.Errorf("pio run-script good: %v", err)
	}
}

// run-script resolves a name: an existing file first, then an installed
// script, then pio's own library; the installed script shadows pio's own.
func TestRunScriptResolvesNames(t *testing.T) {
	home, src := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"chemostat.star": "api_version = 1\nautomation_name = \"chemostat\"\n\ndef execute():\n    add_media(ml = 9.5)\n"})
	for _, tc := range []struct{ dir, name, want string }{
		{home, "chemostat", "stdlib"},   // only pio's own
		{src, "chemostat.star", "file"}, // a file in the working directory
	} {
		got, err := resolveWhere(t, home, tc.dir, tc.name)
		if err != nil && !strings.Contains(err.Error(), tc.want) || err == nil && got != tc.want {
			t.Errorf("%s in %s: %s, %v; want %s", tc.name, tc.dir, got, err, tc.want)
		}
	}
	if _, err := scriptlib.Open(home).Install(filepath.Join(src, "chemostat.star"), scriptlib.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := resolveWhere(t, home, home, "chemostat"); got != "installed" {
		t.Errorf("an installed chemostat resolves to %s", got)
	}
	if got, _ := resolveWhere(t, home, src, "chemostat.star"); got != "file" {
		t.Errorf("a file named like an installed script resolves to %s", got)
	}
}

// resolveWhere resolves name from the working directory dir and says where
// it was found.
func resolveWhere(t *testing.T, home, dir, name string) (string, error) {
	t.Helper()
	t.Chdir(dir)
	p, err := resolveScript(unit.Options{Home: home}, name)
	switch {
	case err != nil:
		return "", err
	case strings.HasPrefix(p, filepath.Join(home, "scripts")):
		return "installed", nil
	case p == name && !strings.Contains(name, "."):
		return "stdlib", nil
	}
	return "file", nil
}

// Start-up never reads the library: with <home>/scripts a file instead of
// a folder, pio starts and runs a script file; only the library commands
// and run-script NAME say it cannot be read.
func TestStartUpDoesNotReadTheLibrary(t *testing.T) {
	home := t.TempDir()
	writeFiles(t, home, map[string]string{"scripts": "not a folder", "x.star": "def execute():\n    pass\n"})
	for _, args := range [][]string{{"--help"}, {"version"}, {"run-script", "--help"}, {"simulate", filepath.Join(home, "x.star"), "--for", "1h", "--quiet"}} {
		if out, err := pio(t, home, args...).CombinedOutput(); err != nil {
			t.Errorf("pio %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err := pio(t, home, "scripts", "list").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "script library: ") {
		t.Errorf("pio scripts list of an unreadable library: %v\n%s", err, out)
	}
}

// BenchmarkStartUp runs the pio binary's --help and version against a home
// with no installed scripts and with 200: start-up must not depend on the
// library.
func BenchmarkStartUp(b *testing.B) {
	homes := map[int]string{0: b.TempDir(), 200: b.TempDir()}
	src := b.TempDir()
	lib := scriptlib.Open(homes[200])
	for i := range 200 {
		name := fmt.Sprintf("script_%03d", i)
		writeFiles(b, src, map[string]string{name + ".star": libScript(name, "1.0.0")})
		if _, err := lib.Install(filepath.Join(src, name+".star"), scriptlib.InstallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range []int{0, 200} {
		for _, args := range [][]string{{"--help"}, {"version"}} {
			b.Run(fmt.Sprintf("scripts=%d/%s", n, strings.TrimLeft(args[0], "-")), func(b *testing.B) {
				for b.Loop() {
					cmd := exec.Command(pioBin, args...)
					cmd.Env = append(os.Environ(), "PIO_HOME="+homes[n])
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("%v\n%s", err, out)
					}
				}
			})
		}
	}
}

// pio simulate finds a name as run-script does: an installed script runs
// under the simulator by its name, and an unknown name says what there is.
func TestSimulateRunsAnInstalledScriptByName(t *testing.T) {
	home, src := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"pumps.star": libScript("my_pumps", "1.0.0")})
	if _, err := scriptlib.Open(home).Install(filepath.Join(src, "pumps.star"), scriptlib.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	out, _, err := runPio(t, "--home", home, "simulate", "my_pumps", "--for", "2h", "--volume", "0.25")
	if err != nil {
		t.Fatalf("simulate my_pumps: %v\n%s", err, out)
	}
	if !strings.Contains(out, "my_pumps") || !strings.Contains(out, "0.25") {
		t.Errorf("the summary of the installed script's run:\n%s", out)
	}
	_, _, err = runPio(t, "--home", home, "simulate", "absent", "--for", "2h")
	if err == nil || !strings.Contains(err.Error(), "no script of that name is installed (installed: my_pumps)") {
		t.Errorf("simulate absent: %v", err)
	}
}
