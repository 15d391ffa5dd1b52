package script

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/payload"
)

// loadChecks reads the optional top-level functions
//
//	def check_<setting>(value): ...
//
// one per declared setting, which validate its value at start and at each
// /set: fail("...") refuses it (the message is what the log says), returning
// a value keeps that one instead, returning None keeps value.
func (s *Script) loadChecks(globals starlark.StringDict) error {
	for name, v := range globals {
		setting, ok := strings.CutPrefix(name, "check_")
		if !ok {
			continue
		}
		fn, ok := v.(*starlark.Function)
		if !ok || fn.NumParams() != 1 {
			return fmt.Errorf("%s: %s must be a function of one parameter (the value)", s.file, name)
		}
		declared := false
		for _, d := range s.settings {
			declared = declared || d.Name == setting
		}
		if !declared {
			return fmt.Errorf("%s: %s: there is no setting %q in the settings dict", s.file, fn.Position(), setting)
		}
		if s.checks == nil {
			s.checks = map[string]*starlark.Function{}
		}
		s.checks[setting] = fn
	}
	return nil
}

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
	out, err := starlark.Call(th, fn, starlark.Tuple{builtins.ToStarlark(v)}, nil)
	if err != nil {
		err = FormatError(err, th, a.Limits.MaxSteps, "max_script_steps")
		var se *Error
		if errors.As(err, &se) {
			if msg, ok := strings.CutPrefix(se.Msg, "fail: "); ok {
				return nil, errors.New(msg) // the script's own words
			}
		}
		return nil, err
	}
	if out == starlark.None {
		return v, nil
	}
	var datatype string
	for _, d := range s.settings {
		if d.Name == name {
			datatype = d.Datatype
		}
	}
	return fromStarlark(fn.Name(), datatype, out)
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
