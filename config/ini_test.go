package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// kv is a parsed file: section -> key -> value.
type kv map[string]map[string]string

func parseToMap(t *testing.T, text string) (kv, error) {
	t.Helper()
	entries, err := parseINI("f.ini", []byte(text))
	if err != nil {
		return nil, err
	}
	out := kv{}
	for _, e := range entries {
		if out[e.section] == nil {
			out[e.section] = map[string]string{}
		}
		out[e.section][e.key] = e.value
	}
	return out, nil
}

// The expectations below are what Python 3.11's configparser gives with
// upstream's settings (optionxform=str, allow_no_value=True, strict=False),
// except where a case says "pio:".
func TestSyntax(t *testing.T) {
	long := strings.Repeat("x", 100)
	longValue := strings.TrimSuffix(strings.Repeat(long+"\n", 100), "\n")
	for _, tc := range []struct {
		name, in string
		want     kv
	}{
		{"keys are case-sensitive", "[a]\nKp=1\nkp=2\n", kv{"a": {"Kp": "1", "kp": "2"}}},
		{"sections are case-sensitive", "[pwm]\n1=x\n[PWM]\n1=y\n", kv{"pwm": {"1": "x"}, "PWM": {"1": "y"}}},
		{"= and : delimiters, spaces dropped", "[a]\nx = 1\ny: 2\nz :3\n", kv{"a": {"x": "1", "y": "2", "z": "3"}}},
		{"the first delimiter splits", "[a]\nx : 1 = 2\ny=a:b\n", kv{"a": {"x": "1 = 2", "y": "a:b"}}},
		{"comment lines", "# c\n; c\n[a]\n# x=1\n; y=2\n  # indented\nz=3\n", kv{"a": {"z": "3"}}},
		{"inline comments stay in the value", "[a]\nx=1 # one\ny=2 ; two\nz=a#b\n", kv{"a": {"x": "1 # one", "y": "2 ; two", "z": "a#b"}}},
		{"empty values", "[a]\nx=\ny =  \n", kv{"a": {"x": "", "y": ""}}},
		{"a key without delimiter is empty (allow_no_value)", "[a]\nflag\n", kv{"a": {"flag": ""}}},
		{"continuation lines", "[a]\nx=1\n  two\n\tthree\ny=4\n", kv{"a": {"x": "1\ntwo\nthree", "y": "4"}}},
		{"continuation of an empty first line", "[a]\nx=\n  b\n", kv{"a": {"x": "\nb"}}},
		{"comments inside a continued value", "[a]\nx=1\n# c\n  ; c\n  two\n", kv{"a": {"x": "1\ntwo"}}},
		{"blank lines inside a value are kept, trailing ones dropped", "[a]\nx=1\n\n  two\n\n\ny=2\n", kv{"a": {"x": "1\n\ntwo", "y": "2"}}},
		{"continuation means deeper than the key", "[a]\n  x=1\n  y=2\n    more\n z=3\n", kv{"a": {"x": "1", "y": "2\nmore", "z": "3"}}},
		{"an indented header continues a value", "[a]\nx=1\n  [b]\n", kv{"a": {"x": "1\n[b]"}}},
		{"an indented line after a header is a key", "[a]\n  x=1\n", kv{"a": {"x": "1"}}},
		{"a repeated key keeps its last value", "[a]\nx=1\nx=2\n", kv{"a": {"x": "2"}}},
		{"a repeated section continues", "[a]\nx=1\n[b]\ny=2\n[a]\nz=3\n", kv{"a": {"x": "1", "z": "3"}, "b": {"y": "2"}}},
		{"quotes are kept", "[a]\nx=\"q\"\ny='q'\nz=`q`\nw=\"\"\"q\"\"\"\n", kv{"a": {"x": `"q"`, "y": "'q'", "z": "`q`", "w": `"""q"""`}}},
		{"backslashes are kept", "[a]\nx=a\\\ny=b\n", kv{"a": {"x": `a\`, "y": "b"}}},
		{"percent signs are raw (pio: no interpolation)", "[a]\nx=50%%\ny=%(x)s\n", kv{"a": {"x": "50%%", "y": "%(x)s"}}},
		{"CRLF and CR line ends", "[a]\r\nx=1\r\n  two\r\ny=2\rz=3\r", kv{"a": {"x": "1\ntwo", "y": "2", "z": "3"}}},
		{"text after a header", "[a] ; section a\nx=1\n", kv{"a": {"x": "1"}}},
		{"a header ends at its last ]", "[a]b]\nx=1\n", kv{"a]b": {"x": "1"}}},
		{"pio: section names are trimmed", "[ mqtt ]\nx=1\n", kv{"mqtt": {"x": "1"}}},
		{"pio: a byte order mark is skipped", "\ufeff[a]\nx=1\n", kv{"a": {"x": "1"}}},
		{"pio: DEFAULT is an ordinary section", "[DEFAULT]\nx=1\n[a]\ny=2\n", kv{"DEFAULT": {"x": "1"}, "a": {"y": "2"}}},
		{"a long continued value", "[a]\nx=" + strings.ReplaceAll(longValue, "\n", "\n ") + "\ny=1\n", kv{"a": {"x": longValue, "y": "1"}}},
		{"no final newline", "[a]\nx=1", kv{"a": {"x": "1"}}},
		{"empty file", "", kv{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseToMap(t, tc.in)
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parse(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"x=1\n", `f.ini:1: key outside of a section: "x=1"`},
		{"# c\n\n  x=1\n[a]\n", `f.ini:3: key outside of a section: "x=1"`},
		{"[a]\nx=1\n[b\n", `f.ini:3: section header without ]: "[b"`},
		{"[a]\n[]\n", `f.ini:2: empty section name`},
		{"[ ]\n", `f.ini:1: empty section name`},
		{"[a]\n= 1\n", `f.ini:2: empty key name: "= 1"`},
		{"[a]\n: 1\n", `f.ini:2: empty key name: ": 1"`},
		{"[a]\n-=1\n", `f.ini:2: key "-": pio cannot read a key that is "-" or starts with a quote`},
		{"[a]\n\"k\"=1\n", `f.ini:2: key "\"k\"": pio cannot read a key that is "-" or starts with a quote`},
	} {
		_, err := parseINI("f.ini", []byte(tc.in))
		var ce *Error
		if err == nil || err.Error() != tc.want || !errors.As(err, &ce) {
			t.Errorf("parse(%q) = %v; want %s", tc.in, err, tc.want)
		}
	}
}

func TestSyntaxLines(t *testing.T) {
	entries, err := parseINI("f.ini", []byte("# c\n[a]\nx=1\n  more\ny=2\n[b]\nz=3\n[a]\nx=4\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range entries {
		got[e.section+" "+e.key] = e.line
	}
	want := map[string]int{"a x": 9, "a y": 5, "b z": 7}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines %v, want %v", got, want)
	}
}
