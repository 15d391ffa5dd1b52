package script

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .want files of testdata/check")

// Each testdata/check/NAME.star checks to exactly the diagnostics of
// NAME.want, one a line, in order (go test -run TestCheckGolden -update
// rewrites them; review the diff).
func TestCheckGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/check/*.star")
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata/check/*.star", err)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, d := range Check(path, src, CheckOptions{}) {
			lines = append(lines, d.String()+"\n")
		}
		got := strings.Join(lines, "")
		wantPath := strings.TrimSuffix(path, ".star") + ".want"
		if *update {
			if err := os.WriteFile(wantPath, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(wantPath)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n--- got\n%s--- want\n%s", path, got, want)
		}
	}
}

// stdlibAndExamples are every script pio ships: its library (with the
// modules scripts load) and the examples (with their tests).
func stdlibAndExamples(tb testing.TB) map[string][]byte {
	var paths []string
	for _, pattern := range []string{"../stdlib/*/*.star", "../scripts/examples/*.star"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) < 15 {
		tb.Fatalf("found %d scripts", len(paths))
	}
	out := map[string][]byte{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[p] = src
	}
	return out
}

// Every script pio ships checks clean: no error and no warning.
func TestCheckStdlibAndExamplesClean(t *testing.T) {
	for path, src := range stdlibAndExamples(t) {
		for _, d := range Check(path, src, CheckOptions{}) {
			t.Errorf("%s", d)
		}
	}
}

// BenchmarkCheckStdlibAndExamples checks every script pio ships once per
// iteration.
func BenchmarkCheckStdlibAndExamples(b *testing.B) {
	scripts := stdlibAndExamples(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for path, src := range scripts {
			if diags := Check(path, src, CheckOptions{}); HasErrors(diags) {
				b.Fatal(path, diags)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	src := []byte(`api_version = 1
metadata = {"name": "Acid dosing", "version": "1.2.0", "author": "A. Lab", "description": "Holds the pH."}
requires = {"pumps": ["acid"]}
automation_name = "acid_dosing"
N = 3
settings = {
    "volume": {"default": 0.5, "type": "float", "unit": "mL", "min": 0.1, "max": 5.0, "description": "per dose"},
    "mode": {"default": "fast", "choices": ["fast", "slow"]},
    "target": None,
    "count": N,
    "duration": 2 * 10,
    "label": "x" * 900000000,
}

def execute():
    pass
`)
	d, err := Describe("scripts/acid.star", src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"family":"dosing","name":"acid_dosing","api_version":1,` +
		`"metadata":{"name":"Acid dosing","version":"1.2.0","author":"A. Lab","description":"Holds the pH."},` +
		`"requires":{"pumps":["acid"]},"settings":[` +
		`{"name":"volume","type":"float","default":0.5,"unit":"mL","min":0.1,"max":5,"description":"per dose"},` +
		`{"name":"mode","type":"string","default":"fast","choices":["fast","slow"]},` +
		`{"name":"target","type":"float","default":null,"required":true},` +
		`{"name":"count","type":"","default":null,"computed":true},` +
		`{"name":"duration","type":"float","default":20},` +
		`{"name":"label","type":"","default":null,"computed":true}]}`
	if string(b) != want {
		t.Errorf("description\n got %s\nwant %s", b, want)
	}

	d, err = Describe("ph.star", []byte("job_name = \"ph_reading\"\ndef run():\n    pass\n"))
	if err != nil || d.Family != "job" || d.Name != "ph_reading" || len(d.Warnings) != 1 {
		t.Errorf("job: %+v, %v", d, err)
	}
	d, err = Describe("lib/helpers.star", []byte("def f():\n    return 1\n"))
	if err != nil || d.Family != "library" || d.Name != "helpers" || len(d.Warnings) != 0 {
		t.Errorf("library: %+v, %v", d, err)
	}
	d, err = Describe("scripts/acid_test.star", []byte("def test_a():\n    assert.true(True)\n"))
	if err != nil || d.Family != "tests" || len(d.Warnings) != 0 {
		t.Errorf("tests: %+v, %v", d, err)
	}
	if _, err := Describe("bad.star", []byte("api_version = 3\n")); err == nil || !strings.HasPrefix(err.Error(), "bad.star:1:15: api_version 3") {
		t.Errorf("a wrong api_version: err = %v", err)
	}
}

// FuzzCheck: no source makes Check panic, and every diagnostic has a
// position.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob("testdata/check/*.star")
	for _, p := range files {
		src, _ := os.ReadFile(p)
		f.Add(src)
	}
	f.Add([]byte("api_version = 1\nmetadata = {\"name\": x}\nrequires = {\"pumps\": [1, \"a b\"], 3: []}\n"))
	f.Add([]byte("settings = {\"v\": {\"default\": 1, \"choices\": (1, 2), \"min\": 0}}\ndef execute():\n    execute_io_action(**{})\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, d := range Check("fuzz.star", src, CheckOptions{}) {
			if !strings.HasPrefix(d.Pos, "fuzz.star:") || d.Msg == "" {
				t.Fatalf("diagnostic without a position or message: %#v", d)
			}
		}
		_, _ = Describe("fuzz.star", src)
	})
}
