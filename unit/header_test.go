package unit

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A start refuses a script whose requires names what the unit lacks, with
// the config line that would provide it, and logs the header's warnings.
func TestCheckScriptHeader(t *testing.T) {
	home := t.TempDir()
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var logs bytes.Buffer
	opts := Options{Home: home, Unit: "u1", Experiment: "e1", Console: slog.New(slog.NewTextHandler(&logs, nil))}

	needs := write("needs.star", "api_version = 1\nrequires = {\"pumps\": [\"base\"], \"serial\": [\"/dev/ttyUSB0\"]}\ndef execute():\n    pass\n")
	_, err := CheckScript(opts, needs)
	want := "needs.star:2:23: requires pump \"base\", and no [PWM] channel is wired to it: add <channel>=base to [PWM] in config.ini (a free channel from 6 to 9)\n" +
		"needs.star:2:43: requires serial /dev/ttyUSB0, which [scripts.hardware] does not grant: set serial=/dev/ttyUSB0 under [scripts.hardware] in config.ini"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	ini := "[PWM]\n8=base\n\n[scripts.hardware]\nserial=/dev/ttyUSB0\n"
	if err := os.WriteFile(filepath.Join(home, "config.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckScript(opts, needs); err != nil {
		t.Errorf("with [PWM] 8=base and the grant: %v", err)
	}

	old := write("old.star", "def execute():\n    pass\n")
	if _, err := CheckScript(opts, old); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "old.star:1:1: warning: no api_version; assuming api_version = 1") {
		t.Errorf("logs %q: no warning", logs.String())
	}

	v2 := write("v2.star", "api_version = 2\ndef execute():\n    pass\n")
	if _, err := CheckScript(opts, v2); err == nil || !strings.HasPrefix(err.Error(), "v2.star:1:15: api_version 2 is not supported") {
		t.Errorf("api_version 2: err = %v", err)
	}
}
