package hat

import (
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/clock"
)

// The monitor's pins (§6 of the hardware reference).
const (
	StatusLEDPin    = 23 // every HAT
	ButtonPinHAT11  = 4  // HAT 1.1 and later
	ButtonPinHAT10  = 24 // HAT 1.0 and earlier (SWDIO of the RP2040 on later HATs)
	buttonEventsCap = 16
)

// ButtonPin is the monitor button's GPIO pin on a HAT version.
func ButtonPin(major, minor int) int {
	if major > 1 || major == 1 && minor >= 1 {
		return ButtonPinHAT11
	}
	return ButtonPinHAT10
}

// StatusLED is the HAT's status LED: an output, high = on, driven low when
// it is opened and when it is halted or closed.
type StatusLED struct {
	pin gpio.PinOut

	mu     sync.Mutex
	on     bool
	closed bool
}

// NewStatusLED opens the LED on pin, off.
func NewStatusLED(pin gpio.PinOut) (*StatusLED, error) {
	if err := pin.Out(gpio.Low); err != nil {
		return nil, fmt.Errorf("status LED %s: drive low: %w", pin, err)
	}
	return &StatusLED{pin: pin}, nil
}

// Set turns the LED on or off.
func (l *StatusLED) Set(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("status LED %s: closed", l.pin)
	}
	if err := l.pin.Out(gpio.Level(on)); err != nil {
		return fmt.Errorf("status LED %s: %w", l.pin, err)
	}
	l.on = on
	return nil
}

// On reports whether the LED is on.
func (l *StatusLED) On() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.on
}

// String implements hw.Resource.
func (l *StatusLED) String() string { return fmt.Sprintf("status LED on %s", l.pin) }

// Halt turns the LED off; it stays usable.
func (l *StatusLED) Halt() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.on = false
	if err := l.pin.Out(gpio.Low); err != nil {
		return fmt.Errorf("status LED %s: %w", l.pin, err)
	}
	return nil
}

// Close turns the LED off for good. A second Close does nothing.
func (l *StatusLED) Close() error {
	err := l.Halt()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return err
}

// ButtonEvent is a press (Down) or a release of the button, stamped with
// the button's clock.
type ButtonEvent struct {
	Down bool
	At   time.Time
}

// Button is the monitor's button: an input that reports both edges. Upstream
// wires it with a pull-down, pressed = high; NewButton takes the pull, and
// the pressed level is the one the pull does not hold. The kernel only says
// that an edge happened, so the button reads the level after each wake-up and
// sends an event only when the level differs from the last one sent: a
// bounce or a doubled edge never sends two presses in a row.
type Button struct {
	pin     gpio.PinIn
	clk     clock.Clock
	pressed gpio.Level
	events  chan ButtonEvent

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// NewButton sets pin up as an input with pull (gpio.PullDown or
// gpio.PullUp) reporting both edges, and starts watching it. clk stamps the
// events; nil is the wall clock.
func NewButton(pin gpio.PinIn, pull gpio.Pull, clk clock.Clock) (*Button, error) {
	var pressed gpio.Level
	switch pull {
	case gpio.PullDown:
		pressed = gpio.High
	case gpio.PullUp:
		pressed = gpio.Low
	default:
		return nil, fmt.Errorf("button %s: pull %s: want %s or %s", pin, pull, gpio.PullDown, gpio.PullUp)
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if err := pin.In(pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("button %s: input with %s and both edges: %w", pin, pull, err)
	}
	b := &Button{pin: pin, clk: clk, pressed: pressed, events: make(chan ButtonEvent, buttonEventsCap),
		stop: make(chan struct{}), done: make(chan struct{})}
	go b.watch()
	return b, nil
}

// Events delivers presses and releases, in order; it is closed by Close. A
// reader that falls 16 events behind loses the newest ones.
func (b *Button) Events() <-chan ButtonEvent { return b.events }

func (b *Button) watch() {
	defer close(b.done)
	defer close(b.events)
	down := false
	for {
		select {
		case <-b.stop:
			return
		default:
		}
		if !b.pin.WaitForEdge(edgePoll) {
			continue
		}
		now := b.pin.Read() == b.pressed
		if now == down {
			continue
		}
		down = now
		select {
		case b.events <- ButtonEvent{Down: down, At: b.clk.Now()}:
		default:
		}
	}
}

// Pressed reads the button's level now.
func (b *Button) Pressed() bool { return b.pin.Read() == b.pressed }

// String implements hw.Resource.
func (b *Button) String() string { return fmt.Sprintf("button on %s", b.pin) }

// Halt implements hw.Resource: an input drives nothing, so there is
// nothing to stop; it keeps watching.
func (b *Button) Halt() error { return nil }

// Close stops watching and closes Events. A second Close does nothing.
func (b *Button) Close() error {
	b.stopOnce.Do(func() {
		close(b.stop)
		_ = b.pin.Halt()
	})
	<-b.done
	return nil
}
