// Package leds drives a unit's four LED channels, A to D: the controller
// every job changes them through (od_reading's IR LED, light programs, the
// led_intensity action), and the led_automation job that runs a light
// program (a Starlark script of the "led" family, or Go).
//
// The controller keeps upstream's rules (A6.1): a change is checked whole
// before anything is written, channels another job has locked are left
// alone, and every applied change is published as the full state on
// leds/intensity (retained) and as one LEDChangeEvent per changed channel on
// led_change_events.
package leds

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

// Channels are the LED channels, in order.
var Channels = []string{"A", "B", "C", "D"}

// MaxIntensity is the highest intensity, in percent.
const MaxIntensity = 100.0

// Controller is a unit's LED state: the driver, the intensity of each
// channel as last written, and the locks jobs hold on channels. There is one
// per Env (For). Its methods are safe for concurrent use; none of them waits
// on the scheduler.
//
// The controller publishes on an MQTT connection of its own, opened with
// env.Connect when For first creates it (client id leds-<unit>-<experiment>,
// no last will): the callers of Set (a job, the led_intensity action, a
// script) need not lend theirs, and a change made while a job closes its own
// connection is still published. Release closes it.
//
// For's controller is verbose: each changed channel is published on
// led_change_events and logged. Quiet returns a view of the same LEDs that
// publishes only leds/intensity (upstream's verbose=False, which od_reading
// uses for its changes around each reading).
type Controller struct {
	*unitLEDs
	verbose bool
}

// unitLEDs is the state of one unit's LEDs, shared by its Controller views.
type unitLEDs struct {
	env    *runtime.Env
	driver hw.LEDs
	client pubsub.Client
	log    *logger

	// apply serialises changes, so that the retained state on
	// leds/intensity is always the last one written.
	apply sync.Mutex

	mu    sync.Mutex
	state map[string]float64
	locks map[string]*lock
}

type lock struct {
	owner string
	depth int
}

var (
	registryMu  sync.Mutex
	controllers = map[*runtime.Env]*Controller{}
)

// For returns the LED controller of env's unit, creating it on first use. It
// fails, naming what is missing, when the board has no LEDs, and when the
// MQTT connection cannot be opened. A new controller starts from the
// intensities the driver reports.
func For(env *runtime.Env) (*Controller, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if c, ok := controllers[env]; ok {
		return c, nil
	}
	sensors, err := hw.SensorsOf(env.Board)
	if err != nil {
		return nil, fmt.Errorf("leds: %w", err)
	}
	driver, err := sensors.LEDs()
	if err != nil {
		return nil, fmt.Errorf("leds: %s has no LED driver: %w", env.Board.Name(), err)
	}
	// The process id keeps the connections of two processes of one unit
	// (a unit and a pio run led_intensity) from taking each other's place.
	client, err := env.Connect(pubsub.Options{ClientID: fmt.Sprintf("leds-%s-%s-%d", env.Unit, env.Experiment, os.Getpid())})
	if err != nil {
		return nil, fmt.Errorf("leds: connecting to MQTT: %w", err)
	}
	c := &Controller{unitLEDs: &unitLEDs{env: env, driver: driver, client: client, state: map[string]float64{}, locks: map[string]*lock{}}, verbose: true}
	c.log = newLogger(env, client, env.Experiment, ActionName)
	for _, ch := range Channels {
		c.state[ch] = driver.Intensity(ch)
	}
	controllers[env] = c
	return c, nil
}

// Quiet returns a view of the same LEDs, locks and connection whose changes
// publish leds/intensity only: no LEDChangeEvent, no log line.
func (c *Controller) Quiet() *Controller { return &Controller{unitLEDs: c.unitLEDs} }

// Release forgets env's controller and closes its MQTT connection; the next
// For creates a new one. The LEDs keep their intensities.
func Release(env *runtime.Env) {
	registryMu.Lock()
	c, ok := controllers[env]
	delete(controllers, env)
	registryMu.Unlock()
	if ok {
		_ = c.client.Close()
	}
}

// CheckChannel validates a channel name.
func CheckChannel(ch string) error {
	for _, c := range Channels {
		if ch == c {
			return nil
		}
	}
	return fmt.Errorf("leds: unknown channel %q (the channels are A, B, C and D)", ch)
}

// CheckIntensity validates an intensity for a channel.
func CheckIntensity(ch string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("leds: intensity %v for channel %s is not a finite number", v, ch)
	case v < 0:
		return fmt.Errorf("leds: intensity %v for channel %s is below the minimum 0", v, ch)
	case v > MaxIntensity:
		return fmt.Errorf("leds: intensity %v for channel %s is above the maximum 100", v, ch)
	}
	return nil
}

// check validates a whole change.
func check(changes map[string]float64) error {
	for _, ch := range sortedKeys(changes) {
		if err := CheckChannel(ch); err != nil {
			return err
		}
		if err := CheckIntensity(ch, changes[ch]); err != nil {
			return err
		}
	}
	return nil
}

// Set changes the intensity of the channels in changes (percent, 0 to 100);
// the others keep theirs. An invalid change (an unknown channel, an
// intensity that is out of range or not a number) or a driver error returns
// an error and changes nothing. Channels locked by any owner are left
// alone and applied is false; the others are applied. On success it
// publishes the full state on leds/intensity (retained, QoS 0) and, unless
// the controller is Quiet, one LEDChangeEvent per changed channel on
// led_change_events and logs "Updated LED X from a% to b%." for each. source is the events'
// source_of_event ("" publishes null).
//
// Set does not wait; ctx only refuses a change asked for by work that has
// already been stopped. It must not be called from an MQTT handler of the
// controller's own messages.
func (c *Controller) Set(ctx context.Context, changes map[string]float64, source string) (applied bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("leds: %w", err)
	}
	if err := check(changes); err != nil {
		return false, err
	}
	c.apply.Lock()
	defer c.apply.Unlock()

	c.mu.Lock()
	applied = true
	var todo []string
	for _, ch := range sortedKeys(changes) {
		if l := c.locks[ch]; l != nil {
			applied = false
			continue
		}
		todo = append(todo, ch)
	}
	old := make(map[string]float64, len(c.state))
	for k, v := range c.state {
		old[k] = v
	}
	c.mu.Unlock()

	// Write the driver; on a failure, put back what was written.
	for i, ch := range todo {
		if err := c.driver.SetIntensity(ch, changes[ch]); err != nil {
			for _, done := range todo[:i] {
				_ = c.driver.SetIntensity(done, old[done])
			}
			return false, fmt.Errorf("leds: writing channel %s to %v%%: %w", ch, changes[ch], err)
		}
	}

	c.mu.Lock()
	for _, ch := range todo {
		c.state[ch] = changes[ch]
	}
	now := c.snapshotLocked()
	c.mu.Unlock()

	at := c.env.Sched.Now()
	c.publish(c.env.Topic(c.env.Experiment, "leds", "intensity"), intensityJSON(now), true)
	for _, ch := range todo {
		if old[ch] == now[ch] || !c.verbose {
			continue
		}
		ev := ChangeEvent{Channel: ch, Intensity: now[ch], Source: source, At: at}
		c.publish(c.env.Topic(c.env.Experiment, "led_change_events"), ev.AppendJSON(nil), false)
		c.log.info("Updated LED %s from %s%% to %s%%.", ch, pyG3(old[ch]), pyG3(now[ch]))
	}
	return applied, nil
}

func (c *Controller) publish(topic string, body []byte, retained bool) {
	if err := c.client.Publish(topic, body, 0, retained); err != nil {
		c.log.warning("Could not publish on %s: %v", topic, err)
	}
}

// Intensities returns every channel's intensity as last written.
func (c *Controller) Intensities() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshotLocked()
}

func (c *Controller) snapshotLocked() map[string]float64 {
	out := make(map[string]float64, len(Channels))
	for _, ch := range Channels {
		out[ch] = c.state[ch]
	}
	return out
}

// Lock locks channels for owner: until unlock is called, Set leaves them
// alone, whoever asks (owner included). Locks are re-entrant by owner: a
// second Lock by the same owner nests, and the channel stays locked until
// both are released. A channel another owner holds stays that owner's, and
// this Lock's unlock does not release it. unlock may be called more than
// once; only the first call counts.
func (c *Controller) Lock(owner string, channels ...string) (unlock func()) {
	c.mu.Lock()
	var held []string
	for _, ch := range channels {
		l := c.locks[ch]
		switch {
		case l == nil:
			c.locks[ch] = &lock{owner: owner, depth: 1}
		case l.owner == owner:
			l.depth++
		default:
			continue
		}
		held = append(held, ch)
	}
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, ch := range held {
				if l := c.locks[ch]; l != nil && l.owner == owner {
					if l.depth--; l.depth == 0 {
						delete(c.locks, ch)
					}
				}
			}
		})
	}
}

// Locked reports which owner holds ch ("" if none).
func (c *Controller) Locked(ch string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.locks[ch]; l != nil {
		return l.owner
	}
	return ""
}

// Temporarily applies changes and returns restore, which puts the changed
// channels back to the intensities they had before. An invalid change
// returns an error and changes nothing; a change that could not be applied
// whole (a locked channel) puts back what it changed and returns an error
// "leds: unable to update LED ...". restore is safe to call more than once
// (only the first call counts) and works after ctx has ended; it returns an
// error if a channel could not be restored (locked in the meantime).
func (c *Controller) Temporarily(ctx context.Context, changes map[string]float64, source string) (restore func() error, err error) {
	if err := check(changes); err != nil {
		return nil, err
	}
	cur := c.Intensities()
	old := make(map[string]float64, len(changes))
	for ch := range changes {
		old[ch] = cur[ch]
	}
	bg := context.WithoutCancel(ctx)
	put := func() error {
		ok, err := c.Set(bg, old, source)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("leds: unable to restore LED %s: %s", joinKeys(old), c.lockedDesc(old))
		}
		return nil
	}
	applied, err := c.Set(ctx, changes, source)
	if err != nil {
		return nil, err
	}
	if !applied {
		desc := c.lockedDesc(changes)
		_ = put()
		return nil, fmt.Errorf("leds: unable to update LED %s: %s", joinKeys(changes), desc)
	}
	var once sync.Once
	var rerr error
	return func() error {
		once.Do(func() { rerr = put() })
		return rerr
	}, nil
}

// lockedDesc names the locked channels of changes and their owners.
func (c *unitLEDs) lockedDesc(changes map[string]float64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for _, ch := range sortedKeys(changes) {
		if l := c.locks[ch]; l != nil {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("channel %s is locked by %s", ch, l.owner)
		}
	}
	return s
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinKeys(m map[string]float64) string {
	s := ""
	for i, k := range sortedKeys(m) {
		if i > 0 {
			s += ", "
		}
		s += k
	}
	return s
}
