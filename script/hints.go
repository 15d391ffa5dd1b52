package script

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	starmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Hints for the errors that Python habits meet first in Starlark. Each one
// says what to write instead; the message Starlark gave stays in front, so a
// reader who knows Starlark loses nothing.

const hintSep = " — "

// predeclaredSample names a few of pio's builtins, for hints that say they
// need no import.
const predeclaredSample = "execute_io_action, add_media, pump, setting, store, log, sleep, now, fmt"

var (
	gotToken = regexp.MustCompile(`^got ([a-z]+|'\*\*'|string literal|identifier), want `)
	// pyNumber is an operand simple enough to rewrite x**y as math.pow(x, y).
	powLeft  = regexp.MustCompile(`([A-Za-z_0-9.]+|\))\s*$`)
	powRight = regexp.MustCompile(`^\s*(-?[A-Za-z_0-9.]+)`)
	intLit   = regexp.MustCompile(`^[0-9]+$`)
	// importLine is the start of an import statement: its first module.
	importLine = regexp.MustCompile(`^\s*(?:from|import)\s+([A-Za-z_][A-Za-z_0-9]*)`)
)

// syntaxHint returns a parse error's position and message, with a hint when
// the error is Python that Starlark does not have: **, f-strings, import,
// try, class, global, is, del. src, when known, lets the hint quote the
// script and point at the start of the construct (the f of an f-string, the
// first * of **) rather than where the parser gave up.
func syntaxHint(pos syntax.Position, msg string, src []byte) (syntax.Position, string) {
	m := gotToken.FindStringSubmatch(msg)
	if m == nil {
		return pos, msg
	}
	off := -1
	if src != nil && pos.IsValid() {
		off = offsetOf(src, pos.Line, pos.Col)
	}
	switch m[1] {
	case "'**'":
		example := "math.pow(x, y) (a float)"
		if off >= 2 && string(src[off-2:off]) == "**" {
			pos = positionAt(pos, src, off-2)
			example = powExample(src, off-2)
		}
		return pos, msg + hintSep + "Starlark has no ** operator: write " + example
	case "string literal", "identifier":
		if off < 0 {
			return pos, msg
		}
		start, body, ok := fString(src, off, m[1] == "identifier")
		if !ok {
			return pos, msg
		}
		return positionAt(pos, src, start), msg + hintSep + "Starlark has no f-strings: write " + fStringExample(body)
	case "import", "from":
		return pos, msg + hintSep + importHint(src, off)
	case "try", "except", "finally", "raise":
		return pos, msg + hintSep + `Starlark has no try/except or raise: test a value before you use it (key in d, d.get(key, default)) and stop with fail("why"); an error in execute() is logged and the next run tries again`
	case "class":
		return pos, msg + hintSep + "Starlark has no classes: write functions at the top level, declare settings in the settings dict and keep what changes between runs in store"
	case "global", "nonlocal":
		return pos, msg + hintSep + `Starlark has no global statement, and module globals are frozen once the script has loaded: keep what changes between runs in store, e.g. store["count"] = store.get("count", 0) + 1`
	case "is":
		return pos, msg + hintSep + "Starlark has no is: write x == None (x != None for is not)"
	case "del":
		return pos, msg + hintSep + "Starlark has no del statement: remove a key with d.pop(key) (store.pop(key) for the store)"
	}
	return pos, msg
}

// powExample rewrites the x ** y at src[at:] as math.pow(x, y), and as a
// float literal too when x is 10 and y a whole number.
func powExample(src []byte, at int) string {
	line := src[lineStart(src, at):at]
	rest := src[at+2 : lineEnd(src, at)]
	l, r := powLeft.FindSubmatch(line), powRight.FindSubmatch(rest)
	if l == nil || r == nil || string(l[1]) == ")" {
		return "math.pow(x, y) (a float)"
	}
	x, y := string(l[1]), string(r[1])
	if x == "10" && intLit.MatchString(strings.TrimPrefix(y, "-")) {
		return fmt.Sprintf("math.pow(%s, %s), or 1e%s, both floats", x, y, y)
	}
	if y == "2" {
		return fmt.Sprintf("math.pow(%s, 2) (a float) or %s * %s", x, x, x)
	}
	return fmt.Sprintf("math.pow(%s, %s) (a float)", x, y)
}

// importHint explains that a script imports nothing, for the import or from
// statement at src[off:] (off < 0: unknown).
func importHint(src []byte, off int) string {
	module := ""
	if off >= 0 {
		if m := importLine.FindSubmatch(src[lineStart(src, off):lineEnd(src, off)]); m != nil {
			module = string(m[1])
		}
	}
	switch module {
	case "math", "json":
		return fmt.Sprintf("Starlark has no import, and none is needed: %s is already there (delete this line and call %s.%s)",
			module, module, map[string]string{"math": "pow(10, 9)", "json": "encode(value)"}[module])
	case "pioreactor":
		return "Starlark has no import, and a pio script needs none: define settings and execute() at the top level (no class), and call pio's builtins (" +
			predeclaredSample + ") directly; math and json are there too"
	case "time", "datetime":
		return "Starlark has no import: read the runtime's clock with now() (seconds, virtual under pio simulate) and wait with sleep(seconds)"
	}
	return "Starlark has no import: pio's builtins (" + predeclaredSample + ") are already there, and so are math and json"
}

// fString finds the f-string the parser stopped at: the string literal that
// ends at offset end (or, when the parser stopped at an identifier, the f
// right before a quote at end). It returns the offset of the f and the
// literal's text, quotes included, without its prefix.
func fString(src []byte, end int, atIdent bool) (start int, literal string, ok bool) {
	if atIdent {
		if end >= len(src) || src[end] != '"' && src[end] != '\'' {
			return 0, "", false
		}
		p := identStart(src, end)
		if !isFPrefix(string(src[p:end])) {
			return 0, "", false
		}
		return p, string(src[end:skipString(src, end)]), true
	}
	for i := 0; i < len(src) && i < end; {
		switch c := src[i]; {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			j := skipString(src, i)
			if j == end {
				p := identStart(src, i)
				if !isFPrefix(string(src[p:i])) {
					return 0, "", false
				}
				return p, string(src[i:j]), true
			}
			i = j
		default:
			i++
		}
	}
	return 0, "", false
}

func isFPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "f", "rf", "fr":
		return true
	}
	return false
}

// skipString returns the offset just past the string literal whose opening
// quote is at src[i] (or the end of its line if it is not closed).
func skipString(src []byte, i int) int {
	q := src[i]
	triple := i+2 < len(src) && src[i+1] == q && src[i+2] == q
	if triple {
		for j := i + 3; j < len(src); j++ {
			switch {
			case src[j] == '\\':
				j++
			case src[j] == q && j+2 < len(src) && src[j+1] == q && src[j+2] == q:
				return j + 3
			}
		}
		return len(src)
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			return j + 1
		case '\n':
			return j
		}
	}
	return len(src)
}

var (
	fField  = regexp.MustCompile(`\{([^{}!:]+)(?::([^{}]*))?\}`)
	simpleE = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9.]*(\[[^\[\]]*\])?$`)
	pySpec  = regexp.MustCompile(`^[-+ #0]*[0-9]*(\.[0-9]+)?[dfFeEgGxXos%]?$`)
)

// fStringExample rewrites a simple single-line f-string literal (quotes
// included, no prefix) with %, format and fmt; anything else gets the three
// forms in general.
func fStringExample(literal string) string {
	const general = `"%s mL" % v, fmt("%.2f mL", v) or "{} mL".format(v)`
	if len(literal) < 2 || strings.HasPrefix(literal, `"""`) || strings.HasPrefix(literal, `'''`) || strings.ContainsAny(literal, "\\\n") {
		return general
	}
	q, body := literal[:1], literal[1:len(literal)-1]
	// Doubled braces are literal braces: set them aside from the fields.
	body = strings.NewReplacer("{{", "\x00", "}}", "\x01").Replace(body)
	braces := strings.NewReplacer("\x00", "{{", "\x01", "}}")
	var pct, brace strings.Builder // "%s mL" and "{} mL"
	var args []string
	withSpec := false
	last := 0
	for _, m := range fField.FindAllStringSubmatchIndex(body, -1) {
		text := body[last:m[0]]
		if strayBrace(text) {
			return general
		}
		pct.WriteString(percentEscape(text))
		brace.WriteString(braces.Replace(text))
		expr := strings.TrimSpace(body[m[2]:m[3]])
		if strings.HasSuffix(expr, "=") || strings.Contains(expr, q) {
			return general
		}
		switch {
		case m[4] < 0:
			pct.WriteString("%s")
		case pySpec.MatchString(body[m[4]:m[5]]):
			spec := body[m[4]:m[5]]
			if !strings.ContainsAny(spec[len(spec)-1:], "dfFeEgGxXos%") {
				spec += "s"
			}
			pct.WriteString("%" + spec)
			withSpec = true
		default:
			return general
		}
		brace.WriteString("{}")
		args = append(args, expr)
		last = m[1]
	}
	if len(args) == 0 || strayBrace(body[last:]) {
		return general
	}
	pct.WriteString(percentEscape(body[last:]))
	brace.WriteString(braces.Replace(body[last:]))
	p := q + pct.String() + q
	list := strings.Join(args, ", ")
	if withSpec {
		return fmt.Sprintf("fmt(%s, %s)", p, list)
	}
	rhs := list
	if len(args) > 1 || !simpleE.MatchString(rhs) {
		rhs = "(" + list + ")"
	}
	out := fmt.Sprintf("%s %% %s or %s%s%s.format(%s)", p, rhs, q, brace.String(), q, list)
	if len(args) == 1 {
		out += fmt.Sprintf(", or fmt(%s, %s) for 2 decimals", strings.Replace(p, "%s", "%.2f", 1), list)
	}
	return out
}

// strayBrace reports whether the literal text of an f-string (doubled
// braces set aside) has a brace.
func strayBrace(text string) bool {
	return strings.ContainsAny(text, "{}")
}

// percentEscape writes literal text of an f-string (doubled braces set
// aside as \x00 and \x01) for a % template.
func percentEscape(s string) string {
	return strings.NewReplacer("\x00", "{", "\x01", "}", "%", "%%").Replace(s)
}

// offsetOf is the byte offset of a 1-based line and column (counted in
// runes, as Starlark counts them).
func offsetOf(src []byte, line, col int32) int {
	i := 0
	for l := int32(1); l < line && i < len(src); i++ {
		if src[i] == '\n' {
			l++
		}
	}
	for c := int32(1); c < col && i < len(src); c++ {
		_, n := utf8.DecodeRune(src[i:])
		i += n
	}
	return i
}

// positionAt is pos moved to the byte offset off of src.
func positionAt(pos syntax.Position, src []byte, off int) syntax.Position {
	line, col := int32(1), int32(1)
	for _, r := range string(src[:off]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	name := pos.Filename()
	return syntax.MakePosition(&name, line, col)
}

func lineStart(src []byte, off int) int {
	for off > 0 && src[off-1] != '\n' {
		off--
	}
	return off
}

func lineEnd(src []byte, off int) int {
	for off < len(src) && src[off] != '\n' {
		off++
	}
	return off
}

// identStart is where the identifier that ends at src[end] begins.
func identStart(src []byte, end int) int {
	p := end
	for p > 0 && isIdentByte(src[p-1]) {
		p--
	}
	return p
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scriptInfo is what FormatError needs to explain an error of a running
// script in the script's own words: its globals and its source. Script sets
// it on each thread it runs.
type scriptInfo struct {
	globals starlark.StringDict
	src     []byte
}

const scriptInfoKey = "pio.script"

var (
	localBeforeAssignment = regexp.MustCompile(`^local variable ([A-Za-z_][A-Za-z_0-9]*) referenced before assignment$`)
	frozenValue           = regexp.MustCompile(`cannot [a-z ]+ frozen (list|hash table)$`)
	augmentedAssignment   = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z_0-9]*)\s*(\+|-|\*|//|/|%)=\s*(.*?)\s*(#.*)?$`)
	receiver              = regexp.MustCompile(`([A-Za-z_][A-Za-z_0-9]*)(?:\.([A-Za-z_]+))?\s*$`)
)

// runHint adds a hint to msg, the error of a running script at pos, for
// state kept the Python way: assigning to a global in a function (count +=
// 1) and changing a global list or dict (runs.append(x)). Both point at
// store, with the script's own names.
func runHint(msg string, pos syntax.Position, info *scriptInfo) string {
	if info == nil {
		return msg
	}
	if m := localBeforeAssignment.FindStringSubmatch(msg); m != nil {
		name := m[1]
		g, ok := info.globals[name]
		if !ok {
			return msg // a local of its own, used before it was set
		}
		def := initialValue(name, g)
		rewrite := fmt.Sprintf(`read it with store.get(%q, %s) and write it with store[%q] = ...`, name, def, name)
		if a := augmentedAssignment.FindStringSubmatch(sourceLine(info.src, pos)); a != nil && a[1] == name && a[3] != "" {
			rewrite = fmt.Sprintf(`store[%q] = store.get(%q, %s) %s %s`, name, name, def, a[2], a[3])
		}
		return msg + hintSep + fmt.Sprintf("%s is a module global: globals are frozen once the script has loaded, and assigning to one inside a function makes a new local variable. Keep it in store, which lasts from run to run: %s", name, rewrite)
	}
	m := frozenValue.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	name, method := "", ""
	if pos.IsValid() && info.src != nil {
		off := offsetOf(info.src, pos.Line, pos.Col)
		if r := receiver.FindSubmatch(info.src[lineStart(info.src, off):off]); r != nil {
			if _, ok := info.globals[string(r[1])]; ok {
				name, method = string(r[1]), string(r[2])
			}
		}
	}
	if name == "" {
		return msg + hintSep + `module globals, and the lists and dicts they hold, are frozen once the script has loaded: keep what changes from run to run in store, e.g. store.setdefault("runs", []).append(x) or store["key"] = value`
	}
	var rewrite string
	if m[1] == "list" {
		if method == "" {
			method = "append"
		}
		rewrite = fmt.Sprintf(`store.setdefault(%q, list(%s)).%s(...), and read it with store.get(%q, %s)`, name, name, method, name, name)
	} else {
		rewrite = fmt.Sprintf(`store.setdefault(%q, dict(%s))[key] = value, and read it with store.get(%q, %s)`, name, name, name, name)
		if method != "" {
			rewrite = fmt.Sprintf(`store.setdefault(%q, dict(%s)).%s(...), and read it with store.get(%q, %s)`, name, name, method, name, name)
		}
	}
	return msg + hintSep + fmt.Sprintf("%s is a module global, frozen once the script has loaded: keep it in store, which lasts from run to run: %s", name, rewrite)
}

// initialValue is how a rewrite writes a global's value as store.get's
// default: its literal when short, else its name.
func initialValue(name string, v starlark.Value) string {
	switch v.(type) {
	case starlark.Int, starlark.Float, starlark.String, starlark.Bool, starlark.NoneType:
		if r := v.String(); len(r) <= 24 {
			return r
		}
	}
	return name
}

// sourceLine is the text of pos's line in src.
func sourceLine(src []byte, pos syntax.Position) string {
	if src == nil || !pos.IsValid() {
		return ""
	}
	off := offsetOf(src, pos.Line, 1)
	return string(src[off:lineEnd(src, off)])
}

var notNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// suggestName turns a file stem or a name ("Turbidostat-2") into a valid
// automation_name ("turbidostat_2").
func suggestName(s string) string {
	n := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(s), "_"), "_")
	switch n {
	case "":
		return "my_automation"
	case "config":
		return "config_automation"
	}
	return n
}

// undefinedHint says where a name Python has is found in a script, or ""
// (for "undefined: <name>").
func undefinedHint(name string) string {
	switch name {
	case "time", "datetime":
		return "scripts have no time module: read the runtime's clock with now() (seconds since 1970, virtual under pio simulate) and wait with sleep(seconds)"
	case "self":
		return "a script is not a class: its functions take no self, read settings with setting(name) and keep state in store"
	case "sum":
		return "Starlark has no sum: add in a loop (total = 0.0, then for x in xs: total += x)"
	}
	if _, ok := starmath.Module.Members[name]; ok {
		return fmt.Sprintf("%s is in the math module: write math.%s(...)", name, name)
	}
	return ""
}
