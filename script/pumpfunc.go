package script

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/dosing"
)

// How pio calls a script's pump function, add_<name>_to_bioreactor or
// remove_waste_from_bioreactor:
//
//   - by name, when it has a parameter ml and every parameter without a
//     default is one of ml, unit, experiment, source_of_event (or source):
//     each of those it names gets its value, in any order, as upstream
//     passes them by keyword; a **kwargs gets the ones it does not name;
//   - by position otherwise: (ml, unit, experiment, source_of_event).
//
// Load checks which applies and refuses a function that neither fits.

// pumpArgs are the names a pump function's parameters may carry, and the
// argument each one receives.
var pumpArgs = map[string]string{
	"ml": "ml", "unit": "unit", "experiment": "experiment",
	"source_of_event": "source_of_event", "source": "source_of_event",
}

// positionalOrder is the order of a pump function's arguments by position.
var positionalOrder = []string{"ml", "unit", "experiment", "source_of_event"}

// pumpCall is one pump function and how it is called.
type pumpCall struct {
	fn *starlark.Function
	// byName are the parameters passed by name (each a key of pumpArgs),
	// nil to pass the four arguments by position; keys are their names as
	// Starlark strings.
	byName []string
	keys   []starlark.Value
}

// inOrder reports whether fn's parameters are the four pio passes in its
// order (source for source_of_event), with defaults for any others.
func inOrder(fn *starlark.Function, positional int) bool {
	if positional < 4 || fn.HasKwargs() {
		return false
	}
	for i, want := range positionalOrder {
		if p, _ := fn.Param(i); pumpArgs[p] != want {
			return false
		}
	}
	for i := 4; i < fn.NumParams(); i++ {
		if p, _ := fn.Param(i); pumpArgs[p] != "" {
			return false // another known name, which only by name fills
		}
	}
	return true
}

// bindPumpFunc decides how the pump function fn is called, or says why it
// cannot be.
func bindPumpFunc(fn *starlark.Function) (pumpCall, error) {
	named := fn.NumParams()
	if fn.HasVarargs() {
		named--
	}
	if fn.HasKwargs() {
		named--
	}
	positional := named - fn.NumKwonlyParams()
	var known, unknownRequired []string
	hasML := false
	for i := 0; i < named; i++ {
		p, _ := fn.Param(i)
		if _, ok := pumpArgs[p]; ok {
			known = append(known, p)
			hasML = hasML || p == "ml"
		} else if fn.ParamDefault(i) == nil {
			unknownRequired = append(unknownRequired, p)
		}
	}
	sig := fmt.Sprintf("%s(%s)", fn.Name(), strings.Join(paramNames(fn), ", "))
	if hasML && len(unknownRequired) == 0 {
		if inOrder(fn, positional) {
			return pumpCall{fn: fn}, nil // by position binds the same, for less
		}
		if fn.HasKwargs() {
			for _, a := range positionalOrder {
				if !contains(known, a) && !(a == "source_of_event" && contains(known, "source")) {
					known = append(known, a)
				}
			}
		}
		keys := make([]starlark.Value, len(known))
		for i, p := range known {
			keys[i] = starlark.String(p)
		}
		return pumpCall{fn: fn, byName: known, keys: keys}, nil
	}
	const contract = "pio calls a pump function with ml, unit, experiment and source_of_event: by name when every parameter without a default is named so (in any order; source works for source_of_event; unused ones may be left out), else by position in that order"
	if positional < 4 && !fn.HasVarargs() {
		return pumpCall{}, fmt.Errorf("%s: %s: %s; write def %s(ml, unit, experiment, source_of_event)",
			fn.Position(), sig, contract, fn.Name())
	}
	for i := 0; i < positional && i < 4; i++ {
		p, _ := fn.Param(i)
		want, ok := pumpArgs[p]
		if !ok || want == positionalOrder[i] {
			continue
		}
		if hasML {
			return pumpCall{}, fmt.Errorf("%s: %s: %s no default, so pio would call it by position and %s would get the %s; %s (%s)",
				fn.Position(), sig, haveNo(unknownRequired), p, argName(positionalOrder[i]), giveDefaults(unknownRequired), contract)
		}
		return pumpCall{}, fmt.Errorf("%s: %s: by position, %s would get the %s; name the volume parameter ml (then all go by name) or use the order (ml, unit, experiment, source_of_event)",
			fn.Position(), sig, p, argName(positionalOrder[i]))
	}
	var extra []string
	for i := 0; i < named; i++ {
		// Four arguments fill the first four positional parameters.
		if p, _ := fn.Param(i); (i >= 4 || i >= positional) && fn.ParamDefault(i) == nil {
			extra = append(extra, p)
		}
	}
	if len(extra) > 0 {
		return pumpCall{}, fmt.Errorf("%s: %s: %s no default, and pio passes only ml, unit, experiment and source_of_event; %s",
			fn.Position(), sig, haveNo(extra), giveDefaults(extra))
	}
	return pumpCall{fn: fn}, nil
}

// argName names an argument in a message: the volume, the unit, ...
func argName(a string) string {
	if a == "ml" {
		return "volume"
	}
	return a
}

// haveNo is "x has" or "x and y have", for parameters without a default.
func haveNo(params []string) string {
	if len(params) == 1 {
		return params[0] + " has"
	}
	return strings.Join(params[:len(params)-1], ", ") + " and " + params[len(params)-1] + " have"
}

// giveDefaults says how to fix parameters without a default.
func giveDefaults(params []string) string {
	if len(params) == 1 {
		return fmt.Sprintf("give it one (%s=None) or remove it", params[0])
	}
	fixes := make([]string, len(params))
	for i, p := range params {
		fixes[i] = p + "=None"
	}
	return fmt.Sprintf("give them one (%s) or remove them", strings.Join(fixes, ", "))
}

func paramNames(fn *starlark.Function) []string {
	out := make([]string, fn.NumParams())
	for i := range out {
		out[i], _ = fn.Param(i)
	}
	if fn.HasKwargs() {
		out[len(out)-1] = "**" + out[len(out)-1]
	}
	if fn.HasVarargs() {
		i := len(out) - 1
		if fn.HasKwargs() {
			i--
		}
		out[i] = "*" + out[i]
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bindPumpFuncs binds every pump function among a script's globals.
func bindPumpFuncs(file string, globals starlark.StringDict) (map[string]pumpCall, error) {
	names := make([]string, 0, len(globals))
	for name := range globals {
		if isPumpFuncName(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make(map[string]pumpCall, len(names))
	for _, name := range names {
		fn, ok := globals[name].(*starlark.Function)
		if !ok {
			return nil, fmt.Errorf("%s: %s must be a function of (ml, unit, experiment, source_of_event), not a %s", file, name, globals[name].Type())
		}
		pc, err := bindPumpFunc(fn)
		if err != nil {
			return nil, err
		}
		out[name] = pc
	}
	return out, nil
}

func isPumpFuncName(name string) bool {
	return name == "remove_waste_from_bioreactor" ||
		strings.HasPrefix(name, "add_") && strings.HasSuffix(name, "_to_bioreactor") && len(name) > len("add__to_bioreactor")
}

// pumpFunc returns the script's add_<name>_to_bioreactor
// (remove_waste_from_bioreactor for "waste") as a dosing.PumpFunc, called
// on h's thread. A function that returns None returns dosing.ErrReturnedNone:
// the pumps it ran report what moved.
func (s *Script) pumpFunc(h *host, name string) (dosing.PumpFunc, bool) {
	fname := dosing.PumpFuncName(name)
	pc, ok := s.pumps[fname]
	if !ok {
		return nil, false
	}
	th := h.th
	return func(ctx context.Context, ml float64) (float64, error) {
		var args starlark.Tuple
		var kwargs []starlark.Tuple
		if pc.byName == nil {
			args = starlark.Tuple{starlark.Float(ml), h.unit, h.experiment, h.source}
		} else {
			kwargs = make([]starlark.Tuple, len(pc.byName))
			for i, p := range pc.byName {
				var v starlark.Value
				switch pumpArgs[p] {
				case "ml":
					v = starlark.Float(ml)
				case "unit":
					v = h.unit
				case "experiment":
					v = h.experiment
				default:
					v = h.source
				}
				kwargs[i] = starlark.Tuple{pc.keys[i], v}
			}
		}
		v, err := starlark.Call(th, pc.fn, args, kwargs)
		if err != nil {
			return 0, err
		}
		if v == starlark.None {
			return 0, dosing.ErrReturnedNone
		}
		f, ok := starlark.AsFloat(v)
		if !ok {
			return 0, fmt.Errorf("%s: %s returned %s; it must return the mL it moved, or None when the pumps it ran report it", s.file, fname, v.Type())
		}
		return f, nil
	}, true
}
