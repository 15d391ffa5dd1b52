package script

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/syntax"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/scripthw"
)

// A script's header is what pio reads from its syntax, without running it,
// at the top of the file:
//
//	api_version = 1
//	metadata = {"name": "ph_reading", "version": "1.2.0", "author": "...", "description": "..."}
//	requires = {"pumps": ["acid"], "serial": ["/dev/ttyUSB0"]}
//
// All three are optional: a script without api_version targets version 1
// (with a warning). docs/script-api.md is the reference.

// APIVersion is the version of the script API this pio runs.
const APIVersion = 1

// Header is a script's api_version, metadata and requires.
type Header struct {
	APIVersion int      `json:"api_version"`
	Metadata   Metadata `json:"metadata"`
	Requires   Requires `json:"requires"`
	// Warnings are what the header lacks that a start logs and a check
	// reports (no api_version).
	Warnings []Diagnostic `json:"-"`
}

// Metadata describes a script for the people who share it.
type Metadata struct {
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	Author      string `json:"author,omitempty"`
	Description string `json:"description,omitempty"`
	License     string `json:"license,omitempty"`
	URL         string `json:"url,omitempty"`
}

// metadataKeys are the keys metadata may have, in the order docs list them.
var metadataKeys = []string{"name", "version", "author", "description", "license", "url"}

// Requires is what a script needs of the unit: pumps wired in [PWM], and
// devices [scripts.hardware] grants.
type Requires struct {
	Pumps  []string `json:"pumps,omitempty"`
	PWM    []int    `json:"pwm,omitempty"`
	GPIO   []int    `json:"gpio,omitempty"`
	I2C    []string `json:"i2c,omitempty"`
	Serial []string `json:"serial,omitempty"`
	// needs are the entries with their positions, in file order.
	needs []need
}

// need is one entry of requires.
type need struct {
	kind  string // pumps, pwm, gpio, i2c, serial
	value string // as config.ini writes it
	pos   syntax.Position
}

// requiresKeys are the keys requires may have.
var requiresKeys = []string{"pumps", "pwm", "gpio", "i2c", "serial"}

// ReadHeader parses src and reads its header. A syntax error is one error
// diagnostic; so is each wrong part of the header. Its Warnings also hold
// each use of a deprecated builtin (Deprecated), which a start logs.
func ReadHeader(path string, src []byte) (Header, []Diagnostic) {
	f, err := FileOptions.Parse(baseName(path), src, 0)
	if err != nil {
		return Header{APIVersion: APIVersion}, []Diagnostic{diagnosticOf(baseName(path), err)}
	}
	h, diags := readHeader(f)
	deprecated := deprecationsOf(f) // uses of deprecated builtins: warnings too
	h.Warnings = append(h.Warnings, deprecated...)
	return h, append(diags, deprecated...)
}

// headerError is the first error of a parsed script's header, for
// LoadModule: a start refuses a bad header.
func headerError(f *syntax.File) (Header, error) {
	h, diags := readHeader(f)
	for _, d := range diags {
		if !d.Warning {
			return h, &Error{Pos: d.Pos, Msg: d.Msg}
		}
	}
	return h, nil
}

// readHeader reads the header of a parsed script.
func readHeader(f *syntax.File) (Header, []Diagnostic) {
	r := headerReader{h: Header{APIVersion: APIVersion}}
	found := map[string]bool{}
	// Walk the top level, into if/for/while (which do not make functions).
	var walk func(stmts []syntax.Stmt, nested bool)
	walk = func(stmts []syntax.Stmt, nested bool) {
		for _, stmt := range stmts {
			switch s := stmt.(type) {
			case *syntax.IfStmt:
				walk(s.True, true)
				walk(s.False, true)
			case *syntax.ForStmt:
				walk(s.Body, true)
			case *syntax.WhileStmt:
				walk(s.Body, true)
			case *syntax.AssignStmt:
				r.assign(s, nested, found)
			}
		}
	}
	walk(f.Stmts, false)
	if !found["api_version"] {
		r.warnf(syntax.MakePosition(&f.Path, 1, 1), "no api_version; assuming api_version = %d (add api_version = %d at the top)", APIVersion, APIVersion)
	}
	return r.h, r.diags
}

type headerReader struct {
	h     Header
	diags []Diagnostic
}

func (r *headerReader) errorf(pos syntax.Position, format string, args ...any) {
	r.diags = append(r.diags, Diagnostic{Pos: pos.String(), Msg: fmt.Sprintf(format, args...)})
}

func (r *headerReader) warnf(pos syntax.Position, format string, args ...any) {
	d := Diagnostic{Pos: pos.String(), Msg: fmt.Sprintf(format, args...), Warning: true}
	r.diags = append(r.diags, d)
	r.h.Warnings = append(r.h.Warnings, d)
}

// assign reads one assignment if it is to a header global.
func (r *headerReader) assign(s *syntax.AssignStmt, nested bool, found map[string]bool) {
	var name string
	switch lhs := s.LHS.(type) {
	case *syntax.Ident:
		name = lhs.Name
	case *syntax.IndexExpr:
		if id, ok := lhs.X.(*syntax.Ident); ok && isHeaderName(id.Name) {
			r.errorf(lhs.Lbrack, "%s is read from its dict literal without running the script: write this entry in the literal", id.Name)
		}
		return
	default:
		return
	}
	if !isHeaderName(name) {
		return
	}
	pos := s.OpPos
	if id, ok := s.LHS.(*syntax.Ident); ok {
		pos = id.NamePos
	}
	if nested || s.Op != syntax.EQ {
		r.errorf(pos, "%s is read without running the script: assign it once, at the top level, outside if, for and while", name)
		return
	}
	if found[name] {
		return // the resolver reports the second assignment
	}
	found[name] = true
	switch name {
	case "api_version":
		r.apiVersion(s.RHS)
	case "metadata":
		r.metadata(s.RHS)
	case "requires":
		r.requires(s.RHS)
	}
}

func isHeaderName(name string) bool {
	return name == "api_version" || name == "metadata" || name == "requires"
}

// apiVersion reads api_version = <int literal>.
func (r *headerReader) apiVersion(e syntax.Expr) {
	start, _ := e.Span()
	lit, ok := e.(*syntax.Literal)
	if !ok || lit.Token != syntax.INT {
		r.errorf(start, "api_version must be a whole number written as is, such as api_version = %d", APIVersion)
		return
	}
	var v int64
	switch n := lit.Value.(type) {
	case int64:
		v = n
	case *big.Int:
		r.errorf(start, "api_version %s is not supported: this pio supports api_version %d", n, APIVersion)
		return
	}
	if v != APIVersion {
		r.errorf(start, "api_version %d is not supported: this pio supports api_version %d%s", v, APIVersion, newerHint(v))
		return
	}
	r.h.APIVersion = int(v)
}

// newerHint says what a version above the supported one means.
func newerHint(v int64) string {
	if v > APIVersion {
		return " (the script was written for a newer pio: update pio, or ask its author for a version for api_version 1)"
	}
	return ""
}

// metadata reads metadata = {"name": "...", ...}.
func (r *headerReader) metadata(e syntax.Expr) {
	d, ok := e.(*syntax.DictExpr)
	if !ok {
		start, _ := e.Span()
		r.errorf(start, `metadata must be a dict literal of strings, such as {"name": "ph_reading", "version": "1.0.0"}: pio reads it without running the script`)
		return
	}
	seen := map[string]bool{}
	for _, item := range d.List {
		entry := item.(*syntax.DictEntry)
		key, ok := stringLit(entry.Key)
		kpos, _ := entry.Key.Span()
		if !ok {
			r.errorf(kpos, "metadata: a key must be a string literal, one of %s", quoteAll(metadataKeys))
			continue
		}
		if !contains(metadataKeys, key) {
			r.errorf(kpos, "metadata: unknown key %q (metadata has %s)", key, quoteAll(metadataKeys))
			continue
		}
		if seen[key] {
			r.errorf(kpos, "metadata: %q is given twice", key)
			continue
		}
		seen[key] = true
		val, ok := stringLit(entry.Value)
		if !ok {
			vpos, _ := entry.Value.Span()
			r.errorf(vpos, "metadata[%q]: want a string literal, got %s", key, exprKind(entry.Value))
			continue
		}
		m := &r.h.Metadata
		*map[string]*string{"name": &m.Name, "version": &m.Version, "author": &m.Author,
			"description": &m.Description, "license": &m.License, "url": &m.URL}[key] = val
	}
}

// requires reads requires = {"pumps": [...], "serial": [...], ...}.
func (r *headerReader) requires(e syntax.Expr) {
	d, ok := e.(*syntax.DictExpr)
	if !ok {
		start, _ := e.Span()
		r.errorf(start, `requires must be a dict literal, such as {"pumps": ["acid"], "serial": ["/dev/ttyUSB0"]}: pio reads it without running the script`)
		return
	}
	seen := map[string]bool{}
	for _, item := range d.List {
		entry := item.(*syntax.DictEntry)
		key, ok := stringLit(entry.Key)
		kpos, _ := entry.Key.Span()
		if !ok || !contains(requiresKeys, key) {
			shown := key
			if !ok {
				shown = exprKind(entry.Key)
			} else {
				shown = strconv.Quote(key)
			}
			r.errorf(kpos, "requires: unknown key %s (requires has %s)", shown, quoteAll(requiresKeys))
			continue
		}
		if seen[key] {
			r.errorf(kpos, "requires: %q is given twice", key)
			continue
		}
		seen[key] = true
		var elems []syntax.Expr
		switch l := entry.Value.(type) {
		case *syntax.ListExpr:
			elems = l.List
		case *syntax.TupleExpr:
			elems = l.List
		default:
			vpos, _ := entry.Value.Span()
			r.errorf(vpos, "requires[%q]: want a list literal, got %s", key, exprKind(entry.Value))
			continue
		}
		for _, el := range elems {
			r.requirement(key, el)
		}
	}
}

// requirement reads one entry of a requires list.
func (r *headerReader) requirement(kind string, e syntax.Expr) {
	pos, _ := e.Span()
	req := &r.h.Requires
	switch kind {
	case "pumps":
		s, ok := stringLit(e)
		if !ok || s == "" || strings.ContainsAny(s, " \t=") {
			r.errorf(pos, `requires["pumps"]: want a device name as [PWM] wires it, such as "acid", got %s`, exprText(e))
			return
		}
		req.Pumps = append(req.Pumps, s)
		req.needs = append(req.needs, need{kind, s, pos})
	case "pwm", "gpio":
		n, ok := intLiteral(e)
		lo, hi := 1, scripthw.MaxPWMChannel
		if kind == "gpio" {
			lo, hi = 0, scripthw.MaxGPIOPin
		}
		if !ok || n < lo || n > hi {
			r.errorf(pos, "requires[%q]: want a whole number from %d to %d, got %s", kind, lo, hi, exprText(e))
			return
		}
		if kind == "pwm" {
			req.PWM = append(req.PWM, n)
		} else {
			req.GPIO = append(req.GPIO, n)
		}
		req.needs = append(req.needs, need{kind, strconv.Itoa(n), pos})
	case "i2c":
		text, ok := stringLit(e)
		if n, isInt := intLiteral(e); isInt {
			text, ok = fmt.Sprintf("0x%02X", n), true
		}
		addrs, err := scripthw.ParseI2C(text)
		if !ok || err != nil || len(addrs) != 1 {
			why := "want an address such as \"0x10\" (bus 1) or \"3:0x10\""
			if err != nil && ok {
				why = err.Error()
			}
			r.errorf(pos, "requires[\"i2c\"]: %s, got %s", why, exprText(e))
			return
		}
		for a := range addrs {
			text = a.String()
		}
		req.I2C = append(req.I2C, text)
		req.needs = append(req.needs, need{kind, text, pos})
	case "serial":
		s, ok := stringLit(e)
		if _, err := scripthw.ParseSerial(s); !ok || s == "" || strings.Contains(s, ",") || err != nil {
			r.errorf(pos, "requires[\"serial\"]: want a port under /dev/, such as \"/dev/ttyUSB0\", got %s", exprText(e))
			return
		}
		req.Serial = append(req.Serial, s)
		req.needs = append(req.needs, need{kind, s, pos})
	}
}

// Missing checks requires against a unit's configuration (nil: pio's
// defaults): each pump must be wired in [PWM], each device granted by
// [scripts.hardware]. Each missing one is an error at its entry that names
// the config line that would provide it.
func (q Requires) Missing(cfg *config.Config) []Diagnostic {
	if len(q.needs) == 0 {
		return nil
	}
	if cfg == nil {
		cfg = config.New()
	}
	var out []Diagnostic
	add := func(n need, format string, args ...any) {
		out = append(out, Diagnostic{Pos: n.pos.String(), Msg: fmt.Sprintf(format, args...)})
	}
	wired := map[string]int{}
	if o, err := cfg.Options(); err == nil {
		for ch, dev := range o.PWM {
			wired[dev] = ch
		}
	}
	grants, gerr := scripthw.ReadGrants(cfg)
	for _, n := range q.needs {
		if n.kind == "pumps" {
			if _, ok := wired[n.value]; !ok {
				add(n, "requires pump %q, and no [PWM] channel is wired to it: add <channel>=%s to [PWM] in config.ini (a free channel from 6 to 9)", n.value, n.value)
			}
			continue
		}
		if gerr != nil {
			add(n, "requires %s %s, and [%s] cannot be read: %v", n.kind, n.value, scripthw.Section, gerr)
			continue
		}
		list := grants.Entries(n.kind)
		granted := slices.Contains(list, n.value)
		if !granted {
			line := n.kind + "=" + strings.Join(append(list, n.value), ",")
			add(n, "requires %s %s, which [%s] does not grant: set %s under [%s] in config.ini", n.kind, n.value, scripthw.Section, line, scripthw.Section)
		}
	}
	return out
}

// CheckRequires is what a start does with the requires of the script at
// path (source src): an error of one line per pump or device that cfg
// lacks (Missing), or nil. A script that does not parse has no requires
// to check: its load says why.
func CheckRequires(path string, src []byte, cfg *config.Config) error {
	h, _ := ReadHeader(path, src)
	var missing []error
	for _, d := range h.Requires.Missing(cfg) {
		missing = append(missing, errors.New(d.String()))
	}
	return errors.Join(missing...)
}

// stringLit is the value of a string literal.
func stringLit(e syntax.Expr) (string, bool) {
	lit, ok := e.(*syntax.Literal)
	if !ok || lit.Token != syntax.STRING {
		return "", false
	}
	return lit.Value.(string), true
}

// intLiteral is the value of a small int literal.
func intLiteral(e syntax.Expr) (int, bool) {
	lit, ok := e.(*syntax.Literal)
	if !ok || lit.Token != syntax.INT {
		return 0, false
	}
	n, ok := lit.Value.(int64)
	if !ok || n > 1<<30 {
		return 0, false
	}
	return int(n), true
}

// exprKind names the kind of an expression, for "want X, got Y".
func exprKind(e syntax.Expr) string {
	switch x := e.(type) {
	case *syntax.Literal:
		switch x.Token {
		case syntax.STRING, syntax.BYTES:
			return "a string"
		case syntax.INT:
			return "a number (" + x.Raw + ")"
		case syntax.FLOAT:
			return "a number (" + x.Raw + ")"
		}
	case *syntax.Ident:
		return "the name " + x.Name + " (a value pio would have to run the script to know)"
	case *syntax.DictExpr:
		return "a dict"
	case *syntax.ListExpr:
		return "a list"
	case *syntax.TupleExpr:
		return "a tuple"
	case *syntax.CallExpr:
		return "a call (a value pio would have to run the script to know)"
	}
	return "an expression (a value pio would have to run the script to know)"
}

// exprText shows a literal as written, else its kind.
func exprText(e syntax.Expr) string {
	if lit, ok := e.(*syntax.Literal); ok {
		return lit.Raw
	}
	return exprKind(e)
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
