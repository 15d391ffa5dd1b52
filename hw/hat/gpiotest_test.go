package hat

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// The GPIO drivers on periph's own fake line, gpiotest.Pin, unwrapped: what
// a line that behaves as periph's drivers do sees of them.

func gpiotestPin(num int) *gpiotest.Pin {
	return &gpiotest.Pin{N: "GPIO" + strconv.Itoa(num), Num: num, EdgesChan: make(chan gpio.Level, 16)}
}

func TestSoftPWMOnGpiotestPin(t *testing.T) {
	pin := gpiotestPin(17)
	pin.L = gpio.High // as a line a dead process left high
	p, err := NewSoftPWM(pin, 1, 17, PumpHz, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low {
		t.Fatal("opened with the line high")
	}
	if err := p.SetDuty(100); err != nil || pin.Read() != gpio.High {
		t.Fatalf("100 %%: %v, line %v", err, pin.Read())
	}
	if err := p.Halt(); err != nil || pin.Read() != gpio.Low {
		t.Fatalf("Halt: %v, line %v", err, pin.Read())
	}
	if err := p.SetDuty(100); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil || pin.Read() != gpio.Low {
		t.Fatalf("Close: %v, line %v", err, pin.Read())
	}
}

func TestPWMControllerOnGpiotestPins(t *testing.T) {
	pins := map[int]*gpiotest.Pin{17: gpiotestPin(17), 16: gpiotestPin(16)}
	for _, p := range pins {
		p.L = gpio.High
	}
	c, err := NewPWMController(PWMConfig{
		Pins:    map[int]int{1: 17, 3: 16},
		OpenPin: func(n int) (gpio.PinOut, error) { return pins[n], nil },
		RunDir:  t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for n, p := range pins {
		if p.Read() != gpio.Low {
			t.Errorf("GPIO%d high after the controller started", n)
		}
	}
	alt, err := c.Open(3, PumpHz)
	if err != nil {
		t.Fatal(err)
	}
	if err := alt.SetDuty(100); err != nil || pins[16].Read() != gpio.High {
		t.Fatalf("alt-media pump at 100 %%: %v, GPIO16 %v", err, pins[16].Read())
	}
	if err := c.HaltAll(); err != nil || pins[16].Read() != gpio.Low {
		t.Errorf("HaltAll: %v, GPIO16 %v", err, pins[16].Read())
	}
}

func TestStatusLEDOnGpiotestPin(t *testing.T) {
	pin := gpiotestPin(StatusLEDPin)
	l, err := NewStatusLED(pin)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Set(true); err != nil || pin.Read() != gpio.High {
		t.Fatalf("Set(true): %v, line %v", err, pin.Read())
	}
	if err := l.Close(); err != nil || pin.Read() != gpio.Low {
		t.Fatalf("Close: %v, line %v", err, pin.Read())
	}
}

func TestHallCounterOnGpiotestPin(t *testing.T) {
	pin := gpiotestPin(21)
	pin.EdgesChan <- gpio.Low // an edge from before the counter: flushed by In
	c, err := NewHallCounter(pin, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pin.Pull() != gpio.PullUp || pin.Read() != gpio.High {
		t.Errorf("hall pin idles at %v with %v; want high with a pull-up", pin.Read(), pin.Pull())
	}
	for range 3 {
		pin.EdgesChan <- gpio.Low
	}
	waitFor(t, "three pulses", func() bool { return c.Pulses() == 3 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Pulses() != 3 {
		t.Errorf("%d pulses; want 3 (the edge before the counter is not one)", c.Pulses())
	}
}

func TestButtonOnGpiotestPin(t *testing.T) {
	pin := gpiotestPin(4)
	b, err := NewButton(pin, gpio.PullDown, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pin.EdgesChan <- gpio.High
	select {
	case e := <-b.Events():
		if !e.Down || !b.Pressed() {
			t.Errorf("high with a pull-down = %+v, Pressed %v; want a press", e, b.Pressed())
		}
	case <-time.After(time.Second):
		t.Fatal("no event within 1 s")
	}
}

// gpiotest refuses edge detection on a pin without an edge channel, as a
// real line refuses it when the kernel cannot deliver edges: the drivers say
// which pin and why.
func TestGpiotestPinWithoutEdges(t *testing.T) {
	_, err := NewHallCounter(&gpiotest.Pin{N: "GPIO21", Num: 21}, 1)
	if err == nil || !strings.Contains(err.Error(), "hall sensor GPIO21") || !strings.Contains(err.Error(), "EdgesChan") {
		t.Errorf("hall counter: %v", err)
	}
	_, err = NewButton(&gpiotest.Pin{N: "GPIO4", Num: 4}, gpio.PullDown, nil)
	if err == nil || !strings.Contains(err.Error(), "button GPIO4") {
		t.Errorf("button: %v", err)
	}
}
