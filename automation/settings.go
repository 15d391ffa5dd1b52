// Package automation holds what every automation job shares, whatever its
// family (dosing, temperature, LED): the settings a program declares, their
// starting values from the command line, their publication with
// automation_name and latest_event, the settings-history record upstream's
// UI reads, and the duration setting's bounds.
package automation

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// SettingDecl declares a program setting and its default, and, when the
// program gives them, its unit, bounds, choices and description (a UI
// builds a form from them). Bounds and choices are enforced (CheckValue):
// at start on --<setting>, and on every /set.
type SettingDecl struct {
	Name     string
	Datatype string // payload.TypeFloat, TypeInteger, TypeNumber, TypeBoolean, TypeString
	Default  any

	Unit        string   // shown with the value: "mL", "°C"
	Min, Max    *float64 // inclusive bounds of a number, nil for none
	Choices     []any    // the only values allowed, nil for any
	Description string
}

// Bounded reports whether the setting has bounds or choices to enforce.
func (d SettingDecl) Bounded() bool { return d.Min != nil || d.Max != nil || d.Choices != nil }

// CheckValue refuses a value outside the setting's bounds or choices,
// with an error that names the value and the bound. A nil value (a
// required setting not given yet) passes.
func (d SettingDecl) CheckValue(v any) error {
	if v == nil || !d.Bounded() {
		return nil
	}
	unit := ""
	if d.Unit != "" {
		unit = " " + d.Unit
	}
	if f, ok := ToFloat(v); ok {
		if d.Min != nil && f < *d.Min {
			return fmt.Errorf("%s%s is below the minimum, %s%s", show(v), unit, show(*d.Min), unit)
		}
		if d.Max != nil && f > *d.Max {
			return fmt.Errorf("%s%s is above the maximum, %s%s", show(v), unit, show(*d.Max), unit)
		}
	}
	if d.Choices == nil {
		return nil
	}
	shown := make([]string, len(d.Choices))
	for i, c := range d.Choices {
		if sameValue(c, v) {
			return nil
		}
		shown[i] = show(c)
	}
	return fmt.Errorf("%s is not one of the choices: %s", show(v), strings.Join(shown, ", "))
}

// show writes a setting value in a message: strings quoted, numbers as
// they are published.
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return string(payload.EncodeSetting(v))
}

// sameValue compares setting values: numbers by value (3 == 3.0).
func sameValue(a, b any) bool {
	fa, okA := ToFloat(a)
	fb, okB := ToFloat(b)
	if okA && okB {
		return fa == fb
	}
	return a == b
}

// CheckName refuses an automation_name no automation may have: none, or
// "config" (upstream's disallowed name). job prefixes the error.
func CheckName(job, name string) error {
	if name == "" || name == "config" {
		return fmt.Errorf("%s: automation_name %q is not allowed", job, name)
	}
	return nil
}

// SettingValues checks the overrides (settings given as text, as pio run
// --<setting> gives them) against a program's declarations (type, bounds
// and choices), before anything is published, and returns every setting's
// starting value. A duration is checked against its bounds (CheckDuration).
func SettingValues(program string, decls []SettingDecl, overrides map[string]string) (map[string]any, error) {
	values := map[string]any{}
	known := map[string]SettingDecl{}
	for _, d := range decls {
		known[d.Name] = d
		values[d.Name] = d.Default
	}
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		d, ok := known[k]
		if !ok {
			declared := make([]string, 0, len(decls))
			for _, d := range decls {
				declared = append(declared, d.Name)
			}
			return nil, fmt.Errorf("unknown setting %q for %s (settings: %s)", k, program, strings.Join(declared, ", "))
		}
		if n := len(overrides[k]); n > runtime.MaxSettingBytes {
			return nil, fmt.Errorf("setting %s: a value of %d bytes is more than a setting takes (%d bytes)", k, n, runtime.MaxSettingBytes)
		}
		v, err := payload.CastPayload(d.Datatype, overrides[k])
		if err != nil {
			return nil, fmt.Errorf("setting %s: %v", k, err)
		}
		if err := d.CheckValue(v); err != nil {
			return nil, fmt.Errorf("setting %s (--%s): %v", k, strings.ReplaceAll(k, "_", "-"), err)
		}
		values[k] = v
	}
	if d, ok := values["duration"]; ok {
		f, err := CheckDuration(d)
		if err != nil {
			return nil, fmt.Errorf("setting duration: %v", err)
		}
		values["duration"] = f
	}
	return values, nil
}

// Declare publishes automation_name, clears latest_event, and declares the
// program's settings (settable) with their starting values. set, if not
// nil, is the /set handler of the settings it has one for (duration
// reschedules). A /set outside a setting's bounds or choices is refused
// before any handler runs (Bounded): the job logs one line and publishes
// nothing. It publishes the settings-history record when the program has
// settings.
func Declare(job *runtime.Job, program string, decls []SettingDecl, values map[string]any, set map[string]func(any) error, history *History) error {
	if err := job.AddSetting(runtime.Setting{Name: "automation_name", Datatype: payload.TypeString}, program); err != nil {
		return err
	}
	if err := job.AddSetting(runtime.Setting{Name: "latest_event", Datatype: payload.TypeAutomationEvent}, nil); err != nil {
		return err
	}
	job.PublishSetting("latest_event") // empty: clears an old run's event
	for _, d := range decls {
		s := runtime.Setting{Name: d.Name, Datatype: d.Datatype, Settable: true, Set: Bounded(job, d, set[d.Name])}
		if err := job.AddSetting(s, values[d.Name]); err != nil {
			return err
		}
	}
	if len(decls) > 0 && history != nil {
		history.Publish()
	}
	return nil
}

// Bounded wraps a setting's /set handler (nil: the job sets the value) in
// the check of its bounds and choices; a setting without them keeps next.
// Any job that declares settings from a SettingDecl uses it.
func Bounded(job *runtime.Job, d SettingDecl, next func(any) error) func(any) error {
	if !d.Bounded() {
		return next
	}
	return func(v any) error {
		if err := d.CheckValue(v); err != nil {
			return err
		}
		if next != nil {
			return next(v)
		}
		job.SetValue(d.Name, v)
		return nil
	}
}

// ToFloat returns a numeric setting value as a float64.
func ToFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// The bounds of the duration setting, in minutes. Below a second, execute()
// would run back to back (upstream's fastest automation, the turbidostat,
// runs every 15 s); above 30 days, it never runs in an experiment's life. Both
// also keep the period a valid time.Duration.
const (
	MinDurationMinutes = 1.0 / 60
	MaxDurationMinutes = 30 * 24 * 60.0
)

// CheckDuration validates a duration in minutes.
func CheckDuration(v any) (float64, error) {
	f, ok := ToFloat(v)
	if !ok || !(f >= MinDurationMinutes && f <= MaxDurationMinutes) {
		return 0, fmt.Errorf("duration must be from %s (1 s) to %s minutes (30 days), got %v",
			payload.PyFloat(math.Round(MinDurationMinutes*1e4)/1e4), payload.PyFloat(MaxDurationMinutes), v)
	}
	return f, nil
}

// Minutes converts a duration setting to a time.Duration.
func Minutes(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }

// History publishes upstream's settings-history record,
// .../<job>/<job>_settings, each time a settable setting changes: the
// settable values and the period they held for.
type History struct {
	Job     *runtime.Job
	Program string
	since   time.Time
}

// NewHistory starts the first period now.
func NewHistory(job *runtime.Job, program string) *History {
	return &History{Job: job, Program: program, since: job.Env().Sched.Now()}
}

// Publish publishes the record for the period that ends now and starts the
// next one. Call it on the job's actor (OnSettingChanged).
func (h *History) Publish() {
	env := h.Job.Env()
	now := env.Sched.Now()
	settings, _ := json.Marshal(h.Job.SettableValues())
	since := h.since
	h.since = now
	msg, _ := json.Marshal(map[string]any{
		"pioreactor_unit": env.Unit, "experiment": h.Job.Experiment,
		"started_at": payload.StructTimestamp(since), "ended_at": payload.StructTimestamp(now),
		"automation_name": h.Program,
		"settings":        base64.StdEncoding.EncodeToString(settings),
	})
	_ = h.Job.Client().Publish(env.Topic(h.Job.Experiment, h.Job.Name, h.Job.Name+"_settings"), msg, 2, false)
}
