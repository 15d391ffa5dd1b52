package scripttest

import (
	"errors"
	"testing"

	"go.starlark.net/starlark"
)

// TestAssert runs each assertion on one line of Starlark: the message of a
// failure shows both values and the test's own message, at the line's
// position (1:N is where the call starts); a misuse is an error, not a
// failure.
func TestAssert(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		failure   bool // an assertion that did not hold (else an error)
	}{
		{`assert.eq(1 + 1, 2)`, "", false},
		{`assert.eq("a", "b")`, `x.star:1:10: assert.eq: "a" != "b"`, true},
		{`assert.eq([1], [2], "lists")`, `x.star:1:10: assert.eq: [1] != [2]: lists`, true},
		{`assert.eq(0.1 + 0.2, 0.3)`, `x.star:1:10: assert.eq: 0.30000000000000004 != 0.3 (for numbers that are computed, assert.near(a, b, tol) allows for rounding)`, true},
		{`assert.eq(1, 1.0)`, "", false},
		{`assert.ne(1, 2)`, "", false},
		{`assert.ne(2, 2, msg = "twice")`, `x.star:1:10: assert.ne: both are 2: twice`, true},
		{`assert.true([1])`, "", false},
		{`assert.true(None, 7)`, `x.star:1:12: assert.true: got None: 7`, true},
		{`assert.false("")`, "", false},
		{`assert.false(3 > 2)`, `x.star:1:13: assert.false: got True`, true},
		{`assert.lt(1, 2)`, "", false},
		{`assert.lt(2, 2)`, `x.star:1:10: assert.lt: 2 is not less than 2`, true},
		{`assert.le(2, 2)`, "", false},
		{`assert.le(3.5, 2)`, `x.star:1:10: assert.le: 3.5 is not less than or equal to 2`, true},
		{`assert.gt(1, 2, "growth")`, `x.star:1:10: assert.gt: 1 is not greater than 2: growth`, true},
		{`assert.ge(1, 2)`, `x.star:1:10: assert.ge: 1 is not greater than or equal to 2`, true},
		{`assert.lt(1, "a")`, `x.star:1:10: assert.lt: int < string not implemented`, false},
		{`assert.near(1.0, 1.05, 0.1)`, "", false},
		{`assert.near(1, 1.5, 0.1, "od")`, `x.star:1:12: assert.near: 1 and 1.5 differ by 0.5, more than 0.1: od`, true},
		{`assert.near(1, "1", 0.1)`, `x.star:1:12: assert.near: want two numbers, got int and string`, false},
		{`assert.near(1, 1, -1)`, `x.star:1:12: assert.near: tol -1: want a number of at least 0`, false},
		{`assert.near(float("nan"), 1, 1)`, `x.star:1:12: assert.near: nan and 1 differ by nan, more than 1`, true},
		{`assert.contains([1, 2], 2)`, "", false},
		{`assert.contains({"a": 1}, "a")`, "", false},
		{`assert.contains("pump", "um")`, "", false},
		{`assert.contains([1, 2], 3)`, `x.star:1:16: assert.contains: [1, 2] does not contain 3`, true},
		{`assert.contains(1, 3)`, `x.star:1:16: assert.contains: unknown binary op: int in int`, false},
		{`assert.fails(lambda: fail("pump stalled"), "stalled")`, "", false},
		{`assert.fails(lambda: fail("pump 3 stalled"), "pump \\d stalled")`, "", false},
		{`assert.fails(lambda: fail("pump (3)"), "pump (3)")`, "", false},
		{`assert.fails(lambda: fail("pump stalled"), "overflow")`, `x.star:1:13: assert.fails: the error "fail: pump stalled" does not match "overflow"`, true},
		{`assert.fails(len, "want 1")`, "", false},
		{`assert.fails(1, "x")`, `x.star:1:13: assert.fails: for parameter fn: got int, want callable`, false},
		{`assert.eq(assert.fails(lambda: 1 // 0, "zero"), "floored division by zero")`, "", false},
	} {
		th := &starlark.Thread{Name: "x"}
		_, err := starlark.ExecFile(th, "x.star", tc.src, starlark.StringDict{"assert": Assert})
		got := ""
		if err != nil {
			got = placed(err, th, 0, "").Error()
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.src, got, tc.want)
		}
		if err != nil && isFailure(err) != tc.failure {
			t.Errorf("%s: failure %v, want %v", tc.src, isFailure(err), tc.failure)
		}
	}
}

func isFailure(err error) bool {
	var f *Failure
	return errors.As(err, &f)
}
