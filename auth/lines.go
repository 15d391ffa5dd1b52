package auth

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxLine bounds one line of a tokens or users file.
const maxLine = 4096

// line is one entry of a file: its fields and where it came from.
type line struct {
	where  string // "file:line"
	fields []string
}

// readLines splits r into entries: whitespace-separated fields, one entry a
// line, skipping blank lines and comments ("#" first on the line, after
// any spaces). source names r in errors.
func readLines(r io.Reader, source string) ([]line, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	var out []line
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		out = append(out, line{where: fmt.Sprintf("%s:%d", source, n), fields: strings.Fields(text)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v (a line may be at most %d bytes)", source, n+1, err, maxLine)
	}
	return out, nil
}

// loadFile opens path and parses it with parse.
func loadFile[T any](path, what string, parse func(io.Reader, string) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	return parse(f, path)
}

// checkName refuses a name that cannot be an MQTT topic level, a Mosquitto
// user name, or an entry of the audit trail.
func checkName(where, name string) error {
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(`#$+/\:`, c) {
			return fmt.Errorf("%s: name %q: %q is not allowed in a name (no #$+/\\: or control characters)", where, name, c)
		}
	}
	return nil
}

// CheckPrivate returns an error naming path and its mode when others than
// its owner may read or write it (a tokens or users file is a secret: chmod
// 600); nil when only the owner may, or when path cannot be read (the
// loader reports that).
func CheckPrivate(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %04o: others than its owner may read it; chmod 600 %s", what, path, m, path)
	}
	return nil
}
