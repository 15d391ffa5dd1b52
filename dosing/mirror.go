package dosing

import (
	"sync"
	"time"

	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/topic"
)

// mirror is the automation's copy of the liquid model, whose one owner is the
// unit's monitor: seeded at start, then kept up to date from the monitor's
// live publications on .../bioreactor/<variable>. It enforces max fill: a
// volume at or above it puts the job to sleep.
type mirror struct {
	a *Automation

	mu          sync.Mutex
	volume      float64
	altFraction float64
	efflux      float64
	lastWarn    time.Time
}

// start seeds the model (explicit values win, then stored, then defaults),
// asks the monitor to take the seeds, and subscribes to its updates.
func (m *mirror) start(opts Options) error {
	a := m.a
	env := a.Env()
	st, err := runtime.LoadLiquidState(env, env.Experiment)
	if err != nil {
		return err
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
		if err := liquid.Validate(s.name, v, a.model.CapacityML); err != nil {
			return err
		}
		m.set(s.name, v)
		_ = a.Client().Publish(topic.Set(env.Unit, env.Experiment, "bioreactor", s.name), []byte(payload.PyFloat(v)), 2, false)
	}
	for _, n := range []string{liquid.EffluxTubeVolume, liquid.CurrentVolume, liquid.AltMediaFraction} {
		n := n
		if err := a.Subscribe(topic.Bioreactor(env.Unit, env.Experiment, n), 2, func(msg pubsub.Message) { m.onUpdate(n, msg) }); err != nil {
			return err
		}
	}
	return nil
}

func (m *mirror) set(name string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch name {
	case liquid.CurrentVolume:
		m.volume = v
	case liquid.AltMediaFraction:
		m.altFraction = v
	case liquid.EffluxTubeVolume:
		m.efflux = v
	}
}

// CurrentVolume is the mirrored current_volume_ml.
func (a *Automation) CurrentVolume() float64 {
	a.mirror.mu.Lock()
	defer a.mirror.mu.Unlock()
	return a.mirror.volume
}

// AltMediaFraction is the mirrored alt_media_fraction.
func (a *Automation) AltMediaFraction() float64 {
	a.mirror.mu.Lock()
	defer a.mirror.mu.Unlock()
	return a.mirror.altFraction
}

// EffluxTubeVolume is the mirrored efflux_tube_volume_ml.
func (a *Automation) EffluxTubeVolume() float64 {
	a.mirror.mu.Lock()
	defer a.mirror.mu.Unlock()
	return a.mirror.efflux
}

func (m *mirror) onUpdate(name string, msg pubsub.Message) {
	// The retained value sent at subscription is the past: the mirror was
	// seeded with the authoritative value, and a stale retained volume must
	// not put a fresh job to sleep. Live updates arrive non-retained.
	if len(msg.Payload) == 0 || msg.Retained {
		return
	}
	a := m.a
	v, err := payload.CastPayload(payload.TypeFloat, string(msg.Payload))
	if err != nil {
		a.Log.Warning("%s: %v", msg.Topic, err)
		return
	}
	f := v.(float64)
	m.set(name, f)
	if name == liquid.CurrentVolume {
		m.checkFill(f)
	}
}

// checkFill puts the job to sleep at max fill and warns (at most every 10 s)
// from 95 % of it.
func (m *mirror) checkFill(volume float64) {
	a := m.a
	switch {
	case volume >= a.model.MaxFillML:
		a.Log.Error("Pausing all pumping since the vial is calculated to have a volume of %s mL, at or above the safety threshold of %s mL.", payload.PyFloat(volume), payload.PyFloat(a.model.MaxFillML))
		a.SetState(runtime.Sleeping)
	case volume >= a.model.WarnML():
		now := a.Env().Sched.Now()
		m.mu.Lock()
		warn := m.lastWarn.IsZero() || now.Sub(m.lastWarn) >= 10*time.Second
		if warn {
			m.lastWarn = now
		}
		m.mu.Unlock()
		if warn {
			a.Log.Warning("Vial is calculated to have a volume of %s mL. Is this expected?", payload.PyFloat(volume))
		}
	}
}

// MaxVolume is the model's max fill volume, the safety threshold at which
// pumping stops.
func (a *Automation) MaxVolume() float64 { return a.model.MaxFillML }
