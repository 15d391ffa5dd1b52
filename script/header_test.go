package script

import (
	"reflect"
	"strings"
	"testing"

	"github.com/piolab/pio/config"
)

// Each wrong header is one diagnostic, at the value that is wrong, with
// its exact text.
func TestReadHeaderErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"missing api_version", `x = 1`,
			[]string{"h.star:1:1: warning: no api_version; assuming api_version = 1 (add api_version = 1 at the top)"}},
		{"supported", "api_version = 1", nil},
		{"newer", "x = 1\napi_version = 2",
			[]string{"h.star:2:15: api_version 2 is not supported: this pio supports api_version 1 (the script was written for a newer pio: update pio, or ask its author for a version for api_version 1)"}},
		{"zero", "api_version = 0",
			[]string{"h.star:1:15: api_version 0 is not supported: this pio supports api_version 1"}},
		{"huge", "api_version = 100000000000000000000000",
			[]string{"h.star:1:15: api_version 100000000000000000000000 is not supported: this pio supports api_version 1"}},
		{"string", `api_version = "1"`,
			[]string{"h.star:1:15: api_version must be a whole number written as is, such as api_version = 1"}},
		{"nested", "if True:\n    api_version = 1",
			[]string{"h.star:2:5: api_version is read without running the script: assign it once, at the top level, outside if, for and while",
				"h.star:1:1: warning: no api_version; assuming api_version = 1 (add api_version = 1 at the top)"}},
		{"metadata not a dict", "api_version = 1\nmetadata = dict(name = \"x\")",
			[]string{`h.star:2:12: metadata must be a dict literal of strings, such as {"name": "ph_reading", "version": "1.0.0"}: pio reads it without running the script`}},
		{"metadata unknown key", "api_version = 1\nmetadata = {\"name\": \"x\", \"autor\": \"me\"}",
			[]string{`h.star:2:26: metadata: unknown key "autor" (metadata has "name", "version", "author", "description", "license", "url")`}},
		{"metadata computed value", "api_version = 1\nV = \"1\"\nmetadata = {\"version\": V}",
			[]string{`h.star:3:24: metadata["version"]: want a string literal, got the name V (a value pio would have to run the script to know)`}},
		{"metadata number", "api_version = 1\nmetadata = {\"version\": 1.2}",
			[]string{`h.star:2:24: metadata["version"]: want a string literal, got a number (1.2)`}},
		{"metadata twice", "api_version = 1\nmetadata = {\"name\": \"a\", \"name\": \"b\"}",
			[]string{`h.star:2:26: metadata: "name" is given twice`}},
		{"metadata key not a string", "api_version = 1\nmetadata = {1: \"a\"}",
			[]string{`h.star:2:13: metadata: a key must be a string literal, one of "name", "version", "author", "description", "license", "url"`}},
		{"metadata entry assigned", "api_version = 1\nmetadata = {}\nmetadata[\"name\"] = \"x\"",
			[]string{`h.star:3:9: metadata is read from its dict literal without running the script: write this entry in the literal`}},
		{"requires unknown key", "api_version = 1\nrequires = {\"pump\": [\"acid\"]}",
			[]string{`h.star:2:13: requires: unknown key "pump" (requires has "pumps", "pwm", "gpio", "i2c", "serial")`}},
		{"requires not a list", "api_version = 1\nrequires = {\"pumps\": \"acid\"}",
			[]string{`h.star:2:22: requires["pumps"]: want a list literal, got a string`}},
		{"requires bad pump", "api_version = 1\nrequires = {\"pumps\": [\"acid pump\", 3]}",
			[]string{`h.star:2:23: requires["pumps"]: want a device name as [PWM] wires it, such as "acid", got "acid pump"`,
				`h.star:2:36: requires["pumps"]: want a device name as [PWM] wires it, such as "acid", got 3`}},
		{"requires pwm out of range", "api_version = 1\nrequires = {\"pwm\": [17]}",
			[]string{`h.star:2:21: requires["pwm"]: want a whole number from 1 to 16, got 17`}},
		{"requires gpio", "api_version = 1\nrequires = {\"gpio\": [\"26\"]}",
			[]string{`h.star:2:22: requires["gpio"]: want a whole number from 0 to 27, got "26"`}},
		{"requires i2c", "api_version = 1\nrequires = {\"i2c\": [\"0x80\"]}",
			[]string{`h.star:2:21: requires["i2c"]: I²C entry "0x80": address "0x80": want 0x03 to 0x77, got "0x80"`}},
		{"requires serial", "api_version = 1\nrequires = {\"serial\": [\"ttyUSB0\"]}",
			[]string{`h.star:2:24: requires["serial"]: want a port under /dev/, such as "/dev/ttyUSB0", got "ttyUSB0"`}},
		{"requires computed", "api_version = 1\nP = []\nrequires = P",
			[]string{`h.star:3:12: requires must be a dict literal, such as {"pumps": ["acid"], "serial": ["/dev/ttyUSB0"]}: pio reads it without running the script`}},
	}
	for _, tt := range tests {
		_, diags := ReadHeader("dir/h.star", []byte(tt.src))
		var got []string
		for _, d := range diags {
			got = append(got, d.String())
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestReadHeader(t *testing.T) {
	src := `api_version = 1
metadata = {
    "name": "ph_reading", "version": "1.2.0", "author": "A. Lab <a@lab.org>",
    "description": "Reads a pH probe.", "license": "MIT", "url": "https://lab.org/ph",
}
requires = {"pumps": ["acid"], "pwm": [6], "gpio": [26], "i2c": [16, "3:0x20"], "serial": ["/dev/ttyUSB0"]}
`
	h, diags := ReadHeader("ph.star", []byte(src))
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	want := Metadata{Name: "ph_reading", Version: "1.2.0", Author: "A. Lab <a@lab.org>", Description: "Reads a pH probe.", License: "MIT", URL: "https://lab.org/ph"}
	if h.APIVersion != 1 || h.Metadata != want {
		t.Errorf("header %+v", h)
	}
	r := h.Requires
	if !reflect.DeepEqual(r.Pumps, []string{"acid"}) || !reflect.DeepEqual(r.PWM, []int{6}) || !reflect.DeepEqual(r.GPIO, []int{26}) ||
		!reflect.DeepEqual(r.I2C, []string{"0x10", "3:0x20"}) || !reflect.DeepEqual(r.Serial, []string{"/dev/ttyUSB0"}) {
		t.Errorf("requires %+v", r)
	}
}

// What requires names and the unit lacks is an error at its entry that
// names the config line that would provide it.
func TestRequiresMissing(t *testing.T) {
	src := []byte(`api_version = 1
requires = {"pumps": ["acid", "base", "media"], "pwm": [6], "gpio": [26], "i2c": ["0x10"], "serial": ["/dev/ttyUSB0"]}
`)
	h, _ := ReadHeader("r.star", src)
	var got []string
	for _, d := range h.Requires.Missing(nil) {
		got = append(got, d.String())
	}
	want := []string{
		`r.star:2:31: requires pump "base", and no [PWM] channel is wired to it: add <channel>=base to [PWM] in config.ini (a free channel from 6 to 9)`,
		`r.star:2:57: requires pwm 6, which [scripts.hardware] does not grant: set pwm=6 under [scripts.hardware] in config.ini`,
		`r.star:2:70: requires gpio 26, which [scripts.hardware] does not grant: set gpio=26 under [scripts.hardware] in config.ini`,
		`r.star:2:83: requires i2c 0x10, which [scripts.hardware] does not grant: set i2c=0x10 under [scripts.hardware] in config.ini`,
		`r.star:2:103: requires serial /dev/ttyUSB0, which [scripts.hardware] does not grant: set serial=/dev/ttyUSB0 under [scripts.hardware] in config.ini`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("missing with the defaults:\n got %q\nwant %q", got, want)
	}

	cfg := config.New()
	cfg.Set("PWM", "8", "base")
	cfg.Set("scripts.hardware", "pwm", "6")
	cfg.Set("scripts.hardware", "gpio", "26")
	cfg.Set("scripts.hardware", "i2c", "0x10")
	cfg.Set("scripts.hardware", "serial", "/dev/ttyACM0")
	got = nil
	for _, d := range h.Requires.Missing(cfg) {
		got = append(got, d.String())
	}
	want = []string{`r.star:2:103: requires serial /dev/ttyUSB0, which [scripts.hardware] does not grant: set serial=/dev/ttyACM0,/dev/ttyUSB0 under [scripts.hardware] in config.ini`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("missing with grants:\n got %q\nwant %q", got, want)
	}
}

// A start refuses a bad header before the script runs, at the line.
func TestLoadRefusesBadHeader(t *testing.T) {
	src := "api_version = 2\nfail(\"the top level ran\")\ndef execute():\n    pass\n"
	_, err := Load("v2.star", []byte(src), "u1", "e1")
	if err == nil || !strings.HasPrefix(err.Error(), "v2.star:1:15: api_version 2 is not supported") {
		t.Fatalf("err = %v", err)
	}
	m, err := LoadModule("v0.star", []byte("def execute():\n    pass\n"), "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Header.Warnings) != 1 || m.Header.APIVersion != 1 {
		t.Errorf("header %+v: want api_version 1 with one warning", m.Header)
	}
}

// A deprecated builtin still works, and each use of it (not a script's own
// name that shadows it) is a warning at check and in the header a start
// logs.
func TestDeprecatedBuiltinWarns(t *testing.T) {
	Deprecated["add_alt_media"] = Deprecation{Since: "0.9", Use: `pump("alt_media", ml=...)`, Removed: 2}
	defer delete(Deprecated, "add_alt_media")
	src := []byte("api_version = 1\ndef execute():\n    add_alt_media(ml = 0.1)\n\ndef f(add_alt_media):\n    return add_alt_media\n")
	want := `d.star:3:5: warning: add_alt_media is deprecated since pio 0.9: use pump("alt_media", ml=...) (api_version 2 removes add_alt_media)`
	var got []string
	for _, d := range Check("d.star", src, CheckOptions{}) {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != want {
		t.Errorf("check: %q\nwant %q", got, want)
	}
	h, _ := ReadHeader("d.star", src)
	if len(h.Warnings) != 1 || h.Warnings[0].String() != want {
		t.Errorf("header warnings %q", h.Warnings)
	}
	if _, err := Load("d.star", src, "u1", "e1"); err != nil {
		t.Errorf("a deprecated builtin must still load: %v", err)
	}
}
