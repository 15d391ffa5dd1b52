package builtins

import (
	"fmt"
	"math"
	"sync"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/control"
)

// PID returns the pid builtin:
//
//	pid(kp, ki, kd, setpoint, output_limits=(lo, hi), derivative_smoothing=0.0) -> pid
//
// It makes upstream's PID controller (package control): error = setpoint −
// input, an error sum clamped to the output limits (the anti-windup), a
// derivative on the measurement (0 on the first update), smoothed by
// derivative_smoothing (0 to 1), and an output clamped to the limits. lo or hi
// may be None (unbounded on that side; the default is (None, None)). The
// value has:
//
//	p.update(input, dt=1.0) -> float   # feed one measurement; dt > 0
//	p.set_setpoint(v)                   # change the setpoint only
//	p.reset()                           # clear the error sum and derivative (the last input stays)
//	p.setpoint                          # the current setpoint, a float
//
// A pid is meant to be made once, at the top level of a script, and updated
// from execute() or a handler. Starlark freezes a module's globals after the
// top level runs; a pid's Freeze is deliberately a no-op on its controller
// state, so a frozen pid still updates. Its state is guarded by a mutex.
func PID() *starlark.Builtin { return starlark.NewBuiltin("pid", newPID) }

// pidValue is the Starlark value of a controller.
type pidValue struct {
	mu  sync.Mutex
	pid *control.PID
	cfg control.PIDConfig
}

var (
	_ starlark.Value    = (*pidValue)(nil)
	_ starlark.HasAttrs = (*pidValue)(nil)
)

func newPID(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var kp, ki, kd, sp starlark.Value
	var limits starlark.Value = starlark.None
	var smoothing starlark.Value = starlark.Float(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "kp", &kp, "ki", &ki, "kd", &kd, "setpoint", &sp,
		"output_limits?", &limits, "derivative_smoothing?", &smoothing); err != nil {
		return nil, err
	}
	var cfg control.PIDConfig
	for _, a := range []struct {
		name string
		v    starlark.Value
		dst  *float64
	}{{"kp", kp, &cfg.Kp}, {"ki", ki, &cfg.Ki}, {"kd", kd, &cfg.Kd}, {"setpoint", sp, &cfg.Setpoint},
		{"derivative_smoothing", smoothing, &cfg.DerivativeSmoothing}} {
		f, err := finite(a.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", b.Name(), a.name, err)
		}
		*a.dst = f
	}
	if s := cfg.DerivativeSmoothing; s < 0 || s > 1 {
		return nil, fmt.Errorf("%s: derivative_smoothing %v is outside [0, 1]", b.Name(), s)
	}
	lo, hi, err := outputLimits(limits)
	if err != nil {
		return nil, fmt.Errorf("%s: output_limits: %v", b.Name(), err)
	}
	cfg.Min, cfg.Max = lo, hi
	cfg.TargetName = "script"
	return &pidValue{pid: control.NewPID(cfg), cfg: cfg}, nil
}

// finite converts an int or float to a finite float64.
func finite(v starlark.Value) (float64, error) {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("want a number, got %s %s", v.Type(), v.String())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a finite number, got %v", f)
	}
	return f, nil
}

// outputLimits reads None or a pair (lo, hi) of numbers or None, lo ≤ hi.
func outputLimits(v starlark.Value) (lo, hi *float64, err error) {
	if v == starlark.None {
		return nil, nil, nil
	}
	seq, ok := v.(starlark.Indexable)
	if _, isString := v.(starlark.String); !ok || isString || seq.Len() != 2 {
		return nil, nil, fmt.Errorf("want a pair (lo, hi), got %s %s", v.Type(), v.String())
	}
	bound := func(name string, x starlark.Value) (*float64, error) {
		if x == starlark.None {
			return nil, nil
		}
		f, err := finite(x)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		return &f, nil
	}
	if lo, err = bound("lo", seq.Index(0)); err != nil {
		return nil, nil, err
	}
	if hi, err = bound("hi", seq.Index(1)); err != nil {
		return nil, nil, err
	}
	if lo != nil && hi != nil && *lo > *hi {
		return nil, nil, fmt.Errorf("lo %v is above hi %v", *lo, *hi)
	}
	return lo, hi, nil
}

func (p *pidValue) String() string {
	bound := func(f *float64) string {
		if f == nil {
			return "None"
		}
		return starlark.Float(*f).String()
	}
	c := p.cfg
	p.mu.Lock()
	sp := p.pid.Setpoint()
	p.mu.Unlock()
	return fmt.Sprintf("pid(kp=%s, ki=%s, kd=%s, setpoint=%s, output_limits=(%s, %s), derivative_smoothing=%s)",
		starlark.Float(c.Kp), starlark.Float(c.Ki), starlark.Float(c.Kd), starlark.Float(sp),
		bound(c.Min), bound(c.Max), starlark.Float(c.DerivativeSmoothing))
}

func (p *pidValue) Type() string { return "pid" }

// Freeze is a no-op: a pid made at a script's top level must keep updating
// after the module's globals are frozen. Its state is guarded by a mutex.
func (p *pidValue) Freeze() {}

func (p *pidValue) Truth() starlark.Bool { return starlark.True }

func (p *pidValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: pid") }

var pidMethods = []string{"reset", "set_setpoint", "update"}

// AttrNames implements starlark.HasAttrs.
func (p *pidValue) AttrNames() []string { return append([]string{"setpoint"}, pidMethods...) }

// Attr implements starlark.HasAttrs.
func (p *pidValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "setpoint":
		p.mu.Lock()
		defer p.mu.Unlock()
		return starlark.Float(p.pid.Setpoint()), nil
	case "update":
		return starlark.NewBuiltin("pid.update", p.update), nil
	case "set_setpoint":
		return starlark.NewBuiltin("pid.set_setpoint", p.setSetpoint), nil
	case "reset":
		return starlark.NewBuiltin("pid.reset", p.reset), nil
	}
	return nil, nil // no such attribute
}

func (p *pidValue) update(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var input starlark.Value
	var dtV starlark.Value = starlark.Float(1)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "input", &input, "dt?", &dtV); err != nil {
		return nil, err
	}
	in, err := finite(input)
	if err != nil {
		return nil, fmt.Errorf("%s: input: %v", b.Name(), err)
	}
	dt, err := finite(dtV)
	if err != nil {
		return nil, fmt.Errorf("%s: dt: %v", b.Name(), err)
	}
	if dt <= 0 {
		return nil, fmt.Errorf("%s: dt %v is not above 0", b.Name(), dt)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return starlark.Float(p.pid.Update(in, dt)), nil
}

func (p *pidValue) setSetpoint(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	f, err := finite(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	p.mu.Lock()
	p.pid.SetSetpoint(f)
	p.mu.Unlock()
	return starlark.None, nil
}

func (p *pidValue) reset(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.pid.Reset()
	p.mu.Unlock()
	return starlark.None, nil
}
