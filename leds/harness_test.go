package leds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeLEDs is an LED driver that remembers what it was told and can be
// made to fail.
type fakeLEDs struct {
	mu     sync.Mutex
	v      map[string]float64
	writes int
	fail   error // returned by SetIntensity while set
}

func (f *fakeLEDs) String() string { return "fake LEDs" }
func (f *fakeLEDs) Halt() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.v = map[string]float64{}
	return nil
}
func (f *fakeLEDs) SetIntensity(ch string, p float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.writes++
	f.v[ch] = p
	return nil
}
func (f *fakeLEDs) Intensity(ch string) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.v[ch]
}

// fakeBoard is the simulated reactor (for PWM) with a fake LED driver.
type fakeBoard struct {
	*sim.Reactor
	leds *fakeLEDs
}

func (b fakeBoard) Photodiode(int) (hw.ADC, error) { return nil, hw.ErrNotConfigured }
func (b fakeBoard) Thermometer() (hw.Thermometer, error) {
	return nil, hw.ErrNotConfigured
}
func (b fakeBoard) LEDs() (hw.LEDs, error)      { return b.leds, nil }
func (b fakeBoard) RPM() (hw.RPMCounter, error) { return nil, hw.ErrNotConfigured }

// harness is a unit on a virtual clock and the in-memory broker, with a
// fake LED driver.
type harness struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	leds   *fakeLEDs
	ctl    pubsub.Client
	rec    pubsubtest.Recorder
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory(), leds: &fakeLEDs{v: map[string]float64{}}}
	h.broker.Tap = h.rec.Tap
	reactor := sim.New(h.clk, sim.Options{Devices: map[int]string{1: "stirring"}})
	h.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil },
		Board:   fakeBoard{reactor, h.leds}, Config: config.New(),
	}
	h.ctl = h.broker.Connect(pubsub.Options{ClientID: "test"})
	t.Cleanup(func() { Release(h.env) })
	return h
}

func (h *harness) controller() *Controller {
	h.t.Helper()
	c, err := For(h.env)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// do runs fn as an actor and drives the scheduler until fn returns (within
// a virtual hour).
func (h *harness) do(fn func()) {
	done := false
	h.clk.Go("test", func() { fn(); done = true })
	for end := h.clk.Now().Add(time.Hour); !done && h.clk.Now().Before(end); {
		h.clk.RunUntil(context.Background(), h.clk.Now().Add(100*time.Millisecond))
	}
	if !done {
		h.t.Fatal("the test's actor did not finish within a virtual hour")
	}
}

// settle runs what is runnable now, without moving the clock.
func (h *harness) settle() { h.clk.RunUntil(context.Background(), h.clk.Now()) }

func (h *harness) set(topic, payload string) {
	h.t.Helper()
	if err := h.ctl.Publish(topic, []byte(payload), 1, false); err != nil {
		h.t.Fatal(err)
	}
	h.settle()
}

func (h *harness) topic(segs ...string) string {
	return "pioreactor/unit1/exp1/" + strings.Join(segs, "/")
}

func (h *harness) payloads(segs ...string) []string { return h.rec.Payloads(h.topic(segs...)) }

// logs returns the messages logged under task at level.
func (h *harness) logs(task, level string) []string {
	var out []string
	for _, p := range h.rec.Payloads(h.topic("logs", task, level)) {
		i := strings.Index(p, `"message":"`)
		j := strings.Index(p, `","level"`)
		if i >= 0 && j > i {
			out = append(out, p[i+len(`"message":"`):j])
		}
	}
	return out
}

func (h *harness) state() string {
	return fmt.Sprint(h.leds.Intensity("A"), h.leds.Intensity("B"), h.leds.Intensity("C"), h.leds.Intensity("D"))
}

var errDAC = errors.New("DAC43608: I2C write failed")
