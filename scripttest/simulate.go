package scripttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/simulate"
	"github.com/piolab/pio/topic"
)

// maxHours bounds simulate(hours=...): a year of virtual time.
const maxHours = 24 * 365

// The unit and experiment of every simulation of a test (simulate's own
// defaults), so topics are pioreactor/sim/sim/...
const simUnit, simExperiment = "sim", "sim"

// simulator runs the script under test for simulate(...).
type simulator struct {
	script   string  // the script's path
	maxHours float64 // the hours a thread may simulate in all
}

// simulate(hours=24, settings={}, seed=1, config={}, target_temperature=None,
// alone=False) runs the script under test on a simulated unit in virtual
// time (package simulate, as pio simulate does) and returns what it did as a
// struct (result). The configuration is pio's defaults with config's keys
// laid over them, so a test does not depend on the unit it runs on. A script
// that cannot start (a bad setting, a missing pump) fails the call: test it
// with assert.fails.
func (s *simulator) simulate(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		hours             starlark.Value = starlark.MakeInt(24)
		settings, cfg     *starlark.Dict
		seed                             = 1
		targetTemperature starlark.Value = starlark.None
		alone             bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "hours?", &hours, "settings?", &settings, "seed?", &seed,
		"config?", &cfg, "target_temperature?", &targetTemperature, "alone?", &alone); err != nil {
		return nil, err
	}
	h, ok := starlark.AsFloat(hours)
	if !ok || !(h > 0 && h <= maxHours) {
		return nil, fmt.Errorf("simulate: hours %s: want more than 0 and at most %d (a year)", hours, maxHours)
	}
	if used, ok := th.Local(hoursKey).(*float64); ok {
		if *used+h > s.maxHours {
			return nil, fmt.Errorf("simulate: %g more hours would make %g in this test, above the %g hours a test may simulate in all (simulate() in a loop?)",
				h, *used+h, s.maxHours)
		}
		*used += h
	}
	o := simulate.Options{Script: s.script, For: time.Duration(h * float64(time.Hour)), Seed: int64(seed),
		Series: true, Alone: alone, Unit: simUnit, Experiment: simExperiment}
	var err error
	if o.Overrides, err = overrides(th, settings); err != nil {
		return nil, err
	}
	if o.Config, err = configOf(th, cfg); err != nil {
		return nil, err
	}
	if targetTemperature != starlark.None {
		t, ok := starlark.AsFloat(targetTemperature)
		if !ok {
			return nil, fmt.Errorf("simulate: target_temperature %s: want a temperature in °C or None", targetTemperature)
		}
		o.TargetTemperature = &t
	}
	rec := &recording{}
	o.At = rec.attach
	o.Console = slog.New(logHandler{rec: rec})
	sum, err := simulate.Run(threadContext(th), o)
	if sum == nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	return rec.result(th, sum, err)
}

// text is a Starlark value as a setting or a config value is given on the
// command line: strings as they are, numbers and booleans as Python writes
// them, lists and dicts as JSON.
func text(th *starlark.Thread, where string, v starlark.Value) (string, error) {
	switch x := v.(type) {
	case starlark.String:
		return string(x), nil
	case starlark.Bool:
		return strconv.FormatBool(bool(x)), nil
	case starlark.Int:
		return x.String(), nil
	case starlark.Float:
		return strconv.FormatFloat(float64(x), 'g', -1, 64), nil
	case *starlark.List, starlark.Tuple, *starlark.Dict:
		j, err := starlark.Call(th, starjson.Module.Members["encode"], starlark.Tuple{v}, nil)
		if err != nil {
			return "", fmt.Errorf("simulate: %s: %v", where, err)
		}
		return string(j.(starlark.String)), nil
	}
	return "", fmt.Errorf("simulate: %s: want a string, number, boolean, list or dict, got %s", where, v.Type())
}

// overrides are simulate's settings as pio run-script --<setting> gives them.
func overrides(th *starlark.Thread, settings *starlark.Dict) (map[string]string, error) {
	if settings == nil {
		return nil, nil
	}
	out := map[string]string{}
	for _, item := range settings.Items() {
		name, ok := starlark.AsString(item[0])
		if !ok {
			return nil, fmt.Errorf("simulate: settings: a setting's name is a string, got %s", item[0])
		}
		v, err := text(th, "settings["+item[0].String()+"]", item[1])
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

// configOf is pio's defaults with cfg's {section: {key: value}} laid over.
func configOf(th *starlark.Thread, cfg *starlark.Dict) (*config.Config, error) {
	c := config.New()
	if cfg == nil {
		return c, nil
	}
	for _, item := range cfg.Items() {
		section, ok := starlark.AsString(item[0])
		keys, isDict := item[1].(*starlark.Dict)
		if !ok || !isDict {
			return nil, fmt.Errorf(`simulate: config: want {"section": {"key": value}}, got %s: %s`, item[0], item[1].Type())
		}
		for _, kv := range keys.Items() {
			key, ok := starlark.AsString(kv[0])
			if !ok {
				return nil, fmt.Errorf("simulate: config[%s]: a key is a string, got %s", item[0], kv[0])
			}
			v, err := text(th, fmt.Sprintf("config[%s][%s]", item[0], kv[0]), kv[1])
			if err != nil {
				return nil, err
			}
			c.Set(section, key, v)
		}
	}
	return c, nil
}

// recording keeps what a simulation published and logged, with virtual
// times: the result is read from it after the run.
type recording struct {
	now func() time.Duration

	mu       sync.Mutex
	messages []message
	logs     []logLine
}

type message struct {
	t       time.Duration
	topic   string
	payload string
}

type logLine struct {
	t                   time.Duration
	level, job, message string
}

// attach is simulate.Options.At: it taps the broker beside the summary's own
// tap, and reads the virtual clock.
func (r *recording) attach(s *sched.Virtual, b *pubsub.Memory, _ *runtime.Env) {
	r.now = func() time.Duration { return s.Now().Sub(simulate.Epoch) }
	prev := b.Tap
	b.Tap = func(id string, m pubsub.Message) {
		if prev != nil {
			prev(id, m)
		}
		r.mu.Lock()
		r.messages = append(r.messages, message{t: r.now(), topic: m.Topic, payload: string(m.Payload)})
		r.mu.Unlock()
	}
}

// logHandler keeps the unit's log records at INFO and above.
type logHandler struct {
	rec *recording
	job string
}

func (h logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		if a.Key == "job" {
			h.job = a.Value.String()
		}
	}
	return h
}

func (h logHandler) WithGroup(string) slog.Handler { return h }

func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	job := h.job
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "job" {
			job = a.Value.String()
		}
		return true
	})
	var t time.Duration
	if h.rec.now != nil {
		t = h.rec.now()
	}
	h.rec.mu.Lock()
	h.rec.logs = append(h.rec.logs, logLine{t: t, level: simulate.LevelName(r.Level), job: job, message: r.Message})
	h.rec.mu.Unlock()
	return nil
}

func hoursOf(d time.Duration) starlark.Float { return starlark.Float(d.Hours()) }

func newStruct(name string, fields starlark.StringDict) *starlarkstruct.Struct {
	return starlarkstruct.FromStringDict(starlark.String(name), fields)
}

// result is what simulate() returns. docs/script-tests.md lists its fields.
func (r *recording) result(th *starlark.Thread, sum *simulate.Summary, runErr error) (starlark.Value, error) {
	series := sum.Series
	if series == nil {
		series = &simulate.Series{}
	}
	stop := starlark.Value(starlark.None)
	if runErr != nil {
		stop = starlark.String(runErr.Error())
	}
	var printed bytes.Buffer
	sum.Print(&printed)
	doses := r.doses()
	fields := starlark.StringDict{
		"automation":         starlark.String(sum.Automation),
		"job":                starlark.String(sum.AutomationJob),
		"hours":              hoursOf(sum.Simulated),
		"failures":           starlark.MakeInt(sum.Errors),
		"errors":             strings_(sum.ErrorMessages),
		"stop_error":         stop,
		"final_state":        starlark.String(sum.FinalState),
		"doses":              doses,
		"io_actions":         ioActions(sum.IOActions),
		"media_ml":           starlark.Float(sum.EventML["add_media"]),
		"alt_media_ml":       starlark.Float(sum.EventML["add_alt_media"]),
		"waste_ml":           starlark.Float(sum.EventML["remove_waste"]),
		"dosed_ml":           eventML(sum.EventML),
		"volume_ml":          starlark.Float(sum.Model.CurrentVolumeML),
		"alt_media_fraction": starlark.Float(sum.Model.AltMediaFraction),
		"vial_volume_ml":     starlark.Float(sum.Reactor.VolumeML),
		"overflow_ml":        starlark.Float(sum.Reactor.OverflowML),
		"od":                 points(series.OD),
		"normalized_od":      points(series.NormalizedOD),
		"growth_rate":        points(series.GrowthRate),
		"temperature":        points(series.Temperature),
		"events":             r.events(sum.AutomationJob),
		"log":                r.logList(),
		"published":          starlark.NewBuiltin("published", r.published),
		"summary":            starlark.String(printed.String()),
	}
	res := newStruct("simulation", fields)
	res.Freeze()
	return res, nil
}

func strings_(ss []string) *starlark.List {
	vs := make([]starlark.Value, len(ss))
	for i, s := range ss {
		vs[i] = starlark.String(s)
	}
	return starlark.NewList(vs)
}

func ioActions(io simulate.IOActions) *starlarkstruct.Struct {
	return newStruct("io_actions", starlark.StringDict{
		"started": starlark.MakeInt(io.Started), "completed": starlark.MakeInt(io.Completed),
		"failed": starlark.MakeInt(io.Failed), "interrupted": starlark.MakeInt(io.Interrupted),
	})
}

// eventML is the volume of each dosing event, by name, in name order.
func eventML(m map[string]float64) *starlark.Dict {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	d := starlark.NewDict(len(names))
	for _, n := range names {
		_ = d.SetKey(starlark.String(n), starlark.Float(m[n]))
	}
	return d
}

// points is a time series as a list of (t_hours, value).
func points(pts []simulate.Point) *starlark.List {
	vs := make([]starlark.Value, len(pts))
	for i, p := range pts {
		vs[i] = starlark.Tuple{hoursOf(p.T), starlark.Float(p.V)}
	}
	return starlark.NewList(vs)
}

// dose is one execute_io_action call, or one dosing event outside any.
type dose struct {
	t  time.Duration
	ml map[string]float64 // by dosing event
}

// doses groups the dosing events (pioreactor/sim/sim/dosing_events) of each
// execute_io_action call: those between its DosingStarted and its
// DosingStopped (or ErrorOccurred) on dosing_automation/latest_event. A
// dosing event outside a call (a pump run by add_media(...)) is a dose of
// its own.
func (r *recording) doses() *starlark.List {
	latest := topic.Join(simUnit, simExperiment, "dosing_automation", "latest_event")
	events := topic.DosingEvents(simUnit, simExperiment)
	var out []*dose
	var open *dose
	for _, m := range r.messages {
		switch m.topic {
		case latest:
			switch eventName(m.payload) {
			case payload.EventDosingStarted:
				open = &dose{t: m.t, ml: map[string]float64{}}
				out = append(out, open)
			case payload.EventDosingStopped, payload.EventErrorOccurred:
				open = nil
			}
		case events:
			ev, err := payload.ParseDosingEvent([]byte(m.payload))
			if err != nil {
				continue
			}
			d := open
			if d == nil {
				d = &dose{t: m.t, ml: map[string]float64{}}
				out = append(out, d)
			}
			d.ml[ev.Event] += float64(ev.VolumeChange)
		}
	}
	vs := make([]starlark.Value, len(out))
	for i, d := range out {
		vs[i] = newStruct("dose", starlark.StringDict{
			"t_hours":      hoursOf(d.t),
			"media_ml":     starlark.Float(d.ml["add_media"]),
			"alt_media_ml": starlark.Float(d.ml["add_alt_media"]),
			"waste_ml":     starlark.Float(d.ml["remove_waste"]),
			"ml":           eventML(d.ml),
		})
	}
	return starlark.NewList(vs)
}

// latestEvent is the part of a latest_event payload a test reads.
type latestEvent struct {
	Name    string `json:"event_name"`
	Message string `json:"message"`
}

func eventName(p string) string {
	var e latestEvent
	_ = json.Unmarshal([]byte(p), &e)
	return e.Name
}

// events are the events the script's job published on its latest_event
// (DilutionEvent, NoEvent, DosingStarted, ...), with their times.
func (r *recording) events(job string) *starlark.List {
	t := topic.Join(simUnit, simExperiment, job, "latest_event")
	var vs []starlark.Value
	for _, m := range r.messages {
		if m.topic != t || m.payload == "" {
			continue
		}
		var e latestEvent
		if json.Unmarshal([]byte(m.payload), &e) != nil {
			continue
		}
		vs = append(vs, newStruct("event", starlark.StringDict{
			"t_hours": hoursOf(m.t), "name": starlark.String(e.Name), "message": starlark.String(e.Message),
		}))
	}
	return starlark.NewList(vs)
}

// logList is the unit's log lines at INFO and above.
func (r *recording) logList() *starlark.List {
	vs := make([]starlark.Value, len(r.logs))
	for i, l := range r.logs {
		vs[i] = newStruct("log_line", starlark.StringDict{
			"t_hours": hoursOf(l.t), "level": starlark.String(l.level),
			"job": starlark.String(l.job), "message": starlark.String(l.message),
		})
	}
	return starlark.NewList(vs)
}

// published(suffix) lists the messages published on every topic that is
// suffix or ends with /suffix, as structs of t_hours, topic and payload
// (decoded if it is JSON, else the text).
func (r *recording) published(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var suffix string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "suffix", &suffix); err != nil {
		return nil, err
	}
	suffix = strings.Trim(suffix, "/")
	if suffix == "" {
		return nil, fmt.Errorf("published: want the end of a topic, such as \"od_reading/ods\"")
	}
	decode := starjson.Module.Members["decode"]
	var vs []starlark.Value
	for _, m := range r.messages {
		if m.topic != suffix && !strings.HasSuffix(m.topic, "/"+suffix) {
			continue
		}
		var v starlark.Value = starlark.String(m.payload)
		if json.Valid([]byte(m.payload)) {
			if d, err := starlark.Call(th, decode, starlark.Tuple{starlark.String(m.payload)}, nil); err == nil {
				v = d
			}
		}
		vs = append(vs, newStruct("message", starlark.StringDict{
			"t_hours": hoursOf(m.t), "topic": starlark.String(m.topic), "payload": v,
		}))
	}
	return starlark.NewList(vs), nil
}
