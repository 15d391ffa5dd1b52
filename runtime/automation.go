package runtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/piolab/pio/payload"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// DosingJobName is the job name of every dosing automation.
const DosingJobName = "dosing_automation"

// FirstRunDelay is how long after ready an automation first runs by default,
// as upstream's built-in periodic automations do (run_after_seconds=2.0);
// [dosing_automation.config] first_run_delay_seconds changes it.
const FirstRunDelay = 2 * time.Second

// SettingDecl declares a script setting and its default.
type SettingDecl struct {
	Name     string
	Datatype string // float, integer, boolean, string
	Default  any
}

// PumpFunc moves ml of liquid and returns what it moved.
type PumpFunc func(ctx context.Context, ml float64) (float64, error)

// Program is a loaded automation: what DosingAutomation runs.
type Program interface {
	// Name is the automation_name.
	Name() string
	Settings() []SettingDecl
	// Execute runs one execute(). The returned event may be nil.
	Execute(ctx context.Context, a *DosingAutomation) (*payload.Event, error)
	// PumpFunc returns the script's add_<name>_to_bioreactor (name "waste":
	// remove_waste_from_bioreactor), if it defines one.
	PumpFunc(a *DosingAutomation, name string) (PumpFunc, bool)
}

// AutomationOptions start a dosing automation.
type AutomationOptions struct {
	Program Program
	// Overrides are settings given as text (pio run-script --volume 2).
	Overrides map[string]string
	// Starting liquid values; nil takes the stored value, else the config default.
	CurrentVolumeML, AltMediaFraction, EffluxTubeVolumeML *float64
}

// DosingAutomation is a dosing_automation job running a Program.
type DosingAutomation struct {
	*Job
	prog  Program
	model config.Model

	maxSubdose, pause, multiplier float64
	// MaxSteps bounds the Starlark steps of one execute(); MaxExecute its
	// duration on the runtime clock.
	MaxSteps   uint64
	MaxExecute time.Duration
	// FirstRunDelay is the wait between ready and the first execute().
	FirstRunDelay time.Duration

	mu            sync.Mutex
	volume        float64
	altFraction   float64
	efflux        float64
	lastWarn      time.Time
	stopPumping   bool
	activePump    context.CancelFunc
	runCancel     context.CancelFunc
	scopes        []*pumpScope
	duration      float64 // minutes; 0 when the script sets none
	lastRun       time.Time
	ranOnce       bool
	reschedule    bool
	wake          context.CancelFunc
	settingsSince time.Time

	// Doses counts completed execute_io_action calls, Errors failed execute() runs.
	Doses, Errors int
}

type pumpScope struct {
	event    string
	reported float64
}

// StartDosingAutomation creates the job, publishes its settings and seeds the
// liquid model, and moves it to ready. Call Run next.
func StartDosingAutomation(env *Env, opts AutomationOptions) (*DosingAutomation, error) {
	prog := opts.Program
	name := prog.Name()
	if name == "" || name == "config" {
		return nil, fmt.Errorf("automation_name %q is not allowed", name)
	}
	model, err := env.Config.Model()
	if err != nil {
		return nil, err
	}
	a := &DosingAutomation{prog: prog, model: model}
	const sec = "dosing_automation.config"
	for _, f := range []struct {
		key string
		def float64
		dst *float64
	}{{"max_subdose", 1.0, &a.maxSubdose}, {"pause_between_subdoses_seconds", 5.0, &a.pause},
		{"waste_removal_multiplier", 2.0, &a.multiplier}} {
		if *f.dst, err = env.Config.Float(sec, f.key, f.def); err != nil {
			return nil, err
		}
	}
	if a.maxSubdose <= 0 {
		return nil, fmt.Errorf("config: [%s] max_subdose must be positive, got %v", sec, a.maxSubdose)
	}
	steps, err := env.Config.Float(sec, "max_script_steps", 1e8)
	if err != nil {
		return nil, err
	}
	a.MaxSteps = uint64(steps)
	minutes, err := env.Config.Float(sec, "max_execute_minutes", 60)
	if err != nil {
		return nil, err
	}
	a.MaxExecute = time.Duration(minutes * float64(time.Minute))
	delay, err := env.Config.Float(sec, "first_run_delay_seconds", FirstRunDelay.Seconds())
	if err != nil {
		return nil, err
	}
	if delay < 0 {
		return nil, fmt.Errorf("config: [%s] first_run_delay_seconds must not be negative, got %v", sec, delay)
	}
	a.FirstRunDelay = time.Duration(delay * float64(time.Second))

	// Settings: check overrides against the declarations before anything is published.
	decls := prog.Settings()
	values := map[string]any{}
	known := map[string]SettingDecl{}
	for _, d := range decls {
		known[d.Name] = d
		values[d.Name] = d.Default
	}
	overrideNames := make([]string, 0, len(opts.Overrides))
	for k := range opts.Overrides {
		overrideNames = append(overrideNames, k)
	}
	sort.Strings(overrideNames)
	for _, k := range overrideNames {
		d, ok := known[k]
		if !ok {
			names := make([]string, 0, len(decls))
			for _, d := range decls {
				names = append(names, d.Name)
			}
			return nil, fmt.Errorf("unknown setting %q for %s (settings: %s)", k, name, strings.Join(names, ", "))
		}
		v, err := payload.CastPayload(d.Datatype, opts.Overrides[k])
		if err != nil {
			return nil, fmt.Errorf("setting %s: %v", k, err)
		}
		values[k] = v
	}
	if d, ok := values["duration"]; ok {
		f, isNum := toFloat(d)
		if !isNum || !(f > 0) {
			return nil, fmt.Errorf("setting duration: duration must be greater than 0 (minutes), got %v", d)
		}
		a.duration = f
		values["duration"] = f
	}

	job, err := NewJob(env, DosingJobName, env.Experiment, Hooks{
		OnSleeping:     a.onSleeping,
		OnDisconnected: a.onDisconnected,
	})
	if err != nil {
		return nil, err
	}
	a.Job = job
	fail := func(err error) (*DosingAutomation, error) { job.Close(); return nil, err }
	a.settingsSince = env.Clock.Now()
	if err := job.AddSetting(Setting{Name: "automation_name", Datatype: payload.TypeString}, name); err != nil {
		return fail(err)
	}
	if err := job.AddSetting(Setting{Name: "latest_event", Datatype: "AutomationEvent"}, nil); err != nil {
		return fail(err)
	}
	job.publishSetting("latest_event") // empty: clears an old run's event
	for _, d := range decls {
		s := Setting{Name: d.Name, Datatype: d.Datatype, Settable: true}
		if d.Name == "duration" {
			s.Set = a.setDuration
		}
		if err := job.AddSetting(s, values[d.Name]); err != nil {
			return fail(err)
		}
	}
	job.afterSettableChange = a.publishSettingsHistory
	if len(decls) > 0 {
		a.publishSettingsHistory()
	}
	job.Log.Info("Starting %s.", name)

	// The liquid model: seed it (explicit values win, then stored, then
	// defaults), then mirror the monitor's retained values.
	st, err := LoadLiquidState(env, env.Experiment)
	if err != nil {
		return fail(err)
	}
	seed := []struct {
		name string
		v    *float64
		cur  float64
	}{{liquid.EffluxTubeVolume, opts.EffluxTubeVolumeML, st.EffluxTubeVolumeML},
		{liquid.CurrentVolume, opts.CurrentVolumeML, st.CurrentVolumeML},
		{liquid.AltMediaFraction, opts.AltMediaFraction, st.AltMediaFraction}}
	for _, s := range seed {
		v := s.cur
		if s.v != nil {
			v = *s.v
		}
		if err := liquid.Validate(s.name, v, model.CapacityML); err != nil {
			return fail(err)
		}
		a.setMirror(s.name, v)
		_ = job.Client().Publish(topic.Set(env.Unit, env.Experiment, "bioreactor", s.name), []byte(payload.PyFloat(v)), 2, false)
	}
	for _, n := range []string{liquid.EffluxTubeVolume, liquid.CurrentVolume, liquid.AltMediaFraction} {
		n := n
		if err := job.Client().Subscribe(topic.Bioreactor(env.Unit, env.Experiment, n), 2, func(m pubsub.Message) { a.onMirror(n, m) }); err != nil {
			return fail(err)
		}
	}
	if err := job.Start(); err != nil {
		return fail(err)
	}
	return a, nil
}

func toFloat(v any) (float64, bool) {
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

// setDuration is the duration setting's /set handler: it reschedules as
// upstream does (next run = last run + new duration, or now if that passed or
// nothing ran yet).
func (a *DosingAutomation) setDuration(v any) error {
	f, _ := toFloat(v)
	if !(f > 0) {
		return fmt.Errorf("duration must be greater than 0, got %v", v)
	}
	a.mu.Lock()
	hadDuration := a.duration > 0
	a.duration = f
	a.reschedule = true
	wake := a.wake
	a.mu.Unlock()
	a.SetValue("duration", f)
	if hadDuration && wake != nil {
		wake() // a script without a duration runs once and has no schedule to change
	}
	return nil
}

func (a *DosingAutomation) publishSettingsHistory() {
	now := a.env.Clock.Now()
	settings, _ := json.Marshal(a.SettableValues())
	a.mu.Lock()
	since := a.settingsSince
	a.settingsSince = now
	a.mu.Unlock()
	msg, _ := json.Marshal(map[string]any{
		"pioreactor_unit": a.env.Unit, "experiment": a.Experiment,
		"started_at": payload.StructTimestamp(since), "ended_at": payload.StructTimestamp(now),
		"automation_name": a.prog.Name(),
		"settings":        base64.StdEncoding.EncodeToString(settings),
	})
	_ = a.Client().Publish(topic.Join(a.env.Unit, a.Experiment, DosingJobName, DosingJobName+"_settings"), msg, 2, false)
}

// Program returns the automation's program.
func (a *DosingAutomation) Program() Program { return a.prog }

// Setting returns a setting's current value.
func (a *DosingAutomation) Setting(name string) (any, bool) {
	a.Job.mu.Lock()
	defer a.Job.mu.Unlock()
	if _, ok := a.Job.settings[name]; !ok {
		return nil, false
	}
	return a.Job.values[name], true
}

func (a *DosingAutomation) setMirror(name string, v float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch name {
	case liquid.CurrentVolume:
		a.volume = v
	case liquid.AltMediaFraction:
		a.altFraction = v
	case liquid.EffluxTubeVolume:
		a.efflux = v
	}
}

// CurrentVolume is the mirrored current_volume_ml.
func (a *DosingAutomation) CurrentVolume() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.volume
}

// AltMediaFraction is the mirrored alt_media_fraction.
func (a *DosingAutomation) AltMediaFraction() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.altFraction
}

// EffluxTubeVolume is the mirrored efflux_tube_volume_ml.
func (a *DosingAutomation) EffluxTubeVolume() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.efflux
}

func (a *DosingAutomation) onMirror(name string, m pubsub.Message) {
	// The retained value sent at subscription is the past: the mirror was
	// seeded with the authoritative value, and a stale retained volume must
	// not put a fresh job to sleep. Live updates arrive non-retained.
	if len(m.Payload) == 0 || m.Retained {
		return
	}
	v, err := payload.CastPayload(payload.TypeFloat, string(m.Payload))
	if err != nil {
		a.Log.Warning("%s: %v", m.Topic, err)
		return
	}
	f := v.(float64)
	a.setMirror(name, f)
	if name != liquid.CurrentVolume {
		return
	}
	switch {
	case f >= a.model.MaxFillML:
		a.Log.Error("Pausing all pumping since the vial is calculated to have a volume of %s mL, at or above the safety threshold of %s mL.", payload.PyFloat(f), payload.PyFloat(a.model.MaxFillML))
		a.SetState(Sleeping)
	case f >= a.model.WarnML():
		now := a.env.Clock.Now()
		a.mu.Lock()
		warn := a.lastWarn.IsZero() || now.Sub(a.lastWarn) >= 10*time.Second
		if warn {
			a.lastWarn = now
		}
		a.mu.Unlock()
		if warn {
			a.Log.Warning("Vial is calculated to have a volume of %s mL. Is this expected?", payload.PyFloat(f))
		}
	}
}

// stopActivePumps publishes upstream's three stop commands and, because
// safety must not depend on the broker, also cancels the running pump directly.
func (a *DosingAutomation) stopActivePumps() {
	for _, action := range []string{"add_media", "add_alt_media", "remove_waste"} {
		_ = a.Client().Publish(topic.Set(a.env.Unit, a.Experiment, action, "$state"), []byte(Disconnected), 1, false)
	}
	a.mu.Lock()
	cancel := a.activePump
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (a *DosingAutomation) onSleeping() { a.stopActivePumps() }

func (a *DosingAutomation) onDisconnected() {
	a.mu.Lock()
	a.stopPumping = true
	cancel := a.runCancel
	a.mu.Unlock()
	a.stopActivePumps()
	if cancel != nil {
		cancel()
	}
}

// Run runs the automation until ctx ends, the job is disconnected (pio kill,
// $state/set), or, for a script without a duration, its one execute() is done.
// It always leaves the job disconnected and every pump it started off.
//
// Schedule: with a duration setting, execute() first runs FirstRunDelay after
// ready, then on a fixed grid every duration minutes (a late run skips grid
// points rather than drifting); runs that fall while sleeping are skipped.
// Without one, execute() runs once, FirstRunDelay after ready.
func (a *DosingAutomation) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.runCancel = cancel
	stopped := a.stopPumping
	a.mu.Unlock()
	defer a.Close()
	if stopped {
		return nil
	}
	clk := a.env.Clock
	next := clk.Now().Add(a.FirstRunDelay)
	var anchor time.Time
	for {
		waitCtx, wake := context.WithCancel(ctx)
		a.mu.Lock()
		a.wake = wake
		a.mu.Unlock()
		err := clk.SleepUntil(waitCtx, next)
		wake()
		if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
			return nil
		}
		a.mu.Lock()
		resched, dur, last, ran := a.reschedule, a.duration, a.lastRun, a.ranOnce
		a.reschedule = false
		a.mu.Unlock()
		if err != nil {
			if !resched {
				return nil
			}
			// duration changed: like upstream's new timer, run one new
			// duration after the last run, or now if that has passed or
			// nothing ran yet; the grid restarts there.
			next = clk.Now()
			if ran && last.Add(minutes(dur)).After(next) {
				next = last.Add(minutes(dur))
			}
			anchor = next
			continue
		}
		if a.State() == Ready {
			a.RunOnce(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		a.mu.Lock()
		dur, resched, last = a.duration, a.reschedule, a.lastRun
		a.reschedule = false
		a.mu.Unlock()
		if dur <= 0 {
			return nil // no duration: one run, then the job is done
		}
		if resched {
			next = last.Add(minutes(dur))
			if now := clk.Now(); next.Before(now) {
				next = now
			}
			anchor = next
			continue
		}
		if anchor.IsZero() {
			anchor = next
		}
		interval := minutes(dur)
		k := clk.Now().Sub(anchor)/interval + 1
		next = anchor.Add(k * interval)
	}
}

func minutes(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }

// RunOnce runs execute() once and publishes its event. An error is logged with
// its script position and published as ErrorOccurred; the job keeps running.
func (a *DosingAutomation) RunOnce(ctx context.Context) {
	if a.State() == Disconnected {
		return
	}
	a.mu.Lock()
	a.lastRun = a.env.Clock.Now()
	a.ranOnce = true
	a.mu.Unlock()
	ev, err := a.prog.Execute(ctx, a)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, clock.ErrEndOfTime) {
			a.Log.Info("execute() interrupted, the job is stopping: %v", err)
			return
		}
		a.mu.Lock()
		a.Errors++
		a.mu.Unlock()
		a.Log.Error("%v", err)
		a.SetValue("latest_event", payload.Event{Name: payload.EventErrorOccurred, Message: err.Error()})
		return
	}
	if ev != nil {
		a.Log.Info("%s", ev.Display())
		a.SetValue("latest_event", *ev)
	}
}

// ExecDeadline is when an execute() started at start must have finished.
func (a *DosingAutomation) ExecDeadline(start time.Time) time.Time { return start.Add(a.MaxExecute) }

// ExecuteIOAction is execute_io_action(waste_ml, **doses): it publishes
// DosingStarted, doses, publishes DosingStopped and returns the volumes moved.
// resolve finds the pump function for a dose name (media, salty_media, ...).
func (a *DosingAutomation) ExecuteIOAction(ctx context.Context, wasteML float64, doses []payload.Dose) (payload.Volumes, error) {
	data := append(payload.Volumes{{Key: "waste_ml", ML: wasteML}}, doses...)
	a.SetValue("latest_event", payload.Event{Name: payload.EventDosingStarted, Data: data})
	if err := checkDoses(wasteML, doses); err != nil {
		return nil, err
	}
	funcs := map[string]PumpFunc{}
	for _, d := range doses {
		if d.ML <= 0 {
			continue
		}
		name := strings.TrimSuffix(d.Key, "_ml")
		fn, err := a.pumpFunc(name)
		if err != nil {
			return nil, err
		}
		funcs[d.Key] = fn
	}
	var waste PumpFunc
	if wasteML > 0 {
		var err error
		if waste, err = a.pumpFunc("waste"); err != nil {
			return nil, err
		}
	}
	res, err := a.executeIOAction(ctx, wasteML, doses, funcs, waste)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.Doses++
	a.mu.Unlock()
	a.SetValue("latest_event", payload.Event{Name: payload.EventDosingStopped, Data: res})
	return res, nil
}

func checkDoses(wasteML float64, doses []payload.Dose) error {
	check := func(key string, v float64) error {
		if v != v || v > 1e300 || v < -1e300 {
			return fmt.Errorf("%s must be a finite number of mL, got %v", key, v)
		}
		if v < 0 {
			return fmt.Errorf("%s must not be negative, got %s", key, payload.PyFloat(v))
		}
		return nil
	}
	if err := check("waste_ml", wasteML); err != nil {
		return err
	}
	sum := 0.0
	for _, d := range doses {
		if !strings.HasSuffix(d.Key, "_ml") || d.Key == "_ml" {
			return fmt.Errorf("all kwargs should end in `_ml`, got %q", d.Key)
		}
		if err := check(d.Key, d.ML); err != nil {
			return err
		}
		sum += d.ML
	}
	if wasteML < sum-1e-9 {
		//lint:ignore ST1005 upstream's message, which people search for
		return fmt.Errorf("Not removing enough waste: waste_ml=%s is less than the %s mL added", payload.PyFloat(wasteML), payload.PyFloat(sum))
	}
	return nil
}

// pumpFunc resolves <name>_ml: the script's add_<name>_to_bioreactor (or
// remove_waste_from_bioreactor), else a built-in pump for media, alt_media and
// waste. Script functions are wrapped so that the volume they report reaches
// dosing_events exactly once.
func (a *DosingAutomation) pumpFunc(name string) (PumpFunc, error) {
	event := "add_" + name
	fname := "add_" + name + "_to_bioreactor"
	if name == "waste" {
		event, fname = "remove_waste", "remove_waste_from_bioreactor"
	}
	if fn, ok := a.prog.PumpFunc(a, name); ok {
		return a.accounted(event, fn), nil
	}
	switch name {
	case "media", "alt_media", "waste":
		device := name
		return func(ctx context.Context, ml float64) (float64, error) {
			return a.RunPump(ctx, device, &ml, nil)
		}, nil
	}
	return nil, fmt.Errorf("%s_ml needs a function %s(ml, unit, experiment, source_of_event) in the script; none is defined", name, fname)
}

// accounted runs a script pump function in an accounting scope: what pumps
// publish inside it is counted, and whatever it returns beyond that is
// published as one dosing event, so the liquid model sees each mL once.
func (a *DosingAutomation) accounted(event string, fn PumpFunc) PumpFunc {
	return func(ctx context.Context, ml float64) (float64, error) {
		s := &pumpScope{event: event}
		a.mu.Lock()
		a.scopes = append(a.scopes, s)
		a.mu.Unlock()
		moved, err := fn(ctx, ml)
		a.mu.Lock()
		a.scopes = a.scopes[:len(a.scopes)-1]
		a.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if moved != moved || moved < 0 || moved > 1e300 {
			return 0, fmt.Errorf("%s: the pump function returned %v; it must return the mL it moved (a finite number ≥ 0)", event, moved)
		}
		rest := moved - s.reported
		switch {
		case rest > 1e-9:
			pub := newEventPublisher(a.env, a.Client(), a.Experiment, event, a.SourceOfEvent(), a.report)
			pub.publish(rest)
			pub.close()
		case rest < -1e-9:
			a.Log.Warning("%s: the pump function returned %s mL but its pumps reported %s mL; keeping the pumps' figure", event, payload.PyFloat(moved), payload.PyFloat(s.reported))
		}
		return moved, nil
	}
}

// report adds a published volume to every open accounting scope.
func (a *DosingAutomation) report(ml float64) {
	a.mu.Lock()
	for _, s := range a.scopes {
		s.reported += ml
	}
	a.mu.Unlock()
}

// SourceOfEvent is "dosing_automation:<automation_name>".
func (a *DosingAutomation) SourceOfEvent() string { return DosingJobName + ":" + a.prog.Name() }

// RunPump runs a pump on behalf of the automation (and its script): it can be
// stopped by sleeping or disconnecting the job, and what it moves is counted
// in the open accounting scopes.
func (a *DosingAutomation) RunPump(ctx context.Context, device string, ml, duration *float64) (float64, error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	if a.stopPumping {
		a.mu.Unlock()
		return 0, nil
	}
	prev := a.activePump
	a.activePump = cancel
	event := ""
	if device != "media" && device != "alt_media" && device != "waste" && len(a.scopes) > 0 {
		event = a.scopes[len(a.scopes)-1].event
	}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.activePump = prev
		a.mu.Unlock()
	}()
	return RunPump(pctx, a.env, a.Experiment, PumpRequest{
		Device: device, ML: ml, Duration: duration, Event: event,
		SourceOfEvent: a.SourceOfEvent(), Client: a.Client(), OnEvent: a.report, Log: a.Log,
	})
}

// gate waits while the job sleeps (polling every 5 s, as upstream does), and
// while its broker connection is down (no pump starts without a way to stop
// it), and reports whether a pump may run now.
func (a *DosingAutomation) gate(ctx context.Context) (bool, error) {
	for a.State() == Sleeping || !a.Connected() {
		if err := clock.Sleep(ctx, a.env.Clock, 5*time.Second); err != nil {
			return false, err
		}
	}
	a.mu.Lock()
	stop := a.stopPumping
	a.mu.Unlock()
	return a.State() == Ready && !stop, nil
}

func (a *DosingAutomation) executeIOAction(ctx context.Context, wasteML float64, doses []payload.Dose, funcs map[string]PumpFunc, waste PumpFunc) (payload.Volumes, error) {
	res := payload.Volumes{{Key: "waste_ml", ML: 0}}
	sum := 0.0
	for _, d := range doses {
		res = append(res, payload.Dose{Key: d.Key, ML: 0})
		sum += d.ML
	}
	if sum > a.maxSubdose {
		half := make([]payload.Dose, len(doses))
		for i, d := range doses {
			half[i] = payload.Dose{Key: d.Key, ML: d.ML / 2}
		}
		for range 2 {
			r, err := a.executeIOAction(ctx, wasteML/2, half, funcs, waste)
			for _, d := range r {
				res.Add(d.Key, d.ML)
			}
			if err != nil {
				return res, err
			}
		}
	} else if err := a.leaf(ctx, wasteML, doses, funcs, waste, res); err != nil {
		return res, err
	}
	if got := res.Get("waste_ml"); got < wasteML {
		a.Log.Warning("Waste was under-removed. Expected to remove %s ml, only removed %s ml.", payload.PyFloat(wasteML), payload.PyFloat(got))
	}
	return res, nil
}

func (a *DosingAutomation) leaf(ctx context.Context, wasteML float64, doses []payload.Dose, funcs map[string]PumpFunc, waste PumpFunc, res payload.Volumes) error {
	projected := a.CurrentVolume()
	stopAt := a.model.MaxFillML
	pause := time.Duration(a.pause * float64(time.Second))
	for _, d := range doses {
		if projected+d.ML >= stopAt {
			a.Log.Error("Pausing all pumping since %s + %s mL is beyond safety threshold %s mL.", payload.PyFloat(projected), payload.PyFloat(d.ML), payload.PyFloat(stopAt))
			a.SetState(Sleeping)
			return nil
		}
		moved, err := a.gatedPump(ctx, funcs[d.Key], d.ML, pause)
		res.Add(d.Key, moved)
		projected += moved
		if err != nil {
			return err
		}
	}
	moved, err := a.gatedPump(ctx, waste, wasteML, 50*time.Millisecond)
	res.Add("waste_ml", moved)
	if err != nil {
		return err
	}
	// Extra waste runs the pump but is not reported, as upstream.
	_, err = a.gatedPump(ctx, waste, wasteML*a.multiplier, 50*time.Millisecond)
	return err
}

// gatedPump runs fn for ml if ml > 0 and the gate lets it, then pauses.
func (a *DosingAutomation) gatedPump(ctx context.Context, fn PumpFunc, ml float64, pause time.Duration) (float64, error) {
	if ml <= 0 {
		return 0, nil
	}
	if ok, err := a.gate(ctx); !ok || err != nil {
		return 0, err
	}
	moved, err := fn(ctx, ml)
	if err != nil {
		return moved, err
	}
	return moved, clock.Sleep(ctx, a.env.Clock, pause)
}
