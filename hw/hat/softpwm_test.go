package hat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/hw"
)

// waitFor polls cond for up to a second of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("no %s within 1 s", what)
}

func TestSoftPWMDutyTransitions(t *testing.T) {
	pin := newLevelPin(17)
	p, err := NewSoftPWM(pin, 1, 17, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if pin.Read() != gpio.Low || pin.count(gpio.Low) != 1 {
		t.Fatalf("open: level %v, %d lows; want one low", pin.Read(), pin.count(gpio.Low))
	}
	if err := p.SetDuty(100); err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.High {
		t.Error("100 %: line not high when SetDuty returned")
	}
	if err := p.SetDuty(0); err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low {
		t.Error("0 %: line not low when SetDuty returned")
	}
	highs, lows := pin.count(gpio.High), pin.count(gpio.Low)
	if err := p.SetDuty(50); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ten periods at 50 %", func() bool {
		return pin.count(gpio.High) >= highs+10 && pin.count(gpio.Low) >= lows+10
	})
	if p.Duty() != 50 {
		t.Errorf("Duty() = %g", p.Duty())
	}
	if err := p.Halt(); err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low || p.Duty() != 0 {
		t.Errorf("Halt: level %v, duty %g; want low, 0", pin.Read(), p.Duty())
	}
	// Halted, the line stays low: no edge for a while.
	n := pin.count(gpio.High)
	time.Sleep(5 * time.Millisecond)
	if pin.count(gpio.High) != n {
		t.Error("line toggled after Halt")
	}
	if err := p.SetDuty(30); err != nil {
		t.Fatalf("SetDuty after Halt: %v", err)
	}
	waitFor(t, "toggling after Halt", func() bool { return pin.count(gpio.High) > n })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low {
		t.Error("Close left the line high")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := p.Halt(); err != nil {
		t.Errorf("Halt after Close: %v", err)
	}
	if err := p.SetDuty(10); !errors.Is(err, hw.ErrClosed) {
		t.Errorf("SetDuty after Close: %v, want hw.ErrClosed", err)
	}
	if p.Hz() != 1000 || p.Channel() != 1 || p.Pin() != 17 || p.String() != "PWM channel 1 (GPIO17, software)" {
		t.Errorf("Hz, Channel, Pin, String = %g, %d, %d, %q", p.Hz(), p.Channel(), p.Pin(), p.String())
	}
}

func TestSoftPWMErrors(t *testing.T) {
	for _, hz := range []float64{0, 0.05, 20000} {
		if _, err := NewSoftPWM(newLevelPin(16), 3, 16, hz, nil); err == nil || !strings.Contains(err.Error(), "GPIO16") {
			t.Errorf("NewSoftPWM at %g Hz: %v, want an error naming the pin", hz, err)
		}
	}
	dead := newLevelPin(16)
	dead.fail = errors.New("line released")
	if _, err := NewSoftPWM(dead, 3, 16, 250, nil); err == nil || !strings.Contains(err.Error(), "line released") {
		t.Errorf("failing pin: %v", err)
	}

	pin := newLevelPin(16)
	p, err := NewSoftPWM(pin, 3, 16, 250, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []float64{-0.1, 101} {
		if err := p.SetDuty(d); err == nil || !strings.Contains(err.Error(), "PWM channel 3") {
			t.Errorf("SetDuty(%g) = %v", d, err)
		}
	}
	pin.setFail(errors.New("line released"))
	if err := p.SetDuty(100); err == nil || !strings.Contains(err.Error(), "software PWM channel 3 (GPIO16): line released") {
		t.Errorf("SetDuty on a failed pin: %v", err)
	}
	if err := p.Close(); err == nil {
		t.Error("Close on a failed pin: no error")
	}
}
