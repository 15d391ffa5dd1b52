package script

import (
	"context"
	"fmt"
	"math"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/payload"
)

// HasCheck implements dosing.SettingChecker.
func (s *Script) HasCheck(name string) bool { return s.checks[name] != nil }

// CheckSetting implements dosing.SettingChecker: it calls check_<name>(v)
// on a thread of its own, which may read settings and config_get but not
// wait (no readings, sleep or pumps): it runs on the job's message actor.
func (s *Script) CheckSetting(a *dosing.Automation, name string, v any) (any, error) {
	fn := s.checks[name]
	if fn == nil {
		return v, nil
	}
	th := s.newThread(context.Background(), a, a.ExecDeadline(a.Env().Sched.Now()))
	builtins.SetNonBlocking(th)
	out, err := runCheck(th, fn, v, a.Limits.MaxSteps, "max_script_steps")
	if err != nil {
		return nil, err
	}
	if out == nil {
		return v, nil
	}
	return fromStarlark(fn.Name(), settingType(s.settings, name), out)
}

// fromStarlark converts what a check returned to a value of the setting's
// datatype.
func fromStarlark(fn, datatype string, v starlark.Value) (any, error) {
	switch datatype {
	case payload.TypeFloat, payload.TypeNumber:
		if n, ok := v.(starlark.Int); ok && datatype == payload.TypeNumber {
			if i, ok := n.Int64(); ok {
				return i, nil
			}
		}
		f, ok := starlark.AsFloat(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s returned %s, want a finite number", fn, v)
		}
		return f, nil
	case payload.TypeBoolean:
		if b, ok := v.(starlark.Bool); ok {
			return bool(b), nil
		}
	case payload.TypeString:
		if str, ok := v.(starlark.String); ok {
			return string(str), nil
		}
	}
	return nil, fmt.Errorf("%s returned %s, which is not a %s", fn, v.Type(), datatype)
}
