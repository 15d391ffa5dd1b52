package docs_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/script"
	"github.com/piolab/pio/simulate"
)

// The guide sharing.md is a walk through files and commands, in order: a
// ```starlark block whose first line is "# NAME.star..." writes that file
// (a later block of the same name replaces it), a ```ini block whose first
// line is "; NAME.ini" writes that file, and a ```console block runs each
// "$ pio ..." line in the folder of those files and compares what it
// prints with the lines under it. An HTML comment
// "<!-- edit FILE: OLD => NEW -->" before a console block changes FILE for
// that block only. Every script block is also checked (no finding) and, if
// it is a script a job runs, simulated for three hours without an error.
func TestSharingGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pio")
	}
	doc, err := os.ReadFile("sharing.md")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	lab, home := filepath.Join(root, "lab"), filepath.Join(root, ".pio")
	for _, d := range []string{lab, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pio := filepath.Join(root, "pio")
	if out, err := exec.Command("go", "build", "-o", pio, "../cmd/pio").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	var scripts, consoles int
	for _, b := range guideBlocks(string(doc)) {
		switch b.lang {
		case "starlark":
			name := fileName(t, b, `^# ([a-z0-9_]+\.star)`)
			path := filepath.Join(lab, name)
			write(t, path, b.text)
			if !script.IsTestFile(name) {
				checkAndRun(t, path, b)
			}
			scripts++
		case "ini":
			write(t, filepath.Join(lab, fileName(t, b, `^; ([a-z0-9_]+\.ini)`)), b.text)
		case "console":
			runConsole(t, b, pio, root, lab, home)
			consoles++
		}
	}
	if scripts < 5 || consoles < 5 {
		t.Errorf("the guide has %d scripts and %d command blocks; the walk-through lost some", scripts, consoles)
	}
}

// guideBlock is a fenced block of the guide, with the edit directive before it.
type guideBlock struct {
	lang, text string
	line       int    // of the opening fence
	edit       string // "FILE: OLD => NEW", or ""
}

var editDirective = regexp.MustCompile(`^<!-- edit (.+) -->$`)

func guideBlocks(doc string) []guideBlock {
	var out []guideBlock
	var cur *guideBlock
	edit := ""
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```") && len(line) > 3:
			cur = &guideBlock{lang: line[3:], line: n, edit: edit}
			edit = ""
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case editDirective.MatchString(line):
			edit = editDirective.FindStringSubmatch(line)[1]
		case strings.TrimSpace(line) != "":
			edit = "" // a directive applies to the block right after it
		}
	}
	return out
}

func fileName(t *testing.T, b guideBlock, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(strings.SplitN(b.text, "\n", 2)[0])
	if m == nil {
		t.Fatalf("sharing.md:%d: the block's first line names no file (%s)", b.line, pattern)
	}
	return m[1]
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkAndRun checks a script of the guide and, unless it is a module of
// helpers, simulates it for three hours.
func checkAndRun(t *testing.T, path string, b guideBlock) {
	t.Helper()
	src, _ := os.ReadFile(path)
	for _, d := range script.Check(path, src, script.CheckOptions{}) {
		t.Errorf("sharing.md:%d: %s", b.line, d)
	}
	desc, err := script.Describe(path, src)
	if err != nil {
		t.Fatalf("sharing.md:%d: %v", b.line, err)
	}
	if desc.Family == "library" {
		return
	}
	s, err := simulate.Run(context.Background(), simulate.Options{Script: path, For: 3 * time.Hour, Seed: 1})
	if err != nil {
		t.Errorf("sharing.md:%d: simulate: %v", b.line, err)
		return
	}
	if s.Errors != 0 {
		t.Errorf("sharing.md:%d: the script failed: %v", b.line, s.ErrorMessages)
	}
}

var installedAt = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`)

// runConsole runs each "$ pio ..." command of a console block in lab and
// compares its output, with root shown as ~, with the lines the guide shows.
func runConsole(t *testing.T, b guideBlock, pio, root, lab, home string) {
	t.Helper()
	if b.edit != "" {
		file, change, _ := strings.Cut(b.edit, ": ")
		old, repl, ok := strings.Cut(change, " => ")
		path := filepath.Join(lab, file)
		src, err := os.ReadFile(path)
		if !ok || err != nil || !strings.Contains(string(src), old) {
			t.Fatalf("sharing.md:%d: the edit %q does not apply (%v)", b.line, b.edit, err)
		}
		write(t, path, strings.Replace(string(src), old, repl, 1))
		defer write(t, path, string(src))
	}
	type command struct {
		args []string
		want []string
	}
	var cmds []command
	for _, line := range strings.Split(strings.TrimRight(b.text, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "$ pio "); ok {
			cmds = append(cmds, command{args: strings.Fields(rest)})
			continue
		}
		if len(cmds) == 0 {
			t.Fatalf("sharing.md:%d: output before any command: %q", b.line, line)
		}
		cmds[len(cmds)-1].want = append(cmds[len(cmds)-1].want, line)
	}
	for _, c := range cmds {
		cmd := exec.Command(pio, c.args...)
		cmd.Dir = lab
		cmd.Env = append(os.Environ(), "PIO_HOME="+home, "PIO_RUN_DIR="+filepath.Join(root, "run"))
		out, _ := cmd.CombinedOutput()
		got := strings.ReplaceAll(strings.TrimRight(string(out), "\n"), root, "~")
		got = installedAt.ReplaceAllString(got, "<time>")
		if want := strings.Join(c.want, "\n"); got != want {
			t.Errorf("sharing.md:%d: pio %s printed\n%s\nthe guide shows\n%s", b.line, strings.Join(c.args, " "), got, want)
		}
	}
}
