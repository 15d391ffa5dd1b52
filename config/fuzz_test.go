package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that reading any bytes does not panic, that errors carry
// a line, and that ini.v1's reading of the canonical text agrees with the
// configparser line pass that produced it. It also runs the typed layer over
// the result.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Defaults))
	if b, err := os.ReadFile("testdata/upstream_config.ini"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"[a]\nx=1\n  two\n\n  three\n# c\n  ; c\ny\n",
		"[a]\r\nx = \"\"\"q\"\"\"\r`k`=`v`\r\n[ b ]\nk:v:w=u\n",
		"\ufeff[PWM]\n1=media\n2=media\n10=x\n[bioreactor]\nmodel=pioreactor_20ml\ninitial_volume_ml=30\n",
		"[a]\n  x=1\n    more\n  [b]\n[DEFAULT]\nz=%(x)s\n",
		"[dosing_automation.config]\nmax_script_steps=1e300\nmax_execute_minutes=1e300\n",
		"[a\n", "x=1\n", "[a]\n=1\n", "[a]\n-=1\n", "[a]\n\"k=1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, scanErr := scan("fuzz.ini", data)
		entries, err := parseINI("fuzz.ini", data)
		if (scanErr == nil) != (err == nil) {
			t.Fatalf("scan: %v; parseINI: %v", scanErr, err)
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Line < 1 || ce.File != "fuzz.ini" {
				t.Fatalf("error without a line: %#v", err)
			}
			return
		}
		want := map[[2]string]entry{}
		for _, e := range sc.entries {
			want[[2]string{e.section, e.key}] = e
		}
		if len(entries) != len(want) {
			t.Fatalf("ini.v1 read %d keys, the line pass %d", len(entries), len(want))
		}
		for _, e := range entries {
			w := want[[2]string{e.section, e.key}]
			if e != w {
				t.Fatalf("ini.v1 read %+v, the line pass %+v", e, w)
			}
			if e.key == "" || strings.TrimFunc(e.key, isSpace) != e.key || strings.ContainsAny(e.key, "=:\n") {
				t.Fatalf("bad key %q", e.key)
			}
			for _, l := range strings.Split(e.value, "\n") {
				if strings.TrimFunc(l, isSpace) != l {
					t.Fatalf("untrimmed value line %q", l)
				}
			}
		}
		c := New()
		if err := c.merge("fuzz.ini", data); err != nil {
			t.Fatal(err)
		}
		c.Options()
		c.Model()
		c.pwm()
	})
}
