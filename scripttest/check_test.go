package scripttest

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"testdata/exchange/exchange_test.star", ""},
		{"testdata/load/dilution_test.star", ""},
		{"testdata/syntax/broken_test.star", "broken_test.star:3:1: got outdent, want ','"},
		{"testdata/syntax/undefined_test.star", "undefined_test.star:4:5: undefined: asert"},
		{"testdata/notests/empty_test.star", "empty_test.star:1:1: no test_* functions: a test is a function such as def test_doses_stay_small(): with no parameters"},
		{"testdata/report/report_test.star", "report_test.star:27:5: test_takes_a_parameter takes 1 parameter; a test takes none"},
	} {
		var lines []string
		for _, d := range Check(tc.file, []byte(readFile(t, tc.file))) {
			lines = append(lines, d.String())
		}
		if got := strings.Join(lines, "\n"); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.file, got, tc.want)
		}
	}
	// Every example's test file checks clean.
	files, _ := filepath.Glob("../scripts/examples/*_test.star")
	for _, f := range files {
		if diags := Check(f, []byte(readFile(t, f))); len(diags) > 0 {
			t.Errorf("%s: %v", f, diags)
		}
	}
}
