package builtins

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// Fmt returns the fmt builtin:
//
//	fmt(template, *args) -> string
//
// Python's printf-style formatting, as Python's template % args does it, for
// the conversions Starlark's own % lacks: flags (-+ #0), width and precision,
// "*" for either, and %(name)s keys when the only argument is a dict:
//
//	fmt("%.2f mL", v)                     # "0.67 mL"
//	fmt("%-8s|%6.1f", "media", 12.345)    # "media   |  12.3"
//	fmt("%(v).2f mL", {"v": v})           # "0.67 mL"
//
// Conversions: d i u (a float is truncated, as Python's int() does), o x X
// (ints only), e E f F g G (inf and nan as Python writes them), c, s (str()),
// r (repr()), a (repr() in ASCII) and %%. An unknown conversion, a missing or
// extra argument, or a value of the wrong type is an error, as in Python
// ("fmt: %f wants a number, got string"). %s and %r use Starlark's str and
// repr, so a float is written as Starlark writes it (str(1e6) is "1e+06")
// and a string in a list gets double quotes. Bools are not numbers here, as
// in Starlark arithmetic. Width and precision are capped at 10000, and the
// result at 16 MiB.
func Fmt() *starlark.Builtin { return starlark.NewBuiltin("fmt", fmtBuiltin) }

// maxFmtWidth bounds widths and precisions, so a typo cannot allocate
// gigabytes ("%999999999d"); maxFmtResult bounds the result, which a long
// template could otherwise blow up ("%(v)9999s" * 100000).
const (
	maxFmtWidth  = 10000
	maxFmtResult = 1 << 24
)

func fmtBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf(`%s: unexpected keyword argument %q; for %%(name)s keys pass a dict: fmt("%%(v).2f mL", {"v": v})`, b.Name(), string(kwargs[0][0].(starlark.String)))
	}
	if len(args) == 0 {
		return nil, fmt.Errorf(`%s: missing template, e.g. fmt("%%.2f mL", v)`, b.Name())
	}
	tmpl, ok := starlark.AsString(args[0])
	if !ok {
		return nil, fmt.Errorf(`%s: the template must be a string, got %s (fmt("%%.2f mL", v))`, b.Name(), args[0].Type())
	}
	s, err := pyFormat(tmpl, args[1:])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return starlark.String(s), nil
}

// pyFormat formats args by tmpl as Python's tmpl % tuple(args) does, except
// that a single dict argument is the mapping for %(name)s keys (Python's
// tmpl % d). Errors carry no "fmt: " prefix.
func pyFormat(tmpl string, args starlark.Tuple) (string, error) {
	f := &pyFormatter{}
	if len(args) == 1 {
		if m, ok := args[0].(starlark.Mapping); ok {
			f.dict = m
		}
	}
	if f.dict != nil {
		// Like Python's non-tuple operand: positional conversions see the
		// dict itself, once.
		f.args, f.arglen, f.argidx = starlark.Tuple{f.dict}, -1, -2
	} else {
		f.args, f.arglen, f.argidx = args, len(args), 0
	}
	var out strings.Builder
	for {
		i := strings.IndexByte(tmpl, '%')
		if i < 0 {
			out.WriteString(tmpl)
			break
		}
		out.WriteString(tmpl[:i])
		pos := f.pos + i
		tmpl = tmpl[i+1:]
		f.pos = pos + 1
		if strings.HasPrefix(tmpl, "%") {
			out.WriteByte('%')
			tmpl = tmpl[1:]
			f.pos++
			continue
		}
		rest, err := f.conversion(&out, tmpl, pos)
		if err != nil {
			return "", err
		}
		f.pos += len(tmpl) - len(rest)
		tmpl = rest
		if out.Len() > maxFmtResult {
			return "", fmt.Errorf("the result is longer than %d bytes", maxFmtResult)
		}
	}
	if f.argidx < f.arglen && f.dict == nil {
		return "", fmt.Errorf("too many arguments: the template uses %d of %d", f.argidx, f.arglen)
	}
	return out.String(), nil
}

// pyFormatter follows CPython's unicode_formatter_t: args is the operand,
// arglen is -1 for a single non-tuple operand (the dict, or a value looked up
// by key) and argidx moves through it.
type pyFormatter struct {
	dict           starlark.Mapping
	args           starlark.Tuple
	arglen, argidx int
	pos            int // byte offset in the template, for errors
}

func (f *pyFormatter) next() (starlark.Value, error) {
	if f.argidx < f.arglen {
		i := f.argidx
		f.argidx++
		if f.arglen < 0 {
			return f.args[0], nil
		}
		return f.args[i], nil
	}
	return nil, fmt.Errorf("not enough arguments for the template")
}

type fmtSpec struct {
	minus, plus, blank, alt, zero bool
	width, prec                   int // -1: not given
	conv                          byte
}

// conversion formats one conversion; t starts after its '%', which is at
// byte pos of the template. It returns the rest of the template.
func (f *pyFormatter) conversion(out *strings.Builder, t string, pos int) (string, error) {
	entry := t
	sp := fmtSpec{width: -1, prec: -1}

	// %(key)
	if strings.HasPrefix(t, "(") {
		depth, j := 1, 1
		for ; j < len(t) && depth > 0; j++ {
			switch t[j] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		if depth > 0 {
			return "", fmt.Errorf("incomplete format key: the %%( at index %d has no closing )", pos)
		}
		key := t[1 : j-1]
		t = t[j:]
		if f.dict == nil {
			return "", fmt.Errorf(`%%(%s) needs a dict as the only argument, e.g. fmt("%%(v).2f", {"v": 1.5})`, key)
		}
		v, found, err := f.dict.Get(starlark.String(key))
		if err != nil {
			return "", err
		}
		if !found {
			return "", fmt.Errorf("key %q not found in the dict", key)
		}
		f.args, f.arglen, f.argidx = starlark.Tuple{v}, -1, -2
	}

	// flags
flags:
	for ; t != ""; t = t[1:] {
		switch t[0] {
		case '-':
			sp.minus = true
		case '+':
			sp.plus = true
		case ' ':
			sp.blank = true
		case '#':
			sp.alt = true
		case '0':
			sp.zero = true
		default:
			break flags
		}
	}

	// width and precision
	var neg bool
	var err error
	if sp.width, neg, t, err = f.number(t, "width", -1); err != nil {
		return "", err
	}
	if neg { // a negative * width left-justifies, as in Python
		sp.minus = true
	}
	if strings.HasPrefix(t, ".") {
		if sp.prec, neg, t, err = f.number(t[1:], "precision", 0); err != nil {
			return "", err
		}
		if neg {
			sp.prec = 0
		}
	}

	// Python ignores the length modifiers h, l and L.
	if t != "" && (t[0] == 'h' || t[0] == 'l' || t[0] == 'L') {
		t = t[1:]
	}
	if t == "" {
		return "", fmt.Errorf("incomplete format: the template ends inside the conversion at index %d", pos)
	}
	sp.conv = t[0]

	v, err := f.next()
	if err != nil {
		return "", err
	}
	var s string
	numeric := false
	switch c := sp.conv; c {
	case 's':
		if str, ok := starlark.AsString(v); ok {
			s = str
		} else {
			s = v.String()
		}
	case 'r':
		s = v.String()
	case 'a':
		s = fmtASCIIRepr(v.String())
	case 'd', 'i', 'u', 'o', 'x', 'X':
		n, err := fmtIntArg(v, c)
		if err != nil {
			return "", err
		}
		s = fmtIntString(n, sp)
		numeric = true
	case 'e', 'E', 'f', 'F', 'g', 'G':
		x, err := fmtFloatArg(v, c)
		if err != nil {
			return "", err
		}
		s = fmtFloatString(x, sp)
		numeric = true
	case 'c':
		r, err := fmtCharArg(v)
		if err != nil {
			return "", err
		}
		s = string(r)
	default:
		r, _ := utf8.DecodeRuneInString(t)
		return "", fmt.Errorf("unsupported format character %q at index %d of the template (conversions: d i u o x X e E f F g G c s r a %%)", r, pos+1+len(entry)-len(t))
	}
	fmtPad(out, s, sp, numeric)
	return t[1:], nil
}

// fmtASCIIRepr escapes the non-ASCII characters of a repr as Python's ascii()
// does.
func fmtASCIIRepr(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	return b.String()
}

// number parses a width or precision: digits, "*" (the next argument, an
// int, returned as its absolute value with neg set) or nothing (def).
func (f *pyFormatter) number(t, what string, def int) (n int, neg bool, rest string, err error) {
	if strings.HasPrefix(t, "*") {
		v, err := f.next()
		if err != nil {
			return 0, false, "", err
		}
		i, ok := v.(starlark.Int)
		if !ok {
			return 0, false, "", fmt.Errorf("* (a %s) wants an int, got %s", what, v.Type())
		}
		n, ok := i.Int64()
		if !ok || n > maxFmtWidth || n < -maxFmtWidth {
			return 0, false, "", fmt.Errorf("%s %s is too big (at most %d)", what, i, maxFmtWidth)
		}
		if n < 0 {
			return int(-n), true, t[1:], nil
		}
		return int(n), false, t[1:], nil
	}
	j := 0
	for j < len(t) && '0' <= t[j] && t[j] <= '9' {
		j++
	}
	if j == 0 {
		return def, false, t, nil
	}
	n, err = strconv.Atoi(t[:j])
	if err != nil || n > maxFmtWidth {
		return 0, false, "", fmt.Errorf("%s %s is too big (at most %d)", what, t[:j], maxFmtWidth)
	}
	return n, false, t[j:], nil
}

// fmtIntArg converts v for %d, %i, %u (ints, and floats truncated toward zero,
// as Python's int() does) and %o, %x, %X (ints only).
func fmtIntArg(v starlark.Value, conv byte) (*big.Int, error) {
	switch x := v.(type) {
	case starlark.Int:
		return x.BigInt(), nil
	case starlark.Float:
		if conv == 'o' || conv == 'x' || conv == 'X' {
			return nil, fmt.Errorf("%%%c wants an int, got float (use %%d, or int(x))", conv)
		}
		f := float64(x)
		if math.IsNaN(f) {
			return nil, fmt.Errorf("%%%c: cannot convert float nan to an integer", conv)
		}
		if math.IsInf(f, 0) {
			return nil, fmt.Errorf("%%%c: cannot convert float %s to an integer", conv, x)
		}
		n, _ := new(big.Float).SetFloat64(f).Int(nil)
		return n, nil
	}
	if conv == 'o' || conv == 'x' || conv == 'X' {
		return nil, fmt.Errorf("%%%c wants an int, got %s", conv, v.Type())
	}
	return nil, fmt.Errorf("%%%c wants a number, got %s", conv, v.Type())
}

// fmtFloatArg converts v for %e %E %f %F %g %G.
func fmtFloatArg(v starlark.Value, conv byte) (float64, error) {
	switch x := v.(type) {
	case starlark.Float:
		return float64(x), nil
	case starlark.Int:
		f := float64(x.Float())
		if math.IsInf(f, 0) {
			return 0, fmt.Errorf("%%%c: int too large to convert to float", conv)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%%%c wants a number, got %s", conv, v.Type())
}

// fmtCharArg converts v for %c: a code point or a one-character string.
func fmtCharArg(v starlark.Value) (rune, error) {
	switch x := v.(type) {
	case starlark.Int:
		n, ok := x.Int64()
		if !ok || n < 0 || n > utf8.MaxRune {
			return 0, fmt.Errorf("%%c: code point %s not in range(0x110000)", x)
		}
		return rune(n), nil
	case starlark.String:
		r, size := utf8.DecodeRuneInString(string(x))
		if len(x) > 0 && size == len(x) {
			return r, nil
		}
		return 0, fmt.Errorf("%%c wants an int or a one-character string, got a string of %d characters", utf8.RuneCountInString(string(x)))
	}
	return 0, fmt.Errorf("%%c wants an int or a one-character string, got %s", v.Type())
}

// fmtIntString is CPython's _PyUnicode_FormatLong: sign, 0x/0o prefix (with
// #), at least prec digits.
func fmtIntString(n *big.Int, sp fmtSpec) string {
	base := 10
	switch sp.conv {
	case 'o':
		base = 8
	case 'x', 'X':
		base = 16
	}
	var b strings.Builder
	if n.Sign() < 0 {
		b.WriteByte('-')
	}
	if sp.alt && base != 10 {
		b.WriteByte('0')
		b.WriteByte(sp.conv)
	}
	digits := new(big.Int).Abs(n).Text(base)
	if sp.prec > len(digits) {
		b.WriteString(strings.Repeat("0", sp.prec-len(digits)))
	}
	if sp.conv == 'X' {
		digits = strings.ToUpper(digits)
	}
	b.WriteString(digits)
	return b.String()
}

// fmtFloatString is CPython's PyOS_double_to_string for %e %f %g (and upper
// case): correctly rounded, "inf", "-inf" and "nan" (never "-nan").
func fmtFloatString(x float64, sp fmtSpec) string {
	upper := sp.conv == 'E' || sp.conv == 'F' || sp.conv == 'G'
	var s string
	switch {
	case math.IsNaN(x):
		s = "nan"
	case math.IsInf(x, 1):
		s = "inf"
	case math.IsInf(x, -1):
		s = "-inf"
	default:
		prec := sp.prec
		if prec < 0 {
			prec = 6
		}
		switch sp.conv {
		case 'f', 'F':
			s = strconv.FormatFloat(x, 'f', prec, 64)
			if sp.alt && prec == 0 {
				s += "."
			}
		case 'e', 'E':
			s = strconv.FormatFloat(x, 'e', prec, 64)
			if sp.alt && prec == 0 {
				s = strings.Replace(s, "e", ".e", 1)
			}
		case 'g', 'G':
			s = fmtFormatG(x, prec, sp.alt)
		}
	}
	if upper {
		s = strings.ToUpper(s)
	}
	return s
}

// fmtFormatG is Python's %g: with exp the exponent of x in %e at precision p-1,
// %f at precision p-1-exp if -4 <= exp < p, else %e at p-1; then, without
// #, trailing zeros and a trailing point are removed.
func fmtFormatG(x float64, p int, alt bool) string {
	if p == 0 {
		p = 1
	}
	s := strconv.FormatFloat(x, 'e', p-1, 64)
	e := strings.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(s[e+1:])
	if -4 <= exp && exp < p {
		s = strconv.FormatFloat(x, 'f', p-1-exp, 64)
		e = len(s)
	}
	mant, tail := s[:e], s[e:]
	if alt {
		if !strings.Contains(mant, ".") {
			mant += "."
		}
	} else if strings.Contains(mant, ".") {
		mant = strings.TrimRight(mant, "0")
		mant = strings.TrimSuffix(mant, ".")
	}
	return mant + tail
}

// fmtPad writes s with the sign, prefix, width and precision of sp, as CPython's
// unicode_format_arg_output does; widths count characters, not bytes.
func fmtPad(out *strings.Builder, s string, sp fmtSpec, numeric bool) {
	n := utf8.RuneCountInString(s)
	if (sp.conv == 's' || sp.conv == 'r' || sp.conv == 'a') && sp.prec >= 0 && n > sp.prec {
		i := 0
		for k := 0; k < sp.prec; k++ {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		s, n = s[:i], sp.prec
	}
	fill := byte(' ')
	if numeric && sp.zero {
		fill = '0'
	}
	var sign byte
	if numeric {
		switch {
		case s != "" && (s[0] == '-' || s[0] == '+'):
			sign = s[0]
			s = s[1:]
			n--
		case sp.plus:
			sign = '+'
		case sp.blank:
			sign = ' '
		}
	}
	width := sp.width
	if width < n {
		width = n
	}
	if sign != 0 {
		if fill != ' ' {
			out.WriteByte(sign)
		}
		if width > n {
			width--
		}
	}
	prefix := ""
	if sp.alt && (sp.conv == 'x' || sp.conv == 'X' || sp.conv == 'o') {
		prefix, s = s[:2], s[2:]
		n -= 2
		width -= 2
		if width < 0 {
			width = 0
		}
		if fill != ' ' {
			out.WriteString(prefix)
		}
	}
	if width > n && !sp.minus {
		out.WriteString(strings.Repeat(string(fill), width-n))
		width = n
	}
	if fill == ' ' {
		if sign != 0 {
			out.WriteByte(sign)
		}
		out.WriteString(prefix)
	}
	out.WriteString(s)
	if width > n {
		out.WriteString(strings.Repeat(" ", width-n))
	}
}

// starlarkPercentSpec matches the message of Starlark's % operator when it
// meets a flag, width, precision or length modifier ("%.2f" % v gives
// "unknown conversion %."), starlarkFormatSpec that of str.format meeting a
// format spec ("{:.2f}"), and simpleFormatSpec the specs that translate to a
// printf-style conversion.
var (
	starlarkPercentSpec = regexp.MustCompile(`unknown conversion %([-+ #0-9.*hlL])$`)
	starlarkFormatSpec  = regexp.MustCompile(`format spec features not supported in replacement fields: ([^—]*)$`)
	simpleFormatSpec    = regexp.MustCompile(`^([<>])?([-+ ])?(#)?(0)?([0-9]*)(\.[0-9]+)?([sdxXoeEfFgG])$`)
)

// FormatHint returns msg, a Starlark error message, with a hint appended if
// it is Starlark's refusal of a width, precision or flag in "%.2f" % v
// ("unknown conversion %.") or in "{:.2f}".format(v); any other message is
// returned unchanged.
func FormatHint(msg string) string {
	if m := starlarkPercentSpec.FindStringSubmatch(msg); m != nil {
		return msg + " — " + fmtPercentHint(m[1][0])
	}
	if m := starlarkFormatSpec.FindStringSubmatch(msg); m != nil {
		example := `fmt("%.2f mL", v)`
		if p := simpleFormatSpec.FindStringSubmatch(m[1]); p != nil {
			// [align][sign][#][0][width][.prec]type → %[-][sign][#][0][width][.prec]type
			// format() left-aligns strings by default, % right-aligns.
			align := p[1] == "<" || p[1] == "" && p[7] == "s" && p[5] != ""
			var b strings.Builder
			b.WriteString("%")
			if align {
				b.WriteString("-")
			}
			if p[2] != "-" {
				b.WriteString(p[2])
			}
			b.WriteString(p[3] + p[4] + p[5] + p[6] + p[7])
			example = fmt.Sprintf(`fmt(%q, v)`, b.String())
			example += fmt.Sprintf(` instead of "{:%s}".format(v)`, m[1])
		}
		return msg + ` — Starlark's str.format has no format specs; write ` + example + ` (fmt formats like Python's %)`
	}
	return msg
}

func fmtPercentHint(c byte) string {
	const like = "which formats like Python's %"
	switch c {
	case '.':
		return `Starlark's % has no precision; write fmt("%.2f mL", v), ` + like + `, instead of "%.2f mL" % v (or "%s mL" % round(v, 2))`
	case 'h', 'l', 'L':
		return `Starlark's % has no length modifiers; write "%d" % n (fmt("%ld", n) also works, as in Python)`
	case '*':
		return `Starlark's % has no width or precision; write fmt("%*d", width, n), ` + like
	case '-':
		return `Starlark's % has no flags, width or precision; write fmt("%-8s", name), ` + like
	case '+':
		return `Starlark's % has no flags, width or precision; write fmt("%+.2f", v), ` + like
	case ' ':
		return `Starlark's % has no flags, width or precision; write fmt("% d", n), ` + like
	case '#':
		return `Starlark's % has no flags, width or precision; write fmt("%#x", n), ` + like
	case '0':
		return `Starlark's % has no flags, width or precision; write fmt("%05d", n), ` + like
	}
	return `Starlark's % has no width or precision; write fmt("%8.2f", v), ` + like
}
