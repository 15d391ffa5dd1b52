package unit

import (
	"strings"
	"testing"
)

// A unit name or experiment is a level of every topic the unit uses: one
// with a wildcard or a separator is refused, naming where it came from.
func TestCheckIdentity(t *testing.T) {
	for _, tt := range []struct{ unit, experiment, err string }{
		{"pio01", "exp0", ""},
		{"pio-01.lab", "Growth curve, 2026-12 (glucose)", ""},
		{"pio01", "e/#", `--experiment, $EXPERIMENT or [cluster.topology] experiment: experiment name "e/#": '/' is not allowed`},
		{"pio01", "e+1", `experiment name "e+1": '+' is not allowed`},
		{"pio01", "", "experiment name"},
		{"u+1", "exp0", `--unit, [cluster.topology] unit_name or the hostname: unit name "u+1": '+' is not allowed`},
		{"u/1", "exp0", `unit name "u/1": '/' is not allowed`},
		{"u#", "exp0", `unit name "u#": '#' is not allowed`},
		{"u\x00", "exp0", `unit name "u\x00"`},
	} {
		err := CheckIdentity(tt.unit, tt.experiment)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("CheckIdentity(%q, %q) = %v, want %q", tt.unit, tt.experiment, err, tt.err)
		}
	}
}

// pio commands refuse such a name before anything starts.
func TestCheckScriptRefusesAWildcardExperiment(t *testing.T) {
	_, err := CheckScript(Options{Home: t.TempDir(), Unit: "u1", Experiment: "e/#"}, "silent")
	if err == nil || !strings.Contains(err.Error(), `experiment name "e/#"`) {
		t.Errorf("CheckScript: %v", err)
	}
}
