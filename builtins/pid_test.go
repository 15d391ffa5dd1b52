package builtins

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// execPID runs src with pid predeclared and returns its (frozen) globals.
func execPID(t *testing.T, src string) (starlark.StringDict, error) {
	t.Helper()
	th := &starlark.Thread{Name: "test"}
	return starlark.ExecFile(th, "pid_test.star", src, starlark.StringDict{"pid": PID()})
}

func TestPIDBuiltinAfterFreeze(t *testing.T) {
	g, err := execPID(t, `
p = pid(2.6, 0, 4.6, 35, output_limits=(-25, 25))
morbidostat = pid(kp=-5, ki=0, kd=0, setpoint=0.09, output_limits=(0, 1))
windup = pid(0, 1, 0, 10, output_limits=(0, 1))

def execute():
    out = [p.update(30), p.update(31, dt=1.0)]
    out.append(morbidostat.update(0.08))
    out.append(morbidostat.update(0.2))
    out.append(windup.update(0))
    out.append(windup.update(20))
    return out

def retarget():
    p.set_setpoint(40)
    p.reset()
    return [p.setpoint, p.update(31)]
`)
	if err != nil {
		t.Fatal(err)
	}
	th := &starlark.Thread{Name: "execute"}
	v, err := starlark.Call(th, g["execute"], nil, nil)
	if err != nil {
		t.Fatalf("execute() after the globals were frozen: %v", err)
	}
	want := "[13.0, 5.800000000000001, 0.0, 0.55, 1.0, 0.0]"
	if v.String() != want {
		t.Errorf("execute() = %s; want %s", v, want)
	}
	// After reset the error sum is 0 and the last input (31) stays:
	// proportional 2.6·9 = 23.4, derivative 0.
	v, err = starlark.Call(th, g["retarget"], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[40.0, 23.400000000000002]"; v.String() != want {
		t.Errorf("retarget() = %s; want %s", v, want)
	}
	if s := g["p"].String(); !strings.HasPrefix(s, "pid(kp=2.6, ki=0.0, kd=4.6, setpoint=40.0, output_limits=(-25.0, 25.0)") {
		t.Errorf("str(p) = %s", s)
	}
	if g["p"].Type() != "pid" {
		t.Errorf("type(p) = %s; want pid", g["p"].Type())
	}
}

func TestPIDBuiltinUnbounded(t *testing.T) {
	g, err := execPID(t, `
p = pid(0, 1, 0, 10)
q = pid(1, 0, 0, 0, output_limits=(None, 0.5))
r = [p.update(0), p.update(0), q.update(-3), q.update(3)]
`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[10.0, 20.0, 0.5, -3.0]"; g["r"].String() != want {
		t.Errorf("r = %s; want %s", g["r"], want)
	}
}

func TestPIDBuiltinErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`pid(1, 0, 0, 1, output_limits=(2, 1))`, "pid: output_limits: lo 2 is above hi 1"},
		{`pid(1, 0, 0, 1, output_limits=(0, 1, 2))`, "pid: output_limits: want a pair (lo, hi), got tuple (0, 1, 2)"},
		{`pid(1, 0, 0, 1, output_limits="ab")`, "pid: output_limits: want a pair (lo, hi), got string"},
		{`pid(1, 0, 0, 1, output_limits=(0, "x"))`, `pid: output_limits: hi: want a number, got string "x"`},
		{`pid("1", 0, 0, 1)`, `pid: kp: want a number, got string "1"`},
		{`pid(1, 0, 0, float("nan"))`, "pid: setpoint: want a finite number, got NaN"},
		{`pid(1, 0, 0, 1, derivative_smoothing=1.5)`, "pid: derivative_smoothing 1.5 is outside [0, 1]"},
		{`pid(1, 0, 0)`, `pid: missing argument for setpoint`},
		{`pid(1, 0, 0, 1, kq=2)`, `pid: unexpected keyword argument "kq"`},
		{`pid(1, 0, 0, 1).update("x")`, `pid.update: input: want a number, got string "x"`},
		{`pid(1, 0, 0, 1).update(1, dt=0)`, "pid.update: dt 0 is not above 0"},
		{`pid(1, 0, 0, 1).update(1, dt=-1)`, "pid.update: dt -1 is not above 0"},
		{`pid(1, 0, 0, 1).set_setpoint(None)`, "pid.set_setpoint: want a number, got NoneType None"},
		{`pid(1, 0, 0, 1).reset(1)`, "pid.reset: got 1 arguments, want 0"},
		{`pid(1, 0, 0, 1).integral`, "pid has no .integral field or method"},
		{`{pid(1, 0, 0, 1): 1}`, "unhashable type: pid"},
	} {
		_, err := execPID(t, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; want one containing %q", tc.src, err, tc.want)
		}
	}
}
