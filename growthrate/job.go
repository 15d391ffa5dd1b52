package growthrate

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

// JobName is the job's name, as upstream.
const JobName = "growth_rate_calculating"

// InitialODObservationsToSkip is how many OD messages the job discards
// before it starts (readings while od_reading settles).
const InitialODObservationsToSkip = 5

// Options are the job's command-line parameters.
type Options struct {
	// ClearCache forgets the experiment's cached normalisation factors
	// before the job starts, so that its warm-up learns them again.
	ClearCache bool
	// Cache holds the normalisation factors; nil is DefaultCache(env).
	Cache Cache
}

var _ runtime.Runner = (*Job)(nil)

// Job is a running growth_rate_calculating job.
type Job struct {
	*runtime.Job
	calc        *Calculator
	odTopic     string
	dosingTopic string
	odSeen      int    // OD messages received, skipped ones included
	out         []byte // reused for each payload

	mu    sync.Mutex
	fatal error // a warm-up that could not start the filter
}

// DefaultCache is where the job keeps its normalisation factors: a file
// (CacheFile) beside the unit's liquid store when that is a file, so under
// the unit's home; else a new MemCache, which lasts as long as the job (pass
// one MemCache in Options.Cache to keep factors across restarts in one
// process).
func DefaultCache(env *runtime.Env) Cache {
	if fs, ok := env.Liquid.(*liquid.FileStore); ok && fs.Path != "" {
		return &FileCache{Path: filepath.Join(filepath.Dir(fs.Path), CacheFile)}
	}
	return &MemCache{}
}

// ClearCache forgets the experiment's normalisation factors: upstream's
// pio run growth_rate_calculating clear_cache.
func ClearCache(env *runtime.Env, o Options) error {
	c := o.Cache
	if c == nil {
		c = DefaultCache(env)
	}
	return c.Delete(env.Experiment)
}

// Start checks the configuration, starts the job on env's experiment and
// subscribes to od_reading/ods and dosing_events (live messages only, in
// arrival order). The job is ready when Start returns.
func Start(env *runtime.Env, o Options) (*Job, error) {
	s, err := ReadSettings(env.Config)
	if err != nil {
		return nil, err
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	cache := o.Cache
	if cache == nil {
		cache = DefaultCache(env)
	}
	if o.ClearCache {
		if err := cache.Delete(env.Experiment); err != nil {
			return nil, err
		}
	}
	rj, err := runtime.NewJob(env, JobName, env.Experiment, runtime.Hooks{})
	if err != nil {
		return nil, err
	}
	j := &Job{Job: rj, calc: NewCalculator(s, env.Experiment, cache, rj.Log),
		odTopic:     env.Topic(env.Experiment, "od_reading", "ods"),
		dosingTopic: env.DosingEventsTopic(env.Experiment)}
	for _, st := range []runtime.Setting{
		{Name: "growth_rate", Datatype: payload.TypeJSON},
		{Name: "od_filtered", Datatype: payload.TypeJSON},
	} {
		if err := rj.AddSetting(st, nil); err != nil {
			rj.Close()
			return nil, err
		}
	}
	for _, t := range []string{j.odTopic, j.dosingTopic} {
		if err := rj.Subscribe(t, 2, j.onMessage); err != nil {
			rj.Close()
			return nil, err
		}
	}
	if warmup := time.Duration(float64(s.SamplesForODStatistics) / s.SamplesPerSecond * float64(time.Second)); warmup >= 10*time.Minute {
		rj.Log.Warning("Due to the low `samples_per_second`, and high `samples_for_od_statistics` needed to establish a baseline, initial growth rate and nOD may take over 10 minutes to show up.")
	}
	if err := rj.Start(); err != nil {
		rj.Close()
		return nil, err
	}
	rj.Log.Info("Collecting warmup OD observations for growth-rate initialization.")
	return j, nil
}

// Calculator is the job's stream logic. The job's inbox drives it: read it
// from a handler, or under the virtual scheduler when the unit is quiescent.
func (j *Job) Calculator() *Calculator { return j.calc }

// Run waits until the job is disconnected or ctx ends, then closes it. It
// returns the error of a warm-up that could not start the filter.
func (j *Job) Run(ctx context.Context) error {
	defer j.Close()
	if err := j.Wait(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fatal
}

// onMessage handles an OD reading or a dosing event, on the job's inbox, in
// arrival order. Retained messages (a reading or event from before the job
// started) are ignored, and so are empty ones: od_reading clears its
// retained readings when it stops.
func (j *Job) onMessage(m pubsub.Message) {
	if m.Retained || len(m.Payload) == 0 || j.State() == runtime.Disconnected {
		return
	}
	if m.Topic == j.dosingTopic {
		if _, err := payload.ParseDosingEvent(m.Payload); err != nil {
			j.Log.Warning("Failed to decode message: %v", err)
			return
		}
		j.calc.Dosing()
		return
	}
	j.odSeen++
	if j.odSeen <= InitialODObservationsToSkip {
		return
	}
	ods, at, err := parseODReadings(m.Payload)
	if err != nil {
		j.Log.Warning("Failed to decode message: %v", err)
		return
	}
	out, ok, err := j.calc.Reading(ods, at)
	if err != nil {
		j.mu.Lock()
		j.fatal = err
		j.mu.Unlock()
		j.SetState(runtime.Disconnected)
		return
	}
	if ok {
		j.publish("growth_rate", out.GrowthRate, out.At)
		j.publish("od_filtered", out.ODFiltered, out.At)
	}
}

// publish sets a result setting to {"<name>": v, "timestamp": at}.
func (j *Job) publish(name string, v float64, at time.Time) {
	j.out = appendOutput(j.out[:0], name, v, at)
	j.SetValue(name, append([]byte(nil), j.out...))
}
