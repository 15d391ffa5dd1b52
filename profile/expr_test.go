package profile

import (
	"strings"
	"testing"
	"time"
)

func TestParseHours(t *testing.T) {
	for _, c := range []struct {
		in     string
		number bool
		want   time.Duration
		err    string
	}{
		{"0", true, 0, ""},
		{"1.5", true, 90 * time.Minute, ""},
		{"30s", false, 30 * time.Second, ""},
		{"30m", false, 30 * time.Minute, ""},
		{"2h", false, 2 * time.Hour, ""},
		{"1.5d", false, 36 * time.Hour, ""},
		{"0.25", false, 15 * time.Minute, ""},
		{"soon", false, 0, `want hours as a number or "30m"/"2h", got "soon"`},
		{"-1", true, 0, "negative time -1"},
		{"-5m", false, 0, "negative time"},
		{"2w", false, 0, "want hours"},
		{"9000", true, 0, "past the limit of 365d"},
	} {
		got, err := ParseHours(c.in, c.number)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseHours(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseHours(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestExpressions(t *testing.T) {
	read := func(unit, job, setting string) (string, bool) {
		v, ok := map[string]string{
			"u1/stirring/target_rpm":       "400",
			"u1/stirring/$state":           "ready",
			"u2/od_reading/ods":            `{"ods": {"2": {"od": 0.7}}, "timestamp": "x"}`,
			"u1/growth_rate_calculating/x": `"1.5"`,
		}[unit+"/"+job+"/"+setting]
		return v, ok
	}
	env := &Env{Unit: "u1", Job: "stirring", Experiment: "exp", HoursElapsed: 2,
		Inputs: map[string]any{"target": 500.0, "flag": true}, Read: read, Random: func() float64 { return 0.25 }}
	for _, c := range []struct {
		src  string
		want any
		err  string
	}{
		{"1 + 2 * 3", 7.0, ""},
		{"(1 + 2) * 3", 9.0, ""},
		{"2 ** 3 ** 2", 512.0, ""},
		{"-2 ** 2", -4.0, ""},
		{"10 / 4", 2.5, ""},
		{"1 / 0", nil, "division by zero"},
		{"1 < 2 and 3 >= 3", true, ""},
		{"not 1 == 1 or true", true, ""},
		{"true and false or true", true, ""},
		{"False", false, ""},
		{"${{ target / 2 }}", 250.0, ""},
		{"flag", true, ""},
		{"u1:stirring:target_rpm > 300", true, ""},
		{"::stirring:target_rpm", 400.0, ""},
		{"unit():job_name():target_rpm + 1", 401.0, ""},
		{"::stirring:$state == ready", true, ""},
		{"::stirring:$state != 'sleeping'", true, ""},
		{"u2:od_reading:ods.ods.2.od", 0.7, ""},
		{"u1:growth_rate_calculating:x * 2", 3.0, ""},
		{"u3:stirring:target_rpm", nil, `u3:stirring:target_rpm has no published value in experiment "exp"`},
		{"u2:od_reading:ods.nope", nil, `no key "nope"`},
		{"unit() == 'u1' and experiment() == 'exp' and job_name() == 'stirring'", true, ""},
		{"hours_elapsed() >= 2", true, ""},
		{"random() * 4", 1.0, ""},
		{"ready < 3", nil, "both sides must be numbers"},
		{"'a' + 'b'", "ab", ""},
	} {
		e, err := ParseExpr(c.src)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", c.src, err)
			continue
		}
		got, err := e.Eval(env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q = %v, %v; want error %q", c.src, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q = %#v, %v; want %#v", c.src, got, err, c.want)
		}
	}
}

func TestExpressionSyntaxErrors(t *testing.T) {
	for _, c := range []struct{ src, err string }{
		{"", "empty expression"},
		{"1 +", "expected a value, got end of expression"},
		{"(1 + 2", `expected ")"`},
		{"1 < 2 < 3", "comparisons do not chain"},
		{"foo() > 1", "unknown function foo()"},
		{"1 # 2", `unexpected character '#' at column 3`},
		{"'abc", "unterminated string"},
		{"and 1", "expected a value"},
		{"1 2", `unexpected "2" at column 3`},
	} {
		_, err := ParseExpr(c.src)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseExpr(%q) = %v; want %q", c.src, err, c.err)
		}
	}
}

func TestTemplate(t *testing.T) {
	tp, err := ParseTemplate("rpm is ${{ ::stirring:target_rpm }} in ${{experiment()}}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tp.Eval(&Env{Unit: "u1", Experiment: "e", Read: func(u, j, s string) (string, bool) { return "400.0", true }})
	if err != nil || got != "rpm is 400 in e" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := ParseTemplate("x ${{ 1 +"); err == nil {
		t.Fatal("unclosed ${{ accepted")
	}
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"1 + 2", "u1:stirring:target_rpm > 3", "::od_reading:ods.ods.2.od", "not (a or b)", "random() ** -2", "'x' == y"} {
		f.Add(s)
	}
	env := &Env{Unit: "u", Job: "j", Inputs: map[string]any{"a": 1.0}, Read: func(u, j, s string) (string, bool) { return `{"a": [1]}`, true }}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			return
		}
		v, err := e.Eval(env)
		if err == nil {
			switch v.(type) {
			case float64, bool, string:
			default:
				t.Fatalf("%q evaluated to %T", s, v)
			}
		}
		if _, err := ParseExpr(e.Src); err != nil {
			t.Fatalf("%q parsed, its Src %q does not: %v", s, e.Src, err)
		}
	})
}
