package runtime

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
)

// ledChange is the fake status LED set on or off at a virtual time.
type ledChange struct {
	at time.Duration // since epoch
	on bool
}

type fakeLED struct {
	now func() time.Time

	mu      sync.Mutex
	changes []ledChange
	closed  bool
}

func (l *fakeLED) String() string { return "fake status LED" }
func (l *fakeLED) Halt() error    { return nil }

func (l *fakeLED) Set(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("fake status LED: closed")
	}
	// Only changes: the driver may set the level it already has.
	if n := len(l.changes); n == 0 && on || n > 0 && l.changes[n-1].on != on {
		l.changes = append(l.changes, ledChange{l.now().Sub(epoch), on})
	}
	return nil
}

func (l *fakeLED) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

func (l *fakeLED) recorded() []ledChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ledChange(nil), l.changes...)
}

type fakeButton struct {
	events chan bool
	once   sync.Once
}

func (b *fakeButton) String() string      { return "fake button" }
func (b *fakeButton) Halt() error         { return nil }
func (b *fakeButton) Events() <-chan bool { return b.events }
func (b *fakeButton) Close() error        { b.once.Do(func() { close(b.events) }); return nil }

// indicatorBoard is the harness's board with a status LED and a button.
type indicatorBoard struct {
	hw.Board
	led *fakeLED
	btn *fakeButton
}

func (b indicatorBoard) StatusLED() (hw.StatusLED, error) { return b.led, nil }
func (b indicatorBoard) Button() (hw.Button, error)       { return b.btn, nil }

func newIndicatorHarness(t *testing.T) (*harness, indicatorBoard) {
	h := newHarness(t)
	b := indicatorBoard{Board: h.env.Board, led: &fakeLED{now: h.clk.Now}, btn: &fakeButton{events: make(chan bool)}}
	h.env.Board = b
	return h, b
}

// on and off build the expected changes, in ms since epoch.
func on(ms int) ledChange  { return ledChange{time.Duration(ms) * time.Millisecond, true} }
func off(ms int) ledChange { return ledChange{time.Duration(ms) * time.Millisecond, false} }

func readyChanges(startMS int) []ledChange {
	var w []ledChange
	t := startMS
	for range 4 {
		w = append(w, on(t), off(t+140), on(t+280), off(t+420))
		t += 870
	}
	return w
}

func checkChanges(t *testing.T, what string, got, want []ledChange) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: LED changes\n got %v\nwant %v", what, got, want)
	}
}

func TestMonitorBlinksReadyAndErrorCodes(t *testing.T) {
	h, b := newIndicatorHarness(t)
	_, stop := startMonitorOn(h, &fakeMachine{free: 120e9})
	h.clk.RunUntil(context.Background(), epoch.Add(10*time.Second))
	want := readyChanges(0)
	checkChanges(t, "ready", b.led.recorded(), want)

	// Code 3 at 10 s; a code 4 at once is dropped, as is an okay during
	// the 5 s gap; a code 1 after the gap blinks.
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "3")
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "4")
	h.clk.RunUntil(context.Background(), epoch.Add(15*time.Second))
	h.set("pioreactor/$broadcast/$experiment/monitor/flicker_led_response_okay", "1")
	h.clk.RunUntil(context.Background(), epoch.Add(20*time.Second))
	want = append(want, on(10000), off(12000), on(12250), off(12500), on(12750), off(13000), on(13250), off(13500))
	checkChanges(t, "code 3", b.led.recorded(), want)

	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "1")
	h.clk.RunUntil(context.Background(), epoch.Add(21*time.Second))
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "2") // during code 1: dropped
	h.clk.RunUntil(context.Background(), epoch.Add(30*time.Second))
	want = append(want, on(20000), off(22000), on(22250), off(22500))
	checkChanges(t, "code 1", b.led.recorded(), want)

	h.set("pioreactor/unit1/exp1/monitor/flicker_led_response_okay", "1")
	h.clk.RunUntil(context.Background(), epoch.Add(40*time.Second))
	want = append(want, readyChanges(30000)...)
	checkChanges(t, "okay", b.led.recorded(), want)
	if !stop() {
		t.Fatal("Run did not end")
	}
}

func TestMonitorLEDOffWhenStoppedMidBlink(t *testing.T) {
	h, b := newIndicatorHarness(t)
	_, stop := startMonitorOn(h, &fakeMachine{free: 120e9})
	h.clk.RunUntil(context.Background(), epoch.Add(3500*time.Millisecond)) // after the ready blink
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "5")
	h.clk.RunUntil(context.Background(), epoch.Add(5850*time.Millisecond)) // in the first short blink
	if c := b.led.recorded(); !c[len(c)-1].on {
		t.Fatalf("LED changes %v: want it on at 5.85 s", c)
	}
	if !stop() {
		t.Fatal("Run did not end")
	}
	got := b.led.recorded()
	if len(got) == 0 || got[len(got)-1].on {
		t.Errorf("LED changes %v: want it off after the monitor stopped", got)
	}
	if !b.led.closed {
		t.Error("the status LED was not closed")
	}
	if _, open := <-b.btn.events; open {
		t.Error("the button was not closed")
	}
}

// waitFor settles the scheduler until cond holds (the button's events come
// through a goroutine of their own), for at most 2 s of real time.
func waitFor(h *harness, cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		h.settle()
		if cond() {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func TestMonitorButton(t *testing.T) {
	h, b := newIndicatorHarness(t)
	_, stop := startMonitorOn(h, &fakeMachine{free: 120e9})
	h.clk.RunUntil(context.Background(), epoch.Add(10*time.Second))
	const topic = "pioreactor/unit1/$experiment/monitor/button_down"
	if got := h.payloads(topic); len(got) != 1 || got[0] != "False" {
		t.Fatalf("button_down before a press: %q, want [False] (as upstream publishes a bool)", got)
	}
	ledOn := func() bool { c := b.led.recorded(); return c[len(c)-1].on }

	b.btn.events <- true
	if !waitFor(h, func() bool { return len(h.payloads(topic)) == 2 }) {
		t.Fatalf("button_down after a press: %q", h.payloads(topic))
	}
	if got := h.payloads(topic); got[1] != "True" || !ledOn() {
		t.Errorf("pressed: button_down %q, LED on %v; want true and on", got, ledOn())
	}
	b.btn.events <- false
	if !waitFor(h, func() bool { return len(h.payloads(topic)) == 3 }) {
		t.Fatalf("button_down after the release: %q", h.payloads(topic))
	}
	if got := h.payloads(topic); got[2] != "False" || ledOn() {
		t.Errorf("released: button_down %q, LED on %v; want false and off", got, ledOn())
	}
	for _, m := range h.published(topic) {
		if !m.Retained {
			t.Errorf("button_down %q not retained", m.Payload)
		}
	}

	b.btn.events <- true // held down when the monitor stops
	if !waitFor(h, func() bool { return len(h.payloads(topic)) == 4 }) {
		t.Fatalf("button_down after a press: %q", h.payloads(topic))
	}
	if !stop() {
		t.Fatal("Run did not end")
	}
	if ledOn() {
		t.Errorf("LED on after the monitor stopped: %v", b.led.recorded())
	}
}

func TestMonitorWithoutIndicatorsHasNoButton(t *testing.T) {
	h := newHarness(t)
	_, stop := startMonitorOn(h, &fakeMachine{free: 120e9})
	h.clk.RunUntil(context.Background(), epoch.Add(10*time.Second))
	h.set("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code", "3")
	h.clk.RunUntil(context.Background(), epoch.Add(20*time.Second))
	if got := h.payloads("pioreactor/unit1/$experiment/monitor/button_down"); len(got) != 0 {
		t.Errorf("button_down %q on a board without a button", got)
	}
	if !stop() {
		t.Fatal("Run did not end")
	}
}
