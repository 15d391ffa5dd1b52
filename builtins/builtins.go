// Package builtins holds the Go functions that pio exposes to Starlark
// automation scripts. The reference for script authors is docs/scripting.md;
// each builtin's doc comment below gives its Starlark signature.
//
// Builtins reach the automation that runs the script through a Host stored in
// the Starlark thread (SetHost), and its context through SetContext, so one
// set of builtins serves every script and builtins hold no goroutines.
// Blocking builtins (sleep, pumps, execute_io_action) watch the context
// themselves, because Thread.Cancel is only seen between Starlark steps.
package builtins

import (
	"context"
	"errors"
	"fmt"
	"github.com/piolab/pio/payload"
	"math"
	"strconv"
	"time"

	starjson "go.starlark.net/lib/json"
	starmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Host is what the common builtins need from the job running the script.
type Host interface {
	Unit() string
	Experiment() string
	Now() time.Time
	Sleep(ctx context.Context, seconds float64) error
	// Setting returns a setting's value (float64, int64, bool or string).
	Setting(name string) (any, bool)
	Log(level, msg string) error
}

// DosingHost is what the dosing builtins need from a dosing automation.
type DosingHost interface {
	Host
	ExecuteIOAction(ctx context.Context, wasteML float64, doses []payload.Dose) ([]payload.Dose, error)
	// Pump runs a pump by [PWM] device name; exactly one of ml and duration is set.
	Pump(ctx context.Context, device string, ml, duration *float64) (float64, error)
	CurrentVolume() float64
	AltMediaFraction() float64
	// MaxVolume is the model's max fill volume: pumping stops at it.
	MaxVolume() float64
	// Pause puts the automation to sleep, which stops its pumps.
	Pause()
}

const (
	hostKey = "pio.host"
	ctxKey  = "pio.ctx"
)

// SetHost binds a thread to the automation it runs for.
func SetHost(th *starlark.Thread, h Host) { th.SetLocal(hostKey, h) }

// SetContext sets the context blocking builtins watch.
func SetContext(th *starlark.Thread, ctx context.Context) { th.SetLocal(ctxKey, ctx) }

// Context returns the thread's context (never nil).
func Context(th *starlark.Thread) context.Context {
	if c, ok := th.Local(ctxKey).(context.Context); ok {
		return c
	}
	return context.Background()
}

// ErrLoadTime is returned by builtins that need a running automation when a
// script calls them at load time (top level).
var ErrLoadTime = errors.New("only available while the automation runs (call it from execute() or a pump function, not at the top level)")

func host(th *starlark.Thread, b *starlark.Builtin) (Host, context.Context, error) {
	h, ok := th.Local(hostKey).(Host)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", b.Name(), ErrLoadTime)
	}
	return h, Context(th), nil
}

func dosingHost(th *starlark.Thread, b *starlark.Builtin) (DosingHost, context.Context, error) {
	if err := refuseBlocking(th, b); err != nil {
		return nil, nil, err
	}
	h, ctx, err := host(th, b)
	if err != nil {
		return nil, nil, err
	}
	d, ok := h.(DosingHost)
	if !ok {
		return nil, nil, fmt.Errorf("%s: only dosing automations have pumps", b.Name())
	}
	return d, ctx, nil
}

// Common returns the builtins every script family has. unit and experiment
// are given as values because they are fixed for a run.
//
// math and json are starlark-go's own modules (math.pow, math.exp,
// math.log, json.encode, json.decode, ...). Its time module is not offered:
// its clock is not the runtime's, so time.now() would bypass the virtual
// time of pio simulate; scripts read the runtime's clock with now().
func Common(unit, experiment string) starlark.StringDict {
	u := starlark.StringDict{
		"math":       starmath.Module,
		"json":       starjson.Module,
		"unit":       starlark.String(unit),
		"experiment": starlark.String(experiment),
		"sleep":      starlark.NewBuiltin("sleep", sleep),
		"now":        starlark.NewBuiltin("now", now),
		"setting":    starlark.NewBuiltin("setting", setting),
		"event":      starlark.NewBuiltin("event", newEvent),
		"log":        logModule,
		"round":      starlark.NewBuiltin("round", round),
		"store":      NewStore(),
		"fmt":        Fmt(),
		"config_get": starlark.NewBuiltin("config_get", configGet),
		"pid":        PID(),
		"hw":         HW(),
		"http":       HTTP(), "mqtt": MQTT(), // docs/script-network.md
		// The liquid model: a dosing automation's own mirror, else the
		// values the monitor publishes.
		"current_volume_ml":  starlark.NewBuiltin("current_volume_ml", currentVolume),
		"alt_media_fraction": starlark.NewBuiltin("alt_media_fraction", altMediaFraction),
	}
	for k, v := range Readings() {
		u[k] = v
	}
	return u
}

// Dosing returns the builtins of dosing automations: pumps, the liquid
// model, execute_io_action.
func Dosing() starlark.StringDict {
	return starlark.StringDict{
		"execute_io_action": starlark.NewBuiltin("execute_io_action", executeIOAction),
		"add_media":         pumpBuiltin("add_media", "media"),
		"add_alt_media":     pumpBuiltin("add_alt_media", "alt_media"),
		"remove_waste":      pumpBuiltin("remove_waste", "waste"),
		"pump":              starlark.NewBuiltin("pump", pumpAny),
		"max_volume_ml":     starlark.NewBuiltin("max_volume_ml", maxVolume),
		"pause":             starlark.NewBuiltin("pause", pause),
	}
}

// Universe returns the predeclared names of a dosing automation: Common
// and Dosing.
func Universe(unit, experiment string) starlark.StringDict {
	u := Common(unit, experiment)
	for k, v := range Dosing() {
		u[k] = v
	}
	return u
}

// Milliliters is an Unpacker for a volume: an int or float, finite and ≥ 0.
type Milliliters float64

var _ starlark.Unpacker = (*Milliliters)(nil)

// Unpack implements starlark.Unpacker.
func (m *Milliliters) Unpack(v starlark.Value) error {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("got %s, want a number of mL", v.Type())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("must be a finite number of mL, got %v", f)
	}
	if f < 0 {
		return fmt.Errorf("must not be negative, got %v", f)
	}
	*m = Milliliters(f)
	return nil
}

// Seconds is an Unpacker for a duration in seconds: finite and ≥ 0.
type Seconds float64

var _ starlark.Unpacker = (*Seconds)(nil)

// Unpack implements starlark.Unpacker.
func (s *Seconds) Unpack(v starlark.Value) error {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("got %s, want a number of seconds", v.Type())
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return fmt.Errorf("must be a finite number of seconds ≥ 0, got %v", f)
	}
	*s = Seconds(f)
	return nil
}

// execute_io_action(waste_ml=0.0, **<name>_ml) -> dict
//
// Doses each <name>_ml through add_<name>_to_bioreactor (built-in pumps for
// media and alt_media), in the order given, then waste and extra waste, split
// into sub-doses of at most max_subdose. Returns {"waste_ml": ..., "<name>_ml": ...}
// with the volumes actually moved.
func executeIOAction(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("%s: takes keyword arguments only, e.g. execute_io_action(waste_ml=1.0, media_ml=1.0)", b.Name())
	}
	h, ctx, err := dosingHost(th, b)
	if err != nil {
		return nil, err
	}
	waste := 0.0
	var doses []payload.Dose
	for _, kv := range kwargs {
		key := string(kv[0].(starlark.String))
		f, ok := starlark.AsFloat(kv[1])
		if !ok {
			return nil, fmt.Errorf("%s: %s: got %s, want a number of mL", b.Name(), key, kv[1].Type())
		}
		if key == "waste_ml" {
			waste = f
			continue
		}
		doses = append(doses, payload.Dose{Key: key, ML: f})
	}
	res, err := h.ExecuteIOAction(ctx, waste, doses)
	if err != nil {
		return nil, wrap(b, err)
	}
	d := starlark.NewDict(len(res))
	for _, r := range res {
		d.SetKey(starlark.String(r.Key), starlark.Float(r.ML))
	}
	return d, nil
}

// wrap prefixes err with the builtin's name unless it is already a script
// error (whose position must survive).
func wrap(b *starlark.Builtin, err error) error {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		return err
	}
	return fmt.Errorf("%s: %w", b.Name(), err)
}

// add_media(ml=None, duration=None) -> float, and add_alt_media, remove_waste:
// run the stock peristaltic pump by volume or by seconds; returns the mL moved.
func pumpBuiltin(name, device string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var ml, dur starlark.Value = starlark.None, starlark.None
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ml?", &ml, "duration?", &dur); err != nil {
			return nil, err
		}
		return runPump(th, b, device, ml, dur)
	})
}

// pump(device, ml=None, duration=None) -> float: run any pump wired to a
// PWM channel ([PWM] <channel>=<device>), with calibration <device>_pump.
func pumpAny(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var device string
	var ml, dur starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "device", &device, "ml?", &ml, "duration?", &dur); err != nil {
		return nil, err
	}
	return runPump(th, b, device, ml, dur)
}

func runPump(th *starlark.Thread, b *starlark.Builtin, device string, mlV, durV starlark.Value) (starlark.Value, error) {
	var mlp, durp *float64
	if mlV != starlark.None {
		var m Milliliters
		if err := m.Unpack(mlV); err != nil {
			return nil, fmt.Errorf("%s: for parameter ml: %v", b.Name(), err)
		}
		f := float64(m)
		mlp = &f
	}
	if durV != starlark.None {
		var s Seconds
		if err := s.Unpack(durV); err != nil {
			return nil, fmt.Errorf("%s: for parameter duration: %v", b.Name(), err)
		}
		f := float64(s)
		durp = &f
	}
	if (mlp == nil) == (durp == nil) {
		return nil, fmt.Errorf("%s: give exactly one of ml or duration", b.Name())
	}
	h, ctx, err := dosingHost(th, b)
	if err != nil {
		return nil, err
	}
	moved, err := h.Pump(ctx, device, mlp, durp)
	if err != nil {
		return nil, wrap(b, err)
	}
	return starlark.Float(moved), nil
}

// sleep(seconds): wait on the runtime's clock (virtual time under pio simulate).
func sleep(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s Seconds
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	if err := refuseBlocking(th, b); err != nil {
		return nil, err
	}
	h, ctx, err := host(th, b)
	if err != nil {
		return nil, err
	}
	if err := h.Sleep(ctx, float64(s)); err != nil {
		return nil, wrap(b, err)
	}
	return starlark.None, nil
}

// now() -> float: seconds since the Unix epoch on the runtime's clock.
func now(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, _, err := host(th, b)
	if err != nil {
		return nil, err
	}
	return starlark.Float(float64(h.Now().UnixNano()) / 1e9), nil
}

// setting(name) -> value: a setting's current value (it may have changed
// through --<name> or .../<name>/set since the script was loaded).
func setting(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	h, _, err := host(th, b)
	if err != nil {
		return nil, err
	}
	v, ok := h.Setting(name)
	if !ok {
		return nil, fmt.Errorf("%s: no setting %q (declare it in the settings dict)", b.Name(), name)
	}
	return ToStarlark(v), nil
}

// ToStarlark converts a setting value to Starlark.
func ToStarlark(v any) starlark.Value {
	switch x := v.(type) {
	case float64:
		return starlark.Float(x)
	case int64:
		return starlark.MakeInt64(x)
	case int:
		return starlark.MakeInt(x)
	case bool:
		return starlark.Bool(x)
	case string:
		return starlark.String(x)
	case nil:
		return starlark.None
	}
	return starlark.String(fmt.Sprint(v))
}

// current_volume_ml() -> float: the liquid model's volume of this vial.
func currentVolume(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return liquidValue(th, b, args, kwargs, "current_volume_ml", DosingHost.CurrentVolume)
}

// alt_media_fraction() -> float: the liquid model's alt-media fraction.
func altMediaFraction(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return liquidValue(th, b, args, kwargs, "alt_media_fraction", DosingHost.AltMediaFraction)
}

// liquidValue reads a variable of the liquid model: a dosing automation's
// mirror, or, for the other families, the value the unit last published on
// bioreactor/<variable>.
func liquidValue(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, variable string, mirror func(DosingHost) float64) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, _, err := host(th, b)
	if err != nil {
		return nil, err
	}
	if d, ok := h.(DosingHost); ok {
		return starlark.Float(mirror(d)), nil
	}
	r, ok := h.(ReadingsHost)
	if !ok || r.Readings() == nil {
		return nil, fmt.Errorf("%s: this automation has no liquid model", b.Name())
	}
	v, ok := r.Readings().Liquid(variable)
	if !ok {
		return nil, fmt.Errorf("%s: no value on bioreactor/%s for experiment %s yet (a dosing automation publishes the liquid model when it starts)", b.Name(), variable, h.Experiment())
	}
	return starlark.Float(v), nil
}

// event(name, message=None, data=None): an automation event for execute() to
// return; it becomes the job's latest_event.
func newEvent(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var message, data starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "message?", &message, "data?", &data); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("%s: name must not be empty", b.Name())
	}
	if _, ok := message.(starlark.String); !ok && message != starlark.None {
		return nil, fmt.Errorf("%s: message: got %s, want string or None", b.Name(), message.Type())
	}
	if _, ok := data.(*starlark.Dict); !ok && data != starlark.None {
		return nil, fmt.Errorf("%s: data: got %s, want dict or None", b.Name(), data.Type())
	}
	return starlarkstruct.FromStringDict(EventConstructor, starlark.StringDict{
		"name": starlark.String(name), "message": message, "data": data,
	}), nil
}

// EventConstructor marks structs made by event().
var EventConstructor = starlark.String("event")

var logModule = &starlarkstruct.Module{
	Name: "log",
	Members: starlark.StringDict{
		"debug":   logBuiltin("debug"),
		"info":    logBuiltin("info"),
		"notice":  logBuiltin("notice"),
		"warning": logBuiltin("warning"),
		"error":   logBuiltin("error"),
	},
}

// log.debug/info/notice/warning/error(msg): log to the console and MQTT.
func logBuiltin(level string) *starlark.Builtin {
	return starlark.NewBuiltin("log."+level, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var msg starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &msg); err != nil {
			return nil, err
		}
		text := msg.String()
		if s, ok := msg.(starlark.String); ok {
			text = string(s)
		}
		h, ok := th.Local(hostKey).(Host)
		if !ok {
			return nil, fmt.Errorf("%s: %w", b.Name(), ErrLoadTime)
		}
		return starlark.None, h.Log(level, text)
	})
}

// round(x, ndigits=None): x rounded half to even, as Python's round does; an
// int without ndigits, a float with it. (To format with a precision, scripts
// use fmt("%.2f mL", v): Starlark's % has none.)
func round(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	var nd starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	f, ok := starlark.AsFloat(x)
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want a number", b.Name(), x.Type())
	}
	if nd == starlark.None {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: cannot round %v to an int", b.Name(), f)
		}
		return starlark.MakeInt64(int64(math.RoundToEven(f))), nil
	}
	n, err := starlark.AsInt32(nd)
	if err != nil {
		return nil, fmt.Errorf("%s: ndigits: %v", b.Name(), err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || n > 300 {
		return starlark.Float(f), nil
	}
	var r float64
	if n >= 0 {
		// Decimal rounding of the exact binary value, as Python does:
		// round(2.675, 2) is 2.67 because 2.675 is stored as 2.67499...
		r, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(n), 64), 64)
	} else {
		p := math.Pow(10, float64(-n))
		r = math.RoundToEven(f/p) * p
	}
	return starlark.Float(r), nil
}

const nonBlockingKey = "pio.nonblocking"

// SetNonBlocking marks a thread that must not wait: it runs on a job's
// message actor (a setting's check). Readings, sleep and pumps refuse.
func SetNonBlocking(th *starlark.Thread) { th.SetLocal(nonBlockingKey, true) }

// refuseBlocking fails b on a thread marked by SetNonBlocking.
func refuseBlocking(th *starlark.Thread, b *starlark.Builtin) error {
	if nb, _ := th.Local(nonBlockingKey).(bool); nb {
		return fmt.Errorf("%s: not available in a setting's check function, which must not wait (use it from execute())", b.Name())
	}
	return nil
}

// max_volume_ml() -> float: the vial's safety threshold (the model's max
// fill volume): execute_io_action puts the automation to sleep rather than
// reach it.
func maxVolume(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, _, err := dosingHost(th, b)
	if err != nil {
		return nil, err
	}
	return starlark.Float(h.MaxVolume()), nil
}

// pause(): put the automation to sleep (state sleeping), which stops its
// pumps, as upstream's set_state(SLEEPING). It stays asleep until set ready
// (.../dosing_automation/$state/set ready).
func pause(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	h, _, err := dosingHost(th, b)
	if err != nil {
		return nil, err
	}
	h.Pause()
	return starlark.None, nil
}
