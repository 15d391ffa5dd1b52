package hat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// The reference's fixture 27, with upstream's pull-down (pressed = high).
func TestButtonEvents(t *testing.T) {
	pin := newLevelPin(4)
	clk := newPWMClock()
	b, err := NewButton(pin, gpio.PullDown, clk)
	if err != nil {
		t.Fatal(err)
	}
	if pin.edge != gpio.BothEdges || pin.Pull() != gpio.PullDown {
		t.Errorf("pin set up with %s, %s", pin.Pull(), pin.edge)
	}
	pin.EdgesChan <- gpio.High
	pin.EdgesChan <- gpio.High // a doubled edge: no second press
	pin.EdgesChan <- gpio.Low
	want := []bool{true, false}
	for i, down := range want {
		select {
		case e := <-b.Events():
			if e.Down != down || !e.At.Equal(clk.Now()) {
				t.Errorf("event %d = %+v, want Down %v at the clock's time", i, e, down)
			}
		case <-time.After(time.Second):
			t.Fatalf("event %d: none within 1 s", i)
		}
	}
	if b.Pressed() {
		t.Error("Pressed() after the release")
	}
	if err := b.Halt(); err != nil {
		t.Error(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if e, ok := <-b.Events(); ok {
		t.Errorf("event %+v after Close; want the channel closed", e)
	}
}

func TestButtonPullUp(t *testing.T) {
	pin := newLevelPin(24)
	b, err := NewButton(pin, gpio.PullUp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pin.EdgesChan <- gpio.Low
	select {
	case e := <-b.Events():
		if !e.Down {
			t.Errorf("low with a pull-up = %+v, want a press", e)
		}
	case <-time.After(time.Second):
		t.Fatal("no event within 1 s")
	}
}

func TestButtonErrors(t *testing.T) {
	if _, err := NewButton(newLevelPin(4), gpio.Float, nil); err == nil || !strings.Contains(err.Error(), "button GPIO4: pull") {
		t.Errorf("floating: %v", err)
	}
	bad := newLevelPin(4)
	bad.setFail(errors.New("line busy"))
	if _, err := NewButton(bad, gpio.PullDown, nil); err == nil || !strings.Contains(err.Error(), "line busy") {
		t.Errorf("failing pin: %v", err)
	}
}

func TestStatusLED(t *testing.T) {
	pin := newLevelPin(StatusLEDPin)
	l, err := NewStatusLED(pin)
	if err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low || pin.count(gpio.Low) != 1 {
		t.Error("not driven low when opened")
	}
	if err := l.Set(true); err != nil || pin.Read() != gpio.High || !l.On() {
		t.Errorf("Set(true): %v, level %v", err, pin.Read())
	}
	if err := l.Halt(); err != nil || pin.Read() != gpio.Low || l.On() {
		t.Errorf("Halt: %v, level %v", err, pin.Read())
	}
	if err := l.Set(true); err != nil {
		t.Errorf("Set after Halt: %v", err)
	}
	if err := l.Close(); err != nil || pin.Read() != gpio.Low {
		t.Errorf("Close: %v, level %v", err, pin.Read())
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Set(true); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Set after Close: %v", err)
	}
	pin.setFail(errors.New("line released"))
	if _, err := NewStatusLED(pin); err == nil || !strings.Contains(err.Error(), "status LED GPIO23") {
		t.Errorf("failing pin: %v", err)
	}
}

func TestMonitorPins(t *testing.T) {
	for _, c := range []struct{ major, minor, button, hall int }{
		{1, 2, 4, 21}, {1, 1, 4, 21}, {1, 0, 24, 25}, {0, 1, 24, 25},
	} {
		if b, h := ButtonPin(c.major, c.minor), HallPin(c.major, c.minor); b != c.button || h != c.hall {
			t.Errorf("HAT %d.%d: button %d, hall %d; want %d, %d", c.major, c.minor, b, h, c.button, c.hall)
		}
	}
}
