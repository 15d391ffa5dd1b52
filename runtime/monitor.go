package runtime

import (
	"context"
	"fmt"
	"github.com/piolab/pio/payload"
	"strings"
	"sync"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
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
type Monitor struct {
	*Job
	model config.Model

	mu               sync.Mutex
	states           map[string]liquid.State
	applied, dropped int
}

// Counts returns how many dosing events were applied and how many refused.
func (m *Monitor) Counts() (applied, dropped int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied, m.dropped
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
	m := &Monitor{Job: job, model: model, states: map[string]liquid.State{}}
	if err := job.Subscribe(topic.Join(env.Unit, "+", "dosing_events"), 2, m.onDosingEvent); err != nil {
		job.Close()
		return nil, err
	}
	if err := job.Subscribe(topic.Join(env.Unit, "+", "bioreactor", "+", "set"), 2, m.onSetValue); err != nil {
		job.Close()
		return nil, err
	}
	if err := job.Start(); err != nil {
		job.Close()
		return nil, err
	}
	return m, nil
}

// Run keeps the monitor until ctx ends or it is disconnected, then closes it.
func (m *Monitor) Run(ctx context.Context) error {
	defer m.Close()
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

// stateLocked returns the state of an experiment, loading it on first use.
func (m *Monitor) stateLocked(exp string) (liquid.State, error) {
	if st, ok := m.states[exp]; ok {
		return st, nil
	}
	st, err := LoadLiquidState(m.env, exp)
	if err != nil {
		return st, err
	}
	m.states[exp] = st
	return st, nil
}

// Liquid returns the liquid model of an experiment.
func (m *Monitor) Liquid(exp string) (liquid.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stateLocked(exp)
}

func (m *Monitor) publish(exp string, st liquid.State, names ...string) {
	for _, n := range names {
		v, _ := st.Get(n)
		_ = m.Client().Publish(m.env.Topic(exp, "bioreactor", n), payload.AppendPyFloat(make([]byte, 0, 24), v), 2, true)
	}
}

func (m *Monitor) onDosingEvent(msg pubsub.Message) {
	exp, ok := topic.Experiment(msg.Topic)
	if !ok || msg.Retained || len(msg.Payload) == 0 {
		return
	}
	ev, err := payload.ParseDosingEvent(msg.Payload)
	if err != nil {
		m.drop("%s: %v", msg.Topic, err)
		return
	}
	if ev.SourceOfEvent != nil && *ev.SourceOfEvent == liquid.PumpCalibrationEvent {
		return
	}
	m.mu.Lock()
	st, err := m.stateLocked(exp)
	if err == nil {
		var next liquid.State
		next, err = liquid.Apply(st, ev.Event, float64(ev.VolumeChange), m.model.CapacityML)
		if err == nil {
			if err = m.env.Liquid.Save(exp, next); err == nil {
				m.states[exp] = next
				st = next
			}
		}
	}
	if err != nil {
		m.mu.Unlock()
		m.drop("%s: dosing event dropped: %v", msg.Topic, err)
		return
	}
	m.applied++
	m.mu.Unlock()
	m.publish(exp, st, liquid.AltMediaFraction, liquid.CurrentVolume,
		liquid.CumulativeMedia, liquid.CumulativeAltMedia, liquid.CumulativeWaste)
}

func (m *Monitor) drop(format string, a ...any) {
	m.mu.Lock()
	m.dropped++
	m.mu.Unlock()
	m.Log.Warning(format, a...)
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
	st, err := m.stateLocked(exp)
	if err == nil {
		st, _ = st.With(name, v.(float64))
		if err = m.env.Liquid.Save(exp, st); err == nil {
			m.states[exp] = st
		}
	}
	m.mu.Unlock()
	if err != nil {
		m.Log.Error("%s: %v", msg.Topic, err)
		return
	}
	m.publish(exp, st, name)
}
