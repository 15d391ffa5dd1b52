package config

import (
	"fmt"
	"strings"
	"unicode"

	"gopkg.in/ini.v1"
)

// This file reads one ini file by the rules of Python's configparser as
// upstream configures it (see the package doc). The ini.v1 package builds the
// sections and keys, but it cannot be told configparser's line rules: its
// Python-style continuation takes any indented line (not only lines indented
// deeper than the key), keeps the indentation, ends the value at a blank or
// comment line, and reads keys before the first section into DEFAULT. So scan
// first applies configparser's line rules and rewrites the file into a
// canonical text that ini.v1 reads verbatim:
//
//	[section]
//	key=
//	 first line of the value
//	 second line of the value
//
// Every value is written on continuation lines indented by one space, so
// ini.v1 never sees a value's first character (it would strip surrounding
// quotes, treat a leading ` or """ as a quoted multi-line value, and more).

// entry is one key of one file, as the file assigns it last.
type entry struct {
	section, key, value string
	line                int // the line of the key's last assignment
}

// parseINI reads one file: the keys it assigns, in the order ini.v1 lists
// them (by section, first appearance first). A malformed line is an *Error
// naming name and the line.
func parseINI(name string, data []byte) ([]entry, error) {
	sc, err := scan(name, data)
	if err != nil {
		return nil, err
	}
	f, err := ini.LoadSources(ini.LoadOptions{
		KeyValueDelimiters:         "=",
		IgnoreInlineComment:        true, // configparser's inline_comment_prefixes=None
		IgnoreContinuation:         true, // no backslash continuation in configparser
		PreserveSurroundedQuote:    true, // configparser keeps quotes
		AllowPythonMultilineValues: true, // how the canonical text writes values
		// ini.v1 peeks ahead this far for continuation lines; let it see the whole text.
		ReaderBufferSize: len(sc.canonical) + 1,
	}, sc.canonical)
	if err != nil {
		// scan rejects everything ini.v1 would; this is a bug if it happens.
		return nil, &Error{File: name, Msg: "ini: " + err.Error()}
	}
	var out []entry
	for _, sec := range f.Sections() {
		for _, k := range sec.Keys() {
			out = append(out, entry{
				section: sec.Name(),
				key:     k.Name(),
				value:   decodeValue(k.Value()),
				line:    sc.lines[[2]string{sec.Name(), k.Name()}],
			})
		}
	}
	return out, nil
}

// decodeValue undoes the canonical encoding of a value: a leading newline,
// then every line indented by one space.
func decodeValue(v string) string {
	if v == "" {
		return ""
	}
	lines := strings.Split(strings.TrimPrefix(v, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, " ")
	}
	return strings.Join(lines, "\n")
}

// scanned is a file after configparser's line rules.
type scanned struct {
	canonical []byte
	entries   []entry           // every assignment in file order, repeats included
	lines     map[[2]string]int // (section, key) -> line of its last assignment
}

// scan applies configparser's line rules (Python 3.11 RawConfigParser._read
// with comment_prefixes=('#',';'), inline_comment_prefixes=None,
// empty_lines_in_values=True, allow_no_value=True, strict=False), with
// pio's documented deviations: a leading UTF-8 BOM is skipped, section names
// are trimmed, and a line that starts with "[" but is no section header is an
// error rather than a key.
func scan(name string, data []byte) (*scanned, error) {
	text := strings.TrimPrefix(string(data), "\ufeff")
	sc := &scanned{lines: map[[2]string]int{}}
	var buf strings.Builder
	var (
		section    string
		inSection  bool
		cur        *entry   // the key being read, while continuation lines may follow
		curLines   []string // its value's lines
		lastIndent int      // indentation of the last key or section line
	)
	flush := func() {
		if cur == nil {
			return
		}
		cur.value = strings.TrimRightFunc(strings.Join(curLines, "\n"), isSpace)
		buf.WriteString(cur.key)
		buf.WriteString("=\n")
		if cur.value != "" {
			for _, l := range strings.Split(cur.value, "\n") {
				buf.WriteString(" ")
				buf.WriteString(l)
				buf.WriteString("\n")
			}
		}
		sc.entries = append(sc.entries, *cur)
		sc.lines[[2]string{cur.section, cur.key}] = cur.line
		cur, curLines = nil, nil
	}
	fail := func(n int, format string, args ...any) error {
		return &Error{File: name, Line: n, Msg: fmt.Sprintf(format, args...)}
	}
	for n, raw := range splitLines(text) {
		n++ // lines count from 1
		line := strings.TrimFunc(raw, isSpace)
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue // a comment, even inside a continued value
		}
		if line == "" {
			if cur != nil {
				curLines = append(curLines, "") // kept if more of the value follows
			}
			continue
		}
		indent := indentOf(raw)
		if cur != nil && indent > lastIndent {
			curLines = append(curLines, line) // continuation
			continue
		}
		lastIndent = indent
		if line[0] == '[' {
			end := strings.LastIndexByte(line, ']')
			if end < 0 {
				return nil, fail(n, "section header without ]: %q", line)
			}
			sname := strings.TrimFunc(line[1:end], isSpace)
			if sname == "" {
				return nil, fail(n, "empty section name")
			}
			flush()
			section, inSection = sname, true
			buf.WriteString("[" + sname + "]\n")
			continue
		}
		if !inSection {
			return nil, fail(n, "key outside of a section: %q", line)
		}
		key, value := line, ""
		if i := strings.IndexAny(line, "=:"); i >= 0 {
			key = strings.TrimRightFunc(line[:i], isSpace)
			value = strings.TrimLeftFunc(line[i+1:], isSpace)
		}
		switch {
		case key == "":
			return nil, fail(n, "empty key name: %q", line)
		case key == "-" || key[0] == '"' || key[0] == '`':
			// ini.v1 reads "-" as an auto-numbered key and strips quotes
			// around a key; no Pioreactor key looks like this.
			return nil, fail(n, "key %q: pio cannot read a key that is \"-\" or starts with a quote", key)
		}
		flush()
		cur = &entry{section: section, key: key, line: n}
		curLines = []string{value}
	}
	flush()
	sc.canonical = []byte(buf.String())
	return sc, nil
}

// splitLines splits text at "\n", "\r\n" and "\r", as Python reads a file
// with universal newlines.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// isSpace is Python's str.isspace for one character.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// indentOf is the number of characters before the first non-space one.
func indentOf(line string) int {
	n := 0
	for _, r := range line {
		if !isSpace(r) {
			break
		}
		n++
	}
	return n
}
