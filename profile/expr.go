package profile

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Expr is a parsed expression: the inside of ${{ ... }}, an `if`, a
// repeat's `while` or a when's `wait_until`.
type Expr struct {
	Src  string
	root node
}

// Lookup is an MQTT lookup in an expression: unit:job:setting[.key...].
// Unit is empty for ::job:setting (the current unit) and "unit()" or Job
// "job_name()" when written so.
type Lookup struct {
	Unit, Job, Setting string
	Keys               []string
}

func (l Lookup) String() string {
	s := l.Unit + ":" + l.Job + ":" + l.Setting
	for _, k := range l.Keys {
		s += "." + k
	}
	return s
}

// Env is what an expression reads when it is evaluated.
type Env struct {
	Unit, Job, Experiment string
	HoursElapsed          float64
	Inputs                map[string]any
	Random                func() float64
	// Read returns the retained value of unit's job's setting.
	Read func(unit, job, setting string) (string, bool)
}

// Lookups lists the MQTT lookups of e, in order.
func (e *Expr) Lookups() []Lookup {
	var out []Lookup
	walk(e.root, func(n node) {
		if l, ok := n.(lookupNode); ok {
			out = append(out, Lookup(l))
		}
	})
	return out
}

// Eval evaluates e: a float64, a bool or a string.
func (e *Expr) Eval(env *Env) (any, error) { return e.root.eval(env) }

// EvalBool evaluates e and takes its truth: false, 0 and "" are false.
func (e *Expr) EvalBool(env *Env) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	return truthy(v), nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v != ""
	}
	return false
}

// FormatValue writes v as a job would read it: numbers without a trailing
// ".0", booleans as true/false.
func FormatValue(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// ParseExpr parses src, the inside of ${{ }} (the braces may be included).
func ParseExpr(src string) (*Expr, error) {
	inner := src
	if t := strings.TrimSpace(src); strings.HasPrefix(t, "${{") && strings.HasSuffix(t, "}}") {
		inner = t[3 : len(t)-2]
	}
	toks, err := lex(inner)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if len(toks) == 1 { // only the end token
		return nil, fmt.Errorf("empty expression")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEnd {
		return nil, fmt.Errorf("unexpected %s at column %d", t, t.pos+1)
	}
	return &Expr{Src: strings.TrimSpace(inner), root: n}, nil
}

// --- lexer

type tokKind int

const (
	tEnd tokKind = iota
	tNum
	tStr
	tName
	tFunc
	tLookup
	tOp
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	if t.kind == tEnd {
		return "end of expression"
	}
	return strconv.Quote(t.text)
}

var (
	lookupRe = regexp.MustCompile(`^(?:(?:unit\(\)|[A-Za-z_$][A-Za-z0-9_$-]*):|::)(job_name\(\)|[A-Za-z_$][A-Za-z0-9_]*):[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z0-9_$]+)*`)
	nameRe   = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_]*`)
	numRe    = regexp.MustCompile(`^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?`)
	ops      = []string{"**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "<", ">", "(", ")"}
)

var functions = map[string]bool{"random": true, "unit": true, "hours_elapsed": true, "experiment": true, "job_name": true}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
outer:
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		rest := s[i:]
		if m := lookupRe.FindString(rest); m != "" {
			toks = append(toks, token{tLookup, m, i})
			i += len(m)
			continue
		}
		if m := nameRe.FindString(rest); m != "" {
			if strings.HasPrefix(rest[len(m):], "()") {
				if !functions[m] {
					return nil, fmt.Errorf("unknown function %s() at column %d (functions: random(), unit(), hours_elapsed(), experiment(), job_name())", m, i+1)
				}
				toks = append(toks, token{tFunc, m, i})
				i += len(m) + 2
				continue
			}
			toks = append(toks, token{tName, m, i})
			i += len(m)
			continue
		}
		if m := numRe.FindString(rest); m != "" {
			toks = append(toks, token{tNum, m, i})
			i += len(m)
			continue
		}
		if c == '"' || c == '\'' {
			j := strings.IndexByte(rest[1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at column %d", i+1)
			}
			toks = append(toks, token{tStr, rest[1 : j+1], i})
			i += j + 2
			continue
		}
		for _, op := range ops {
			if strings.HasPrefix(rest, op) {
				toks = append(toks, token{tOp, op, i})
				i += len(op)
				continue outer
			}
		}
		return nil, fmt.Errorf("unexpected character %q at column %d", rune(c), i+1)
	}
	return append(toks, token{tEnd, "", len(s)}), nil
}

// --- parser: or < and < not < comparison < + - < * / < unary - < ** < primary

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEnd {
		p.i++
	}
	return t
}
func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == op
}
func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tName && t.text == w
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	for err == nil && p.isWord("or") {
		p.next()
		var r node
		if r, err = p.and(); err == nil {
			l = binNode{"or", l, r}
		}
	}
	return l, err
}

func (p *parser) and() (node, error) {
	l, err := p.not()
	for err == nil && p.isWord("and") {
		p.next()
		var r node
		if r, err = p.not(); err == nil {
			l = binNode{"and", l, r}
		}
	}
	return l, err
}

func (p *parser) not() (node, error) {
	if p.isWord("not") {
		p.next()
		x, err := p.not()
		return unNode{"not", x}, err
	}
	return p.cmp()
}

func (p *parser) cmp() (node, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if p.isOp(op) {
			p.next()
			r, err := p.add()
			if err != nil {
				return nil, err
			}
			if t := p.peek(); t.kind == tOp && strings.ContainsAny(t.text, "<>=!") {
				return nil, fmt.Errorf("comparisons do not chain: %s at column %d", t, t.pos+1)
			}
			return binNode{op, l, r}, nil
		}
	}
	return l, nil
}

func (p *parser) add() (node, error) {
	l, err := p.mul()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		op := p.next().text
		var r node
		if r, err = p.mul(); err == nil {
			l = binNode{op, l, r}
		}
	}
	return l, err
}

func (p *parser) mul() (node, error) {
	l, err := p.unary()
	for err == nil && (p.isOp("*") || p.isOp("/")) {
		op := p.next().text
		var r node
		if r, err = p.unary(); err == nil {
			l = binNode{op, l, r}
		}
	}
	return l, err
}

func (p *parser) unary() (node, error) {
	if p.isOp("-") || p.isOp("+") {
		op := p.next().text
		x, err := p.unary()
		return unNode{op, x}, err
	}
	return p.pow()
}

func (p *parser) pow() (node, error) {
	l, err := p.primary()
	if err != nil || !p.isOp("**") {
		return l, err
	}
	p.next()
	r, err := p.unary() // right associative, binds a unary minus on its right
	return binNode{"**", l, r}, err
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case tNum:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %s at column %d", t, t.pos+1)
		}
		return litNode{f}, nil
	case tStr:
		return litNode{t.text}, nil
	case tFunc:
		return funcNode(t.text), nil
	case tLookup:
		return parseLookup(t.text), nil
	case tName:
		switch t.text {
		case "and", "or", "not":
			return nil, fmt.Errorf("expected a value, got %s at column %d", t, t.pos+1)
		case "true", "True", "TRUE":
			return litNode{true}, nil
		case "false", "False", "FALSE":
			return litNode{false}, nil
		}
		return nameNode(t.text), nil
	case tOp:
		if t.text == "(" {
			x, err := p.or()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, fmt.Errorf("expected \")\", got %s at column %d", p.peek(), p.peek().pos+1)
			}
			p.next()
			return x, nil
		}
	}
	return nil, fmt.Errorf("expected a value, got %s at column %d", t, t.pos+1)
}

func parseLookup(s string) lookupNode {
	if strings.HasPrefix(s, "::") {
		s = s[1:] // the current unit: an empty unit before the first ':'
	}
	parts := strings.SplitN(s, ":", 3)
	keys := strings.Split(parts[2], ".")
	return lookupNode{Unit: parts[0], Job: parts[1], Setting: keys[0], Keys: keys[1:]}
}

// --- nodes

type node interface {
	eval(*Env) (any, error)
}

type (
	litNode    struct{ v any }
	nameNode   string
	funcNode   string
	lookupNode Lookup
	unNode     struct {
		op string
		x  node
	}
	binNode struct {
		op   string
		l, r node
	}
)

func walk(n node, fn func(node)) {
	fn(n)
	switch n := n.(type) {
	case unNode:
		walk(n.x, fn)
	case binNode:
		walk(n.l, fn)
		walk(n.r, fn)
	}
}

func (n litNode) eval(*Env) (any, error) { return n.v, nil }

// A bare name is an input's value, or else the word itself (upstream's
// way of writing `::stirring:$state == ready`).
func (n nameNode) eval(env *Env) (any, error) {
	if v, ok := env.Inputs[string(n)]; ok {
		return v, nil
	}
	return string(n), nil
}

func (n funcNode) eval(env *Env) (any, error) {
	switch n {
	case "random":
		if env.Random == nil {
			return 0.5, nil
		}
		return env.Random(), nil
	case "unit":
		return env.Unit, nil
	case "hours_elapsed":
		return env.HoursElapsed, nil
	case "experiment":
		return env.Experiment, nil
	case "job_name":
		return env.Job, nil
	}
	return nil, fmt.Errorf("unknown function %s()", string(n))
}

func (n lookupNode) eval(env *Env) (any, error) {
	unit, job := n.Unit, n.Job
	if unit == "" || unit == "unit()" {
		unit = env.Unit
	}
	if job == "job_name()" {
		job = env.Job
	}
	if unit == "" {
		return nil, fmt.Errorf("%s: no current unit here (write unit:job:setting)", Lookup(n))
	}
	if env.Read == nil {
		return nil, fmt.Errorf("%s: no value (nothing to read from)", Lookup(n))
	}
	raw, ok := env.Read(unit, job, n.Setting)
	if !ok {
		return nil, fmt.Errorf("%s:%s:%s has no published value in experiment %q", unit, job, n.Setting, env.Experiment)
	}
	if len(n.Keys) == 0 {
		var v any
		if json.Unmarshal([]byte(raw), &v) == nil {
			if _, isObj := v.(map[string]any); !isObj {
				if _, isArr := v.([]any); !isArr {
					return convert(v), nil
				}
			}
		}
		return convert(raw), nil
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("%s:%s:%s is not a JSON object, cannot read .%s", unit, job, n.Setting, strings.Join(n.Keys, "."))
	}
	for _, k := range n.Keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s:%s:%s: no key %q", unit, job, n.Setting, k)
		}
		if v, ok = m[k]; !ok {
			return nil, fmt.Errorf("%s:%s:%s: no key %q", unit, job, n.Setting, k)
		}
	}
	return convert(v), nil
}

// convert turns a published value into a number, a bool or a string, as
// upstream's convert_string does.
func convert(v any) any {
	switch v := v.(type) {
	case float64, bool:
		return v
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f
		}
		switch strings.ToLower(v) {
		case "true":
			return true
		case "false":
			return false
		}
		return v
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (n unNode) eval(env *Env) (any, error) {
	x, err := n.x.eval(env)
	if err != nil {
		return nil, err
	}
	if n.op == "not" {
		return !truthy(x), nil
	}
	f, ok := x.(float64)
	if !ok {
		return nil, fmt.Errorf("%s%s: %s is not a number", n.op, FormatValue(x), quoteValue(x))
	}
	if n.op == "-" {
		return -f, nil
	}
	return f, nil
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return FormatValue(v)
}

func (n binNode) eval(env *Env) (any, error) {
	l, err := n.l.eval(env)
	if err != nil {
		return nil, err
	}
	switch n.op { // short circuit, returning the operand as Python does
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return n.r.eval(env)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return n.r.eval(env)
	}
	r, err := n.r.eval(env)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "==":
		return l == r, nil
	case "!=":
		return l != r, nil
	}
	lf, lok := l.(float64)
	rf, rok := r.(float64)
	if !lok || !rok {
		ls, lsok := l.(string)
		rs, rsok := r.(string)
		if lsok && rsok {
			switch n.op {
			case "+":
				return ls + rs, nil
			case "<":
				return ls < rs, nil
			case "<=":
				return ls <= rs, nil
			case ">":
				return ls > rs, nil
			case ">=":
				return ls >= rs, nil
			}
		}
		return nil, fmt.Errorf("%s %s %s: both sides must be numbers", quoteValue(l), n.op, quoteValue(r))
	}
	switch n.op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, fmt.Errorf("%s / 0: division by zero", FormatValue(lf))
		}
		return lf / rf, nil
	case "**":
		v := math.Pow(lf, rf)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s ** %s is not a number", FormatValue(lf), FormatValue(rf))
		}
		return v, nil
	case "<":
		return lf < rf, nil
	case "<=":
		return lf <= rf, nil
	case ">":
		return lf > rf, nil
	case ">=":
		return lf >= rf, nil
	}
	return nil, fmt.Errorf("unknown operator %s", n.op)
}
