package runtime

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/topic"
)

// blinkStep is one stretch of a blink pattern: the LED on or off for d.
type blinkStep struct {
	on bool
	d  time.Duration
}

// readyPattern is upstream's "ready" blink: 4 × (on 0.14 s, off 0.14 s,
// on 0.14 s, off 0.45 s).
func readyPattern() []blinkStep {
	var p []blinkStep
	for range 4 {
		p = append(p, blinkStep{true, 140 * time.Millisecond}, blinkStep{false, 140 * time.Millisecond},
			blinkStep{true, 140 * time.Millisecond}, blinkStep{false, 450 * time.Millisecond})
	}
	return p
}

// errorCodePattern is upstream's blink of error code n: on 2 s, off 0.25 s,
// then n × (on 0.25 s, off 0.25 s), then a 5 s gap (off).
func errorCodePattern(n int) []blinkStep {
	p := []blinkStep{{true, 2 * time.Second}, {false, 250 * time.Millisecond}}
	for range n {
		p = append(p, blinkStep{true, 250 * time.Millisecond}, blinkStep{false, 250 * time.Millisecond})
	}
	return append(p, blinkStep{false, 5 * time.Second})
}

// maxBlinkCode bounds the error code the LED blinks (upstream's codes are 1
// to 8); a larger one is only logged.
const maxBlinkCode = 20

// FlickerOkayTopic is the filter of the requests for the ready blink of a
// unit, in any experiment.
func FlickerOkayTopic(unit string) string {
	return topic.Join(unit, "+", "monitor", "flicker_led_response_okay")
}

// indicators drives the monitor's status LED and button, when the board has
// them (hw.Indicators): the ready blink when the monitor starts and on each
// flicker_led_response_okay, the blink of each error code, and the
// published setting button_down (the LED is on while the button is down).
//
// A blink in progress, its closing gap included, is not interrupted: a
// request that comes during one is dropped (logged at debug level).
type indicators struct {
	job *Job
	led hw.StatusLED
	btn hw.Button // nil: the board's button did not open

	blinks  *sched.Inbox[[]blinkStep]
	presses *sched.Inbox[bool]

	mu      sync.Mutex
	busy    bool // a blink is queued or playing
	blinkOn bool
	down    bool
	running int
	exited  sched.Signal
}

// startIndicators opens the board's LED and button and starts the actors
// that drive them, beginning with the ready blink. It returns nil, and does
// nothing, when the board has no indicators or its LED does not open.
func startIndicators(ctx context.Context, job *Job) *indicators {
	ind, ok := job.env.Board.(hw.Indicators)
	if !ok {
		return nil
	}
	led, err := ind.StatusLED()
	if err != nil {
		job.Log.Warning("the status LED is not used: %v", err)
		return nil
	}
	s := job.env.Sched
	in := &indicators{job: job, led: led, blinks: sched.NewInbox[[]blinkStep](s), presses: sched.NewInbox[bool](s),
		exited: s.NewSignal()}
	if btn, err := ind.Button(); err != nil {
		job.Log.Warning("the button is not used: %v", err)
	} else if err := job.AddSetting(Setting{Name: "button_down", Datatype: payload.TypeBoolean}, false); err != nil {
		job.Log.Warning("the button is not used: %v", err)
		_ = btn.Close()
	} else {
		in.btn = btn
	}
	in.running = 1
	s.Go("monitor LED", func() { in.runBlinks(ctx) })
	if in.btn != nil {
		in.running++
		go in.forwardPresses()
		s.Go("monitor button", func() { in.runButton(ctx) })
	}
	in.blink(readyPattern())
	return in
}

// blink queues a pattern unless one is queued or playing.
func (in *indicators) blink(p []blinkStep) bool {
	if in == nil {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.busy {
		in.job.Log.Debug("a blink is in progress; this one is dropped")
		return false
	}
	in.busy = true
	in.blinks.Put(p)
	return true
}

// show sets the LED: on while the button is down or the blink is on.
func (in *indicators) show() {
	in.mu.Lock()
	on := in.down || in.blinkOn
	in.mu.Unlock()
	if err := in.led.Set(on); err != nil {
		in.job.Log.Debug("status LED: %v", err)
	}
}

func (in *indicators) exit() {
	in.mu.Lock()
	in.running--
	in.mu.Unlock()
	in.exited.Notify()
}

// runBlinks plays each queued pattern on the scheduler's clock.
func (in *indicators) runBlinks(ctx context.Context) {
	defer in.exit()
	defer func() {
		in.mu.Lock()
		in.blinkOn = false
		in.mu.Unlock()
		in.show()
	}()
	for {
		p, err := in.blinks.Get(ctx)
		if err != nil {
			return
		}
		t := in.job.env.Sched.Now()
		for _, st := range p {
			in.mu.Lock()
			in.blinkOn = st.on
			in.mu.Unlock()
			in.show()
			t = t.Add(st.d)
			if err := in.job.env.Sched.SleepUntil(ctx, t); err != nil {
				return
			}
		}
		in.mu.Lock()
		in.blinkOn = false
		in.busy = false
		in.mu.Unlock()
	}
}

// forwardPresses hands the button's events to the button actor; it ends
// when the button is closed. It only waits on the button's channel.
func (in *indicators) forwardPresses() {
	for down := range in.btn.Events() {
		in.presses.Put(down)
	}
}

// runButton publishes button_down and lights the LED while it is down.
func (in *indicators) runButton(ctx context.Context) {
	defer in.exit()
	defer func() {
		in.mu.Lock()
		in.down = false
		in.mu.Unlock()
		in.show()
	}()
	for {
		down, err := in.presses.Get(ctx)
		if err != nil {
			return
		}
		in.mu.Lock()
		in.down = down
		in.mu.Unlock()
		in.show()
		in.job.SetValue("button_down", down)
	}
}

// stop waits for the actors, which end with ctx (cancelled by the caller
// first), then turns the LED off and closes the LED and the button.
func (in *indicators) stop() {
	if in == nil {
		return
	}
	for {
		in.mu.Lock()
		n := in.running
		in.mu.Unlock()
		if n == 0 {
			break
		}
		if err := in.exited.Wait(context.Background()); err != nil {
			break
		}
	}
	if err := in.led.Set(false); err != nil {
		in.job.Log.Debug("status LED: %v", err)
	}
	_ = in.led.Halt()
	if c, ok := in.led.(io.Closer); ok {
		_ = c.Close()
	}
	if in.btn != nil {
		_ = in.btn.Close()
	}
}

// onFlickerOkay blinks the ready pattern.
func (m *Monitor) onFlickerOkay(msg pubsub.Message) {
	if msg.Retained {
		return
	}
	m.indicatorsNow().blink(readyPattern())
}

// blinkErrorCode blinks an error code on the status LED.
func (m *Monitor) blinkErrorCode(code int) {
	if code < 1 || code > maxBlinkCode {
		return
	}
	m.indicatorsNow().blink(errorCodePattern(code))
}

func (m *Monitor) indicatorsNow() *indicators {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ind
}

// runIndicators starts the indicators and returns the function that stops
// them (ctx must be cancelled before it is called).
func (m *Monitor) runIndicators(ctx context.Context) func() {
	in := startIndicators(ctx, m.Job)
	m.mu.Lock()
	m.ind = in
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.ind = nil
		m.mu.Unlock()
		in.stop()
	}
}
