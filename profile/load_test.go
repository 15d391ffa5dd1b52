package profile

import (
	"os"
	"strings"
	"testing"
)

var testCheck = Check{
	Jobs: map[string][]string{
		"stirring":                {"target_rpm", "duty_cycle"},
		"od_reading":              {"interval"},
		"growth_rate_calculating": {},
		"dosing_automation":       {"automation_name", "target_biomass", "exchange_volume_ml", "duration"},
	},
	Units: []string{"u1", "u2", "worker1", "worker2"},
}

func TestBadFileReportsEveryErrorWithLineAndColumn(t *testing.T) {
	_, err := Load("testdata/bad.yaml", testCheck)
	if err == nil {
		t.Fatal("bad.yaml accepted")
	}
	want := []string{
		`testdata/bad.yaml:1:10: version: want the quoted string "1.0", got 1.0`,
		`testdata/bad.yaml:3:1: unknown field "metdata" (did you mean "metadata"?)`,
		`testdata/bad.yaml:7:5: common.jobs.stirng: pio has no job "stirng" (did you mean "stirring"?)`,
		`testdata/bad.yaml:12:3: pioreactors.u9: unit "u9" is not in the inventory (did you mean "u1"?)`,
		`testdata/bad.yaml:17:16: pioreactors.u9.jobs.stirring.actions[0].t: want hours as a number or "30m"/"2h", got "soon"`,
		`testdata/bad.yaml:19:15: pioreactors.u9.jobs.stirring.actions[0].options: stirring takes no option "target_rpn" (did you mean "target_rpm"?)`,
		`testdata/bad.yaml:20:19: pioreactors.u9.jobs.stirring.actions[1].type: unknown action "udpate" (did you mean "update"?)`,
		`testdata/bad.yaml:23:16: pioreactors.u9.jobs.stirring.actions[2].t: negative time -2: times count from the start`,
		`testdata/bad.yaml:26:17: pioreactors.u9.jobs.stirring.actions[3].if: expression "${{ u1:stirring:target_rpm > }}": expected a value, got end of expression at column 27`,
		`testdata/bad.yaml:32:20: pioreactors.u9.jobs.stirring.actions[4].actions[0].t: 0h45m00s is not before the repeat's every (0h30m00s): an action inside a repeat runs once per loop`,
		`testdata/bad.yaml:35:23: pioreactors.u9.jobs.stirring.actions[4].actions[1].type: a when cannot be inside a repeat (only start, update, pause, resume, stop, log)`,
		`testdata/bad.yaml:41:15: pioreactors.u9.jobs.stirring.actions[5].options.message: missing: the line to log`,
		`testdata/bad.yaml:41:22: pioreactors.u9.jobs.stirring.actions[5].options.level: unknown level "LOUD" (one of DEBUG, INFO, NOTICE, WARNING, ERROR)`,
		`testdata/bad.yaml:45:15: pioreactors.u9.jobs.stirring.actions[6].config_overrides: not supported: pio's jobs take no config section overrides; give the values as options`,
		`testdata/bad.yaml:46:13: pioreactors.u9.jobs.stirring.actions[6]: unknown field "colour" (valid: type, t, hours_elapsed, if, options, args, config_overrides)`,
	}
	got := strings.Split(err.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\n\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSmallErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"", "f.yaml:1:1: empty file"},
		{"version: \"1.0\"\n", "f.yaml:1:1: experiment_profile_name: missing: name the profile"},
		{"experiment_profile_name: x\n", `f.yaml:1:1: version: missing: a profile starts with version: "1.0"`},
		{"version: \"2.0\"\nexperiment_profile_name: x\n", `f.yaml:1:10: version: want the quoted string "1.0", got "2.0"`},
		{"version: [\n", "f.yaml:1:1: not valid YAML: line 1: did not find expected node content"},
		{"- a\n", "f.yaml:1:1: want a mapping"},
		{"version: \"1.0\"\nexperiment_profile_name: x\ncommon:\n  jobs:\n    stirring:\n      actions:\n        - t: 0\n", "f.yaml:7:11: common.jobs.stirring.actions[0]: missing type"},
		{"version: \"1.0\"\nexperiment_profile_name: x\ncommon:\n  jobs:\n    stirring:\n      actions:\n        - type: stop\n", "f.yaml:7:11: common.jobs.stirring.actions[0].t: missing"},
		{"version: \"1.0\"\nexperiment_profile_name: x\ncommon:\n  jobs:\n    stirring:\n      actions:\n        - type: when\n          t: 0\n", "f.yaml:7:11: common.jobs.stirring.actions[0].wait_until: missing"},
		{"version: \"1.0\"\nexperiment_profile_name: x\ncommon:\n  jobs:\n    stirring:\n      actions:\n        - type: repeat\n          t: 0\n          every: 0\n", "f.yaml:9:18: common.jobs.stirring.actions[0].every: want at least 1s between loops"},
		{"version: \"1.0\"\nexperiment_profile_name: x\ncommon:\n  jobs:\n    stirring:\n      actions:\n        - type: update\n          t: 0\n          if: ${{ u7:stirring:x > 1 }}\n", `f.yaml:9:15: common.jobs.stirring.actions[0].if: u7:stirring:x: unit "u7" is not in the inventory`},
		{"version: \"1.0\"\nexperiment_profile_name: x\ninputs:\n  and: 1\n", `f.yaml:4:3: inputs: input name "and"`},
		{"version: \"1.0\"\nexperiment_profile_name: x\nversion: \"1.0\"\n", `f.yaml:3:1: version: given twice`},
	} {
		_, err := Parse("f.yaml", []byte(c.yaml), testCheck)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: got %v\nwant prefix %s", c.yaml, err, c.want)
		}
	}
}

func TestExampleProfileIsValid(t *testing.T) {
	p, err := Load("../scripts/examples/profiles/turbidostat_day.yaml", testCheck)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "turbidostat day" || len(p.Common) != 2 || len(p.Units) != 1 || p.Inputs["rpm"] != 500.0 {
		t.Fatalf("read %+v", p)
	}
}

func TestPluginsAreWarnings(t *testing.T) {
	p, err := Parse("f.yaml", []byte("version: \"1.0\"\nexperiment_profile_name: x\nplugins:\n  - name: air-bubbler\n    version: \">=0.2\"\n"), Check{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "f.yaml:4:5: plugin air-bubbler >=0.2: pio does not check plugins") {
		t.Fatalf("warnings %q", p.Warnings)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/bad.yaml", "../scripts/examples/profiles/turbidostat_day.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("f.yaml", b, testCheck)
		if err != nil {
			if es, ok := err.(Errors); !ok || len(es) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		WritePlan(new(strings.Builder), p, []string{"u1"})
	})
}
