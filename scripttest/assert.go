package scripttest

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// Failure is an assertion that did not hold, at the line of Starlark that
// called it.
type Failure struct {
	Pos syntax.Position
	Msg string // "assert.eq: 3 != 4: doses after 2 h"
}

func (f *Failure) Error() string { return f.Pos.String() + ": " + f.Msg }

// Assert is the assert module of test files. Each function fails the test
// with a message that shows the values it compared and, if given, msg:
//
//	assert.eq(a, b, msg=None)        a == b
//	assert.ne(a, b, msg=None)        a != b
//	assert.true(x, msg=None)         x is true (as if tested by if)
//	assert.false(x, msg=None)        x is false
//	assert.lt(a, b, msg=None)        a < b; also le, gt, ge
//	assert.near(a, b, tol, msg=None) |a - b| <= tol, for numbers
//	assert.contains(c, x, msg=None)  x in c (a list, tuple, dict, string)
//	assert.fails(fn, pattern)        fn() fails with an error that contains
//	                                 pattern or matches it as a regular
//	                                 expression; returns the error message
var Assert = &starlarkstruct.Module{
	Name: "assert",
	Members: starlark.StringDict{
		"eq":       starlark.NewBuiltin("assert.eq", assertEq),
		"ne":       starlark.NewBuiltin("assert.ne", assertNe),
		"true":     starlark.NewBuiltin("assert.true", assertTrue),
		"false":    starlark.NewBuiltin("assert.false", assertFalse),
		"lt":       compare("assert.lt", syntax.LT, "less than"),
		"le":       compare("assert.le", syntax.LE, "less than or equal to"),
		"gt":       compare("assert.gt", syntax.GT, "greater than"),
		"ge":       compare("assert.ge", syntax.GE, "greater than or equal to"),
		"near":     starlark.NewBuiltin("assert.near", assertNear),
		"contains": starlark.NewBuiltin("assert.contains", assertContains),
		"fails":    starlark.NewBuiltin("assert.fails", assertFails),
	},
}

// failure is a failed assertion of b, at the line that called b, with the
// test's own message last.
func failure(th *starlark.Thread, b *starlark.Builtin, msg starlark.Value, format string, args ...any) error {
	text := b.Name() + ": " + fmt.Sprintf(format, args...)
	if s, ok := msg.(starlark.String); ok {
		text += ": " + string(s)
	} else if msg != nil && msg != starlark.None {
		text += ": " + msg.String()
	}
	return &Failure{Pos: th.CallFrame(1).Pos, Msg: text}
}

func assertEq(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y, msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(x, y)
	if err != nil {
		return nil, err
	}
	if !eq {
		hint := ""
		if isFloat(x) || isFloat(y) {
			hint = " (for numbers that are computed, assert.near(a, b, tol) allows for rounding)"
		}
		return nil, failure(th, b, msg, "%s != %s%s", x, y, hint)
	}
	return starlark.None, nil
}

func isFloat(v starlark.Value) bool { _, ok := v.(starlark.Float); return ok }

func assertNe(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y, msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(x, y)
	if err != nil {
		return nil, err
	}
	if eq {
		return nil, failure(th, b, msg, "both are %s", x)
	}
	return starlark.None, nil
}

func assertTrue(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x, "msg?", &msg); err != nil {
		return nil, err
	}
	if !x.Truth() {
		return nil, failure(th, b, msg, "got %s", x)
	}
	return starlark.None, nil
}

func assertFalse(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x, "msg?", &msg); err != nil {
		return nil, err
	}
	if x.Truth() {
		return nil, failure(th, b, msg, "got %s", x)
	}
	return starlark.None, nil
}

// compare is assert.lt, le, gt or ge.
func compare(name string, op syntax.Token, words string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, y, msg starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "msg?", &msg); err != nil {
			return nil, err
		}
		ok, err := starlark.Compare(op, x, y)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		if !ok {
			return nil, failure(th, b, msg, "%s is not %s %s", x, words, y)
		}
		return starlark.None, nil
	})
}

func assertNear(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y, tol starlark.Value
	var msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "tol", &tol, "msg?", &msg); err != nil {
		return nil, err
	}
	fx, okx := starlark.AsFloat(x)
	fy, oky := starlark.AsFloat(y)
	ft, okt := starlark.AsFloat(tol)
	switch {
	case !okx || !oky:
		return nil, fmt.Errorf("%s: want two numbers, got %s and %s", b.Name(), x.Type(), y.Type())
	case !okt || ft < 0 || math.IsNaN(ft):
		return nil, fmt.Errorf("%s: tol %s: want a number of at least 0", b.Name(), tol)
	}
	if d := math.Abs(fx - fy); !(d <= ft) {
		return nil, failure(th, b, msg, "%s and %s differ by %s, more than %s", x, y, starlark.Float(d), tol)
	}
	return starlark.None, nil
}

func assertContains(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var c, x, msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "container", &c, "x", &x, "msg?", &msg); err != nil {
		return nil, err
	}
	in, err := starlark.Binary(syntax.IN, x, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	if !in.Truth() {
		return nil, failure(th, b, msg, "%s does not contain %s", c, x)
	}
	return starlark.None, nil
}

func assertFails(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var pattern string
	var msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "pattern", &pattern, "msg?", &msg); err != nil {
		return nil, err
	}
	_, err := starlark.Call(th, fn, nil, nil)
	if err == nil {
		return nil, failure(th, b, msg, "%s did not fail (want an error matching %q)", fn.Name(), pattern)
	}
	text := err.Error()
	if ee, ok := err.(*starlark.EvalError); ok {
		text = ee.Msg
	}
	if !matches(text, pattern) {
		return nil, failure(th, b, msg, "the error %q does not match %q", text, pattern)
	}
	return starlark.String(text), nil
}

// matches reports whether text contains pattern, or matches it as a regular
// expression.
func matches(text, pattern string) bool {
	if strings.Contains(text, pattern) {
		return true
	}
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(text)
}
