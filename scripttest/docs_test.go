package scripttest

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsExamplesAreRun: every Starlark example of docs/script-tests.md is
// part of a test file that a test runs (the examples' companions, run by
// scripts/examples, and this package's testdata), so none can drift from
// what pio does.
func TestDocsExamplesAreRun(t *testing.T) {
	doc := readFile(t, "../docs/script-tests.md")
	blocks := regexp.MustCompile("(?s)```starlark\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) < 6 {
		t.Fatalf("found %d examples", len(blocks))
	}
	var files []string
	for _, pattern := range []string{"../scripts/examples/*_test.star", "testdata/*/*_test.star"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	var sources []string
	for _, f := range files {
		sources = append(sources, readFile(t, f))
	}
	for i, b := range blocks {
		found := false
		for _, src := range sources {
			found = found || strings.Contains(src, b[1])
		}
		if !found {
			t.Errorf("example %d is in no test file (%s):\n%s", i+1, strings.Join(files, ", "), b[1])
		}
	}
}

// TestDocsReport: the report the reference shows is the one pio prints.
func TestDocsReport(t *testing.T) {
	doc := readFile(t, "../docs/script-tests.md")
	m := regexp.MustCompile("(?s)--run\n'([^']*)'`\\):\n\n```\n(.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("no report in docs/script-tests.md")
	}
	var out bytes.Buffer
	if _, err := Run(context.Background(), "testdata/report/report.star", Options{Out: &out, Run: regexp.MustCompile(m[1])}); err != nil {
		t.Fatal(err)
	}
	if out.String() != m[2] {
		t.Errorf("pio prints:\n%s\nthe docs show:\n%s", out.String(), m[2])
	}
}
