package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pio scripts check exits 1 on any error, 0 on warnings alone (1 with
// --strict), and reads the unit's config for requires.
func TestScriptsCheckExitStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clean := write("clean.star", "api_version = 1\nautomation_name = \"feeder\"\ndef execute():\n    add_media(ml = 0.5)\n")
	old := write("old.star", "def execute():\n    pass\n")
	bad := write("bad.star", "api_version = 1\ndef execute():\n    return voluem\n")
	needs := write("needs.star", "api_version = 1\nrequires = {\"pumps\": [\"base\"]}\ndef execute():\n    pass\n")
	cfg := write("config.ini", "[PWM]\n8=base\n")
	home := t.TempDir()

	for _, tt := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{clean}, 0, "ok  " + clean + " (dosing feeder)\n"},
		{[]string{"--quiet", clean}, 0, ""},
		{[]string{old}, 0, old + ":1:1: warning: no api_version; assuming api_version = 1 (add api_version = 1 at the top)\nok  " + old + " (dosing old)\n"},
		{[]string{"--strict", old}, 1, old + ":1:1: warning: no api_version; assuming api_version = 1 (add api_version = 1 at the top)\n"},
		{[]string{clean, bad}, 1, "ok  " + clean + " (dosing feeder)\n" + bad + ":3:12: undefined: voluem\n"},
		{[]string{needs}, 1, needs + `:2:23: requires pump "base", and no [PWM] channel is wired to it: add <channel>=base to [PWM] in config.ini (a free channel from 6 to 9)` + "\n"},
		{[]string{"--config", cfg, needs}, 0, "ok  " + needs + " (dosing needs)\n"},
		{[]string{filepath.Join(dir, "missing.star")}, 1, filepath.Join(dir, "missing.star") + ":1:1: open " + filepath.Join(dir, "missing.star") + ": no such file or directory\n"},
	} {
		cmd := pio(t, home, append([]string{"scripts", "check"}, tt.args...)...)
		out, err := cmd.Output()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || string(out) != tt.out {
			t.Errorf("pio scripts check %s: exit %d, output\n%s\nwant exit %d, output\n%s", strings.Join(tt.args, " "), code, out, tt.code, tt.out)
		}
	}
}
