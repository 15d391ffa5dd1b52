package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// Monitor is the unit's long-running monitor job (experiment $experiment). In
// this runtime it is the one owner of the liquid model: it applies every
// message on pioreactor/<unit>/+/dosing_events to that experiment's State,
// persists it and publishes the variables retained on .../bioreactor/<var>.
//
// Others change the model by publishing a value to
// .../bioreactor/<var>/set (a dosing automation seeding its starting volume,
// a person correcting it); the monitor validates, persists and republishes.
//
// # Input rules
//
// A dosing event is refused, with one WARNING line that names the topic, the
// value, the limit and where the limit comes from, and the model is neither
// changed nor published, when:
//
//   - it is not a dosing event (not JSON, no volume_change);
//   - its experiment is not one this unit works in (see below);
//   - it breaks liquid.CheckEvent: an event name other than add_<name> or
//     remove_waste; a volume_change that is not finite or moves more than
//     the vial's capacity (the model's, [bioreactor] model) in one event; a
//     negative volume_change larger than what is booked under that event
//     (a correction takes back at most what was added or removed);
//   - its result breaks the model's bounds (liquid.Apply), e.g. a volume
//     above the vial's capacity.
//
// An experiment is one this unit works in if it is the Env's experiment, if
// the liquid store already holds a model for it, or if a job of this unit
// has announced itself in it (a retained or live
// pioreactor/<unit>/<experiment>/<job>/$state, whatever its value: a job
// that died still ran there). Its name must also be one upstream accepts:
// 1 to 199 characters, none of #$%+/\ and no control characters. Events and
// /set values for any other experiment are refused, so that a typo or a
// stray publisher cannot add models to the store (the monitor remembers at
// most maxAnnounced announced experiments, the oldest forgotten first).
//
// # Exactly once
//
// An event published through an outbox carries an event_id (package outbox).
// The monitor applies an id once: it keeps the ids applied per experiment
// (liquid.Seen) in the same save as the model, and it confirms every
// identified event on outbox.HandledTopic (applied, duplicate, refused or
// ignored) so that its outbox stops publishing it. An event without an id
// (upstream's pumps, pio simulate) is applied as it comes.
//
// # Unit health
//
// The monitor also watches the unit (health.go, health_events.go; see
// docs/monitor.md): self-checks at start and every [monitor.config]
// self_check_interval_hours (disk space, CPU temperature, the retained
// computer_statistics), the error codes jobs publish on
// .../monitor/flicker_led_with_error_code, and the unit's jobs that are lost.
type Monitor struct {
	*Job
	model config.Model
	vial  liquid.Vial

	// checkEvery is the time between self-checks (zero: once, at start).
	checkEvery time.Duration
	probes     probes

	mu         sync.Mutex
	records    map[string]liquid.Record
	announced  map[string]bool
	order      []string // announced, oldest first
	applied    int
	dropped    int
	duplicates int
	errorCodes int
	lost       map[string]bool // <experiment>/<job> of the jobs lost now
	ind        *indicators     // the status LED and button (indicators.go); nil without them
}

// maxAnnounced bounds the experiments the monitor remembers as announced.
const maxAnnounced = 4096

// Counts returns how many dosing events were applied and how many refused.
func (m *Monitor) Counts() (applied, dropped int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied, m.dropped
}

// Duplicates returns how many identified dosing events arrived again after
// they were applied (and were not applied again).
func (m *Monitor) Duplicates() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.duplicates
}

// StartMonitor starts the monitor job.
func StartMonitor(env *Env) (*Monitor, error) {
	o, err := env.Options()
	if err != nil {
		return nil, err
	}
	model := o.Bioreactor.Model
	job, err := NewJob(env, "monitor", topic.UniversalExperiment, Hooks{})
	if err != nil {
		return nil, err
	}
	vial := liquid.Vial{CapacityML: model.CapacityML}
	if model.Name != "" {
		vial.Source = "[bioreactor] model " + model.Name
	}
	m := &Monitor{Job: job, model: model, vial: vial, records: map[string]liquid.Record{}, announced: map[string]bool{},
		probes: machineProbes(env), lost: map[string]bool{}}
	every, err := selfCheckInterval(env.Config)
	if err != nil {
		m.Log.Warning("%v; the self-checks run every %v", err, every)
	}
	m.checkEvery = every
	if err := job.AddSetting(Setting{Name: "computer_statistics", Datatype: payload.TypeJSON}, nil); err != nil {
		job.Close()
		return nil, err
	}
	// Announcements first: their retained messages arrive before any event.
	subs := []struct {
		filter string
		handle func(pubsub.Message)
	}{
		{topic.Join(env.Unit, "+", "+", "$state"), m.onJobState},
		{topic.Join(env.Unit, "+", "dosing_events"), m.onDosingEvent},
		{topic.Join(env.Unit, "+", "bioreactor", "+", "set"), m.onSetValue},
		{ErrorCodeTopic(env.Unit), m.onErrorCode},
		{FlickerOkayTopic(env.Unit), m.onFlickerOkay},
		{FlickerOkayTopic(topic.Broadcast), m.onFlickerOkay},
	}
	for _, s := range subs {
		if err := job.Subscribe(s.filter, 2, s.handle); err != nil {
			job.Close()
			return nil, err
		}
	}
	if err := job.Start(); err != nil {
		job.Close()
		return nil, err
	}
	return m, nil
}

// Run runs the self-checks and keeps the monitor until ctx ends or it is
// disconnected, then closes it.
func (m *Monitor) Run(ctx context.Context) error {
	defer m.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The self-checks end with the job: when it is disconnected, Wait
	// returns and cancels them.
	m.env.Sched.Go("monitor self-checks", func() { m.runSelfChecks(ctx) })
	stopIndicators := m.runIndicators(ctx)
	defer func() { cancel(); stopIndicators() }()
	if err := m.Wait(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// DefaultLiquidState is the state of an experiment nothing is known about:
// the [bioreactor] initial values.
func DefaultLiquidState(o config.Options) liquid.State {
	b := o.Bioreactor
	return liquid.State{
		CurrentVolumeML: b.InitialVolumeML, EffluxTubeVolumeML: b.EffluxTubeVolumeML,
		AltMediaFraction: b.InitialAltMediaFraction, CumMediaML: b.InitialCumulativeMediaAddedML,
		CumAltMediaML: b.InitialCumulativeAltMediaAddedML, CumWasteML: b.InitialCumulativeWasteRemovedML,
	}
}

// LoadLiquidState returns an experiment's stored state, or the defaults.
func LoadLiquidState(env *Env, experiment string) (liquid.State, error) {
	st, ok, err := env.Liquid.Load(experiment)
	if err != nil {
		return st, err
	}
	if ok {
		return st, nil
	}
	o, err := env.Options()
	if err != nil {
		return st, err
	}
	return DefaultLiquidState(o), nil
}

// loadRecord returns an experiment's stored record (the events applied are
// not kept by a store that is not a liquid.RecordStore).
func (m *Monitor) loadRecord(exp string) (liquid.Record, bool, error) {
	if rs, ok := m.env.Liquid.(liquid.RecordStore); ok {
		return rs.LoadRecord(exp)
	}
	st, ok, err := m.env.Liquid.Load(exp)
	return liquid.Record{State: st}, ok, err
}

func (m *Monitor) saveRecord(exp string, r liquid.Record) error {
	if rs, ok := m.env.Liquid.(liquid.RecordStore); ok {
		return rs.SaveRecord(exp, r)
	}
	return m.env.Liquid.Save(exp, r.State)
}

// recordLocked returns the record of an experiment this unit works in,
// loading it on first use; an experiment it does not work in is refused.
func (m *Monitor) recordLocked(exp string) (liquid.Record, error) {
	if r, ok := m.records[exp]; ok {
		return r, nil
	}
	if err := checkExperimentName(exp); err != nil {
		return liquid.Record{}, err
	}
	r, stored, err := m.loadRecord(exp)
	if err != nil {
		return r, err
	}
	if !stored {
		if exp != m.env.Experiment && !m.announced[exp] {
			return r, fmt.Errorf("experiment %q is not one %s works in: it is not %s's experiment (%q), no job of %s has announced itself in it (pioreactor/%s/%s/<job>/$state), and the liquid store has no model for it",
				exp, m.env.Unit, m.env.Unit, m.env.Experiment, m.env.Unit, m.env.Unit, exp)
		}
		o, err := m.env.Options()
		if err != nil {
			return r, err
		}
		r = liquid.Record{State: DefaultLiquidState(o)}
	}
	m.records[exp] = r
	return r, nil
}

// CheckExperimentName applies upstream's rule for experiment names: 1 to
// 199 characters, none of #$%+/\ or a control character (a name is a level
// of every topic the unit publishes).
func CheckExperimentName(exp string) error { return checkExperimentName(exp) }

func checkExperimentName(exp string) error {
	const maxLen = 199
	if exp == "" || len(exp) > maxLen {
		return fmt.Errorf("experiment name %.40q…: want 1 to %d characters, got %d", exp, maxLen, len(exp))
	}
	for _, c := range exp {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(`#$%+/\`, c) {
			return fmt.Errorf("experiment name %q: %q is not allowed in one (upstream refuses #$%%+/\\ and control characters)", exp, c)
		}
	}
	return nil
}

// Liquid returns the liquid model of an experiment: for one the unit does
// not work in, the stored model or the defaults (nothing is kept).
func (m *Monitor) Liquid(exp string) (liquid.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, err := m.recordLocked(exp); err == nil {
		return r.State, nil
	}
	return LoadLiquidState(m.env, exp)
}

func (m *Monitor) publish(exp string, st liquid.State, names ...string) {
	for _, n := range names {
		v, _ := st.Get(n)
		_ = m.Client().Publish(m.env.Topic(exp, "bioreactor", n), payload.AppendPyFloat(make([]byte, 0, 24), v), 2, true)
	}
}

// onJobState notes the experiments this unit's jobs announce themselves in,
// and the jobs that are lost.
func (m *Monitor) onJobState(msg pubsub.Message) {
	m.watchLost(msg)
	exp, ok := topic.Experiment(msg.Topic)
	if !ok || len(msg.Payload) == 0 || exp == topic.UniversalExperiment || checkExperimentName(exp) != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.announced[exp] {
		return
	}
	m.announced[exp] = true
	m.order = append(m.order, exp)
	if len(m.order) > maxAnnounced {
		delete(m.announced, m.order[0])
		m.order = m.order[1:]
	}
}

func (m *Monitor) onDosingEvent(msg pubsub.Message) {
	exp, ok := topic.Experiment(msg.Topic)
	if !ok || msg.Retained || len(msg.Payload) == 0 {
		return
	}
	id, body := outbox.CutID(msg.Payload)
	ev, err := payload.ParseDosingEvent(body)
	if err != nil {
		m.refuse(msg.Topic, exp, id, err)
		return
	}
	var stream string
	var n uint64
	if id != "" {
		if stream, n, err = outbox.ParseID(id); err != nil {
			m.refuse(msg.Topic, exp, id, err)
			return
		}
	}
	if ev.SourceOfEvent != nil && *ev.SourceOfEvent == liquid.PumpCalibrationEvent {
		m.confirm(exp, id, outbox.Ignored)
		return
	}
	v := float64(ev.VolumeChange)
	m.mu.Lock()
	rec, err := m.recordLocked(exp)
	if err == nil && id != "" && rec.Seen.Has(stream, n) {
		m.duplicates++
		m.mu.Unlock()
		m.Log.Info("%s: dosing event %s was applied before; not applied again", msg.Topic, id)
		m.confirm(exp, id, outbox.Duplicate)
		return
	}
	var next liquid.Record
	if err == nil {
		err = liquid.CheckEvent(rec.State, ev.Event, v, m.vial)
	}
	if err == nil {
		next.State, err = liquid.Apply(rec.State, ev.Event, v, m.model.CapacityML)
	}
	if err != nil {
		m.mu.Unlock()
		m.refuse(msg.Topic, exp, id, err)
		return
	}
	next.Seen = rec.Seen
	var gaveUp uint64
	if id != "" {
		next.Seen, gaveUp = rec.Seen.With(stream, n)
	}
	if err := m.saveRecord(exp, next); err != nil {
		m.dropped++
		m.mu.Unlock()
		// Not confirmed: the outbox publishes it again.
		m.Log.Error("%s: dosing event not applied: the liquid store failed: %v", msg.Topic, err)
		return
	}
	m.records[exp] = next
	m.applied++
	m.mu.Unlock()
	if gaveUp > 0 {
		m.Log.Warning("%s: %d dosing events of stream %s never arrived after %d later ones did; they will not be counted if they come now", msg.Topic, gaveUp, stream, liquid.MaxAbove)
	}
	m.publish(exp, next.State, liquid.AltMediaFraction, liquid.CurrentVolume,
		liquid.CumulativeMedia, liquid.CumulativeAltMedia, liquid.CumulativeWaste)
	m.confirm(exp, id, outbox.Applied)
}

// refuse logs a refused dosing event, in one line, and confirms it (a
// refused event is refused again: its outbox need not publish it again).
func (m *Monitor) refuse(topicName, exp, id string, err error) {
	m.mu.Lock()
	m.dropped++
	m.mu.Unlock()
	if id != "" {
		m.Log.Warning("%s: dosing event %s refused: %v", topicName, id, err)
	} else {
		m.Log.Warning("%s: dosing event refused: %v", topicName, err)
	}
	m.confirm(exp, id, outbox.Refused)
}

// confirm tells the outbox of an identified event that it was handled.
func (m *Monitor) confirm(exp, id, outcome string) {
	if id == "" {
		return
	}
	b, _ := json.Marshal(outbox.Handled{Experiment: exp, EventID: id, Outcome: outcome})
	if err := m.Client().Publish(outbox.HandledTopic(m.env.Unit), b, 1, false); err != nil {
		m.env.console().Warn("dosing event handled but not confirmed; its outbox will publish it again", "event_id", id, "err", err)
	}
}

func (m *Monitor) onSetValue(msg pubsub.Message) {
	_, exp, rest, ok := topic.Parts(msg.Topic)
	if !ok || msg.Retained || len(rest) != 3 {
		return
	}
	name := rest[1]
	v, err := payload.CastPayload(payload.TypeFloat, string(msg.Payload))
	if err == nil {
		_, known := liquid.State{}.Get(name)
		if !known {
			err = fmt.Errorf("unknown variable (want one of %s)", strings.Join(liquid.Variables, ", "))
		} else {
			err = liquid.Validate(name, v.(float64), m.model.CapacityML)
		}
	}
	if err != nil {
		m.Log.Error("%s: %v", msg.Topic, err)
		return
	}
	m.mu.Lock()
	rec, err := m.recordLocked(exp)
	if err == nil {
		rec.State, _ = rec.State.With(name, v.(float64))
		if err = m.saveRecord(exp, rec); err == nil {
			m.records[exp] = rec
		}
	}
	m.mu.Unlock()
	if err != nil {
		m.Log.Error("%s: %v", msg.Topic, err)
		return
	}
	m.publish(exp, rec.State, name)
}
