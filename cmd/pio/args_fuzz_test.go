package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// FuzzParseScriptArgs splits any command line (arguments separated by NUL)
// as pio run-script or pio simulate do. Nothing panics; a line that parses
// names one script file; setting names have no dashes; and the result,
// written back as FILE --name=value..., parses to the same.
func FuzzParseScriptArgs(f *testing.F) {
	for _, v := range []string{"1e-300", "1e-12", "1e308", "1e-9", "-1", "NaN", "inf", "lost", "init", " ready ", "", "\xff\xfe", "=", "--x", strings.Repeat("a", 1<<20)} {
		f.Add(false, "x.star\x00--duration\x00"+v)
		f.Add(true, "x.star\x00--volume="+v+"\x00--for\x00"+v)
		f.Add(true, "--quiet\x00x.star\x00--verbose="+v)
		f.Add(false, "x.star\x00--current-volume-ml\x00"+v+"\x00--home\x00"+v)
	}
	for _, line := range []string{"", "x.star", "-", "--", "---", "--=1", "x.star\x00y.star", "x.star\x00--volume", "x.star\x00--a-b-c\x00-1",
		"\x00x.star", "x.star\x00\x00", "x.star\x00--volume\x00--quiet", "x.star\x00-v=1=2", "x.star\x00--for=1\x00--for=2"} {
		f.Add(false, line)
		f.Add(true, line)
	}
	f.Fuzz(func(t *testing.T, simulate bool, line string) {
		args := strings.Split(line, "\x00")
		known := map[string]bool{"current-volume-ml": true, "alt-media-fraction": true, "efflux-tube-volume-ml": true}
		var boolFlags map[string]bool
		if simulate {
			known = map[string]bool{"for": true, "seed": true, "record": true}
			boolFlags = map[string]bool{"quiet": true, "verbose": true}
		}
		p, err := parseScriptArgs(args, known, boolFlags)
		if err != nil {
			return
		}
		if p.file == "" {
			t.Fatalf("%.200q parsed with no script file", line)
		}
		for name := range p.settings {
			if strings.Contains(name, "-") || known[name] || boolFlags[name] || globalFlagNames[name] {
				t.Fatalf("%.200q parsed with a setting named %q", line, name)
			}
		}
		again := []string{p.file}
		for _, m := range []map[string]string{p.flags, p.settings} {
			names := make([]string, 0, len(m))
			for name := range m {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				again = append(again, "--"+name+"="+m[name])
			}
		}
		q, err := parseScriptArgs(again, known, boolFlags)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("%.200q parsed as %.200q, which parses as %.200q (%v)", line, again, strings.Join(append([]string{q.file}, sortedPairs(q)...), " "), err)
		}
	})
}

// sortedPairs lists a parsed line's flags and settings as name=value.
func sortedPairs(p parsed) []string {
	var out []string
	for _, m := range []map[string]string{p.flags, p.settings} {
		for name, v := range m {
			out = append(out, name+"="+v)
		}
	}
	sort.Strings(out)
	return out
}
