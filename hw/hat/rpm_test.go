package hat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/hw"
)

func TestHallCounterCountsFallingEdges(t *testing.T) {
	pin := newLevelPin(21)
	c, err := NewHallCounter(pin, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pin.Pull() != gpio.PullUp || pin.edge != gpio.FallingEdge {
		t.Errorf("pin set up with %s, %s; want pull-up, falling edges", pin.Pull(), pin.edge)
	}
	for range 3 {
		pin.EdgesChan <- gpio.Low
	}
	waitFor(t, "three pulses", func() bool { return c.Pulses() == 3 })
	if rev, err := c.Revolutions(); err != nil || rev != 3 {
		t.Errorf("Revolutions() = %g, %v; want 3", rev, err)
	}
	if err := c.Halt(); err != nil {
		t.Errorf("Halt: %v", err)
	}
	pin.EdgesChan <- gpio.Low
	waitFor(t, "counting after Halt", func() bool { return c.Pulses() == 4 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Revolutions(); !errors.Is(err, hw.ErrClosed) || !strings.Contains(err.Error(), "hall sensor on GPIO21") {
		t.Errorf("Revolutions after Close: %v", err)
	}
}

func TestHallCounterPulsesPerRevolution(t *testing.T) {
	pin := newLevelPin(21)
	c, err := NewHallCounter(pin, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		pin.EdgesChan <- gpio.Low
	}
	waitFor(t, "five pulses", func() bool { return c.Pulses() == 5 })
	if rev, _ := c.Revolutions(); rev != 2.5 {
		t.Errorf("Revolutions() = %g, want 2.5", rev)
	}
}

func TestHallCounterErrors(t *testing.T) {
	if _, err := NewHallCounter(newLevelPin(21), 0); err == nil || !strings.Contains(err.Error(), "pulses per revolution 0") {
		t.Errorf("0 pulses per revolution: %v", err)
	}
	bad := newLevelPin(21)
	bad.setFail(errors.New("line busy"))
	if _, err := NewHallCounter(bad, 1); err == nil || !strings.Contains(err.Error(), "hall sensor GPIO21") || !strings.Contains(err.Error(), "line busy") {
		t.Errorf("failing pin: %v", err)
	}
}

// The reference's fixture 26.
func TestRPMFromEdges(t *testing.T) {
	at := func(ms ...int) []time.Time {
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, c := range []struct {
		edges []time.Time
		want  float64
	}{
		{at(0, 120, 240, 360), 500},
		{at(0), 0},
		{nil, 0},
		{at(0, 0), 0},
		{at(0, 100, 250), 480},
		{at(0, 70, 140), 857.1},
	} {
		if got := RPMFromEdges(c.edges); got != c.want {
			t.Errorf("RPMFromEdges(%v) = %g, want %g", c.edges, got, c.want)
		}
	}
}
