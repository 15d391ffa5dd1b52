package readings

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/topic"
)

// Cache holds the latest and previous reading of every kind for one job,
// and whether the producing jobs run. Its handlers run on the job's inbox
// actor; Latest may be called from any actor.
type Cache struct {
	job   *runtime.Job
	sched sched.Scheduler

	mu       sync.Mutex
	latest   [numKinds]Reading
	has      [numKinds]bool
	previous [numKinds]Reading
	hasPrev  [numKinds]bool
	states   map[string]runtime.State // producer job -> its $state
	waiters  []sched.Signal
	onUpdate []func(Kind, Reading)
	liquid   map[string]float64 // the liquid model's retained values, by variable
}

// LiquidVariables are the liquid model's values a cache keeps, as the
// monitor publishes them (retained, bare numbers) on bioreactor/<variable>.
var LiquidVariables = []string{"current_volume_ml", "alt_media_fraction"}

// Subscribe makes a cache fed by job's subscriptions to every reading topic
// and to the producers' $state. Call it before job.Start(): the retained
// values arrive first, in the job's inbox.
func Subscribe(job *runtime.Job) (*Cache, error) {
	env := job.Env()
	c := &Cache{job: job, sched: env.Sched, states: map[string]runtime.State{}, liquid: map[string]float64{}}
	for _, v := range LiquidVariables {
		v := v
		if err := job.Subscribe(topic.Join(env.Unit, job.Experiment, "bioreactor", v), 1, func(m pubsub.Message) {
			f, err := strconv.ParseFloat(strings.TrimSpace(string(m.Payload)), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return // cleared, or not a number: the last good value stays
			}
			c.mu.Lock()
			c.liquid[v] = f
			c.mu.Unlock()
		}); err != nil {
			return nil, err
		}
	}
	for _, k := range Kinds() {
		k := k
		t := topic.Join(env.Unit, job.Experiment, k.Topic())
		if err := job.Subscribe(t, 1, func(m pubsub.Message) { c.put(k, m) }); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"od_reading", "growth_rate_calculating", "temperature_automation"} {
		name := name
		if err := job.Subscribe(topic.State(env.Unit, job.Experiment, name), 1, func(m pubsub.Message) {
			c.mu.Lock()
			c.states[name] = runtime.State(m.Payload)
			c.mu.Unlock()
		}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Liquid returns the liquid model's latest value of variable (one of
// LiquidVariables), if one was published.
func (c *Cache) Liquid(variable string) (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.liquid[variable]
	return v, ok
}

// put records a reading message. Empty payloads (a cleared retained value)
// and payloads that do not decode are ignored.
func (c *Cache) put(k Kind, m pubsub.Message) {
	if len(m.Payload) == 0 {
		return
	}
	r, err := parse(k, m.Payload)
	if err != nil {
		c.job.Log.Debug("Ignored a %s reading on %s: %v.", k, m.Topic, err)
		return
	}
	c.mu.Lock()
	if m.Retained && c.has[k] {
		// A retained copy is the last reading before the subscription: a
		// reading the cache already holds is as new or newer (a broker may
		// deliver a subscription's retained messages after live ones).
		c.mu.Unlock()
		return
	}
	if c.has[k] {
		c.previous[k], c.hasPrev[k] = c.latest[k], true
	}
	c.latest[k], c.has[k] = r, true
	waiters := c.waiters
	c.waiters = nil
	var fns []func(Kind, Reading)
	if !m.Retained {
		fns = c.onUpdate
	}
	c.mu.Unlock()
	for _, w := range waiters {
		w.Notify()
	}
	for _, fn := range fns {
		fn(k, r)
	}
}

// OnUpdate calls fn, on the job's inbox actor, with each live reading: not
// a retained copy, not an empty payload. fn must not block.
func (c *Cache) OnUpdate(fn func(k Kind, r Reading)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onUpdate = append(c.onUpdate, fn)
}

// Peek returns the latest reading of kind k, whatever its age, without
// waiting.
func (c *Cache) Peek(k Kind) (Reading, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest[k], c.has[k]
}

// Previous returns the reading before the latest of kind k.
func (c *Cache) Previous(k Kind) (Reading, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.previous[k], c.hasPrev[k]
}

// stopped lists the producers of k that do not run.
func (c *Cache) stopped(k Kind) []string {
	var out []string
	for _, p := range sources[k].producers {
		switch c.states[p] {
		case runtime.Init, runtime.Ready, runtime.Sleeping:
		default:
			out = append(out, p)
		}
	}
	return out
}

// Latest returns the latest reading of kind k, as upstream's latest_*
// properties do. With no reading yet it fails at once when a producer does
// not run, and otherwise waits up to FirstReadingTimeout on the scheduler.
// A reading older than StaleLimit (payload timestamp against the
// scheduler's now) fails. Its errors are *RequiredError, or ctx's error.
func (c *Cache) Latest(ctx context.Context, k Kind) (Reading, error) {
	if k < 0 || k >= numKinds {
		return Reading{}, fmt.Errorf("readings: unknown kind %d", int(k))
	}
	deadline := c.sched.Now().Add(FirstReadingTimeout)
	for {
		c.mu.Lock()
		r, ok := c.latest[k], c.has[k]
		var stopped []string
		if !ok {
			stopped = c.stopped(k)
		}
		var sig sched.Signal
		if !ok && len(stopped) == 0 {
			sig = c.sched.NewSignal()
			c.waiters = append(c.waiters, sig)
		}
		c.mu.Unlock()
		now := c.sched.Now()
		switch {
		case ok && now.Sub(r.At) > StaleLimit:
			return Reading{}, stale(k, r.At, now)
		case ok:
			return r, nil
		case len(stopped) > 0:
			return Reading{}, notRunning(k, stopped)
		}
		notified, err := sig.WaitUntil(ctx, deadline)
		if err != nil {
			c.dropWaiter(sig)
			return Reading{}, err
		}
		if !notified {
			c.dropWaiter(sig)
			c.mu.Lock()
			ok = c.has[k]
			c.mu.Unlock()
			if !ok {
				return Reading{}, noFirstReading(k, topic.Join(c.job.Env().Unit, c.job.Experiment, k.Topic()))
			}
		}
	}
}

func (c *Cache) dropWaiter(sig sched.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, w := range c.waiters {
		if w == sig {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}
