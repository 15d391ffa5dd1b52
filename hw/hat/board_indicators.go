package hat

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/hw"
)

var _ hw.Indicators = (*Board)(nil)

// StatusLED implements hw.Indicators: the LED on the layout's pcb_led_pin,
// opened off. The caller owns it and closes it.
func (b *Board) StatusLED() (hw.StatusLED, error) {
	var led *StatusLED
	n := b.cfg.Layout.GPIO.StatusLED
	err := b.open("status LED", func() error {
		pin, err := b.cfg.OpenPin(n)
		if err != nil {
			return fmt.Errorf("%s: status LED on GPIO%d: %w", b.name, n, err)
		}
		led, err = NewStatusLED(pin)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return led, nil
}

// Button implements hw.Indicators: the button on the layout's
// pcb_button_pin, with upstream's pull-down (pressed = high). The caller
// owns it and closes it.
func (b *Board) Button() (hw.Button, error) {
	var btn *Button
	n := b.cfg.Layout.GPIO.Button
	err := b.open("button", func() error {
		pin, err := b.cfg.OpenPin(n)
		if err != nil {
			return fmt.Errorf("%s: button on GPIO%d: %w", b.name, n, err)
		}
		btn, err = NewButton(pin, gpio.PullDown, b.cfg.Clock)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newPressButton(btn), nil
}

// pressButton is a Button as an hw.Button: its events as presses (true)
// and releases (false).
type pressButton struct {
	*Button
	events chan bool
	done   chan struct{}
	once   sync.Once
}

func newPressButton(b *Button) *pressButton {
	p := &pressButton{Button: b, events: make(chan bool, buttonEventsCap), done: make(chan struct{})}
	go p.forward()
	return p
}

// forward passes each event on; a reader that falls behind loses the
// newest, as with Button.Events.
func (p *pressButton) forward() {
	defer close(p.done)
	defer close(p.events)
	for e := range p.Button.Events() {
		select {
		case p.events <- e.Down:
		default:
		}
	}
}

// Events implements hw.Button; it is closed by Close.
func (p *pressButton) Events() <-chan bool { return p.events }

// Close implements hw.Button: it stops the button and closes Events.
func (p *pressButton) Close() error {
	var err error
	p.once.Do(func() { err = p.Button.Close() })
	<-p.done
	return err
}
