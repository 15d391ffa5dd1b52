package hat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/hw"
)

func TestBoardIndicators(t *testing.T) {
	for _, c := range []struct {
		major, minor int
		led, button  int
	}{{1, 2, 23, 4}, {1, 0, 23, 24}} {
		b := newTestBoard(t, c.major, c.minor, "", "", "", nil)
		var ind hw.Indicators = b.Board
		led, err := ind.StatusLED()
		if err != nil {
			t.Fatal(err)
		}
		if err := led.Set(true); err != nil {
			t.Fatal(err)
		}
		if err := led.Set(false); err != nil {
			t.Fatal(err)
		}
		if got := b.pin(c.led).levels; len(got) != 3 || got[0] != gpio.Low || got[1] != gpio.High || got[2] != gpio.Low {
			t.Errorf("HAT %d.%d: GPIO%d levels %v, want low (opened), high, low", c.major, c.minor, c.led, got)
		}
		btn, err := ind.Button()
		if err != nil {
			t.Fatal(err)
		}
		pin := b.pin(c.button)
		if pin.Pull() != gpio.PullDown || pin.edge != gpio.BothEdges {
			t.Errorf("HAT %d.%d: button GPIO%d set up with %s, %s", c.major, c.minor, c.button, pin.Pull(), pin.edge)
		}
		pin.EdgesChan <- gpio.High
		pin.EdgesChan <- gpio.Low
		for i, want := range []bool{true, false} {
			select {
			case got := <-btn.Events():
				if got != want {
					t.Errorf("HAT %d.%d: event %d = %v, want %v", c.major, c.minor, i, got, want)
				}
			case <-time.After(time.Second):
				t.Fatalf("HAT %d.%d: event %d: none within 1 s", c.major, c.minor, i)
			}
		}
		if err := btn.Close(); err != nil {
			t.Error(err)
		}
		if err := btn.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, ok := <-btn.Events(); ok {
			t.Error("an event after Close; want the channel closed")
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
		if _, err := b.StatusLED(); !errors.Is(err, hw.ErrClosed) {
			t.Errorf("StatusLED after Close: %v, want hw.ErrClosed", err)
		}
	}
}

func TestBoardIndicatorsPinErrors(t *testing.T) {
	b := newTestBoard(t, 1, 2, "", "", "", nil)
	b.pin(23).setFail(errors.New("line busy"))
	b.pin(4).setFail(errors.New("line busy"))
	if _, err := b.StatusLED(); err == nil || !strings.Contains(err.Error(), "Pioreactor HAT 1.2: status LED GPIO23") || !strings.Contains(err.Error(), "line busy") {
		t.Errorf("StatusLED on a failing pin: %v", err)
	}
	if _, err := b.Button(); err == nil || !strings.Contains(err.Error(), "Pioreactor HAT 1.2: button GPIO4") || !strings.Contains(err.Error(), "line busy") {
		t.Errorf("Button on a failing pin: %v", err)
	}
}
