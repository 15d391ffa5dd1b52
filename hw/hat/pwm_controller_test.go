package hat

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/hw"
)

type testController struct {
	*PWMController
	fs   *fakeSysfs
	pins map[int]*levelPin
}

func newTestController(t *testing.T, runDir string, fs *fakeSysfs) *testController {
	t.Helper()
	pinMap, err := PWMPins(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	tc := &testController{fs: fs, pins: map[int]*levelPin{}}
	for _, pin := range pinMap {
		tc.pins[pin] = newLevelPin(pin)
	}
	c, err := NewPWMController(PWMConfig{
		Pins:    pinMap,
		OpenPin: func(n int) (gpio.PinOut, error) { return tc.pins[n], nil },
		Sysfs:   fs.sysfs(0, newPWMClock()),
		RunDir:  runDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	tc.PWMController = c
	t.Cleanup(func() { c.Close() })
	return tc
}

func TestPWMControllerOpens(t *testing.T) {
	fs := newFakeSysfs(t, 0)
	c := newTestController(t, t.TempDir(), fs)
	for _, pin := range []int{17, 16, 18} {
		if c.pins[pin].count(gpio.Low) != 1 {
			t.Errorf("GPIO%d not driven low at start", pin)
		}
	}
	fs.take()
	media, err := c.Open(2, 250) // GPIO13: kernel PWM
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := media.(*lockedPWM).PWM.(*SysfsPWM); !ok {
		t.Errorf("channel 2 is %T, want the kernel PWM", media.(*lockedPWM).PWM)
	}
	stirrer, err := c.Open(1, 200) // GPIO17: software
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stirrer.(*lockedPWM).PWM.(*SoftPWM); !ok {
		t.Errorf("channel 1 is %T, want the software PWM", stirrer.(*lockedPWM).PWM)
	}
	_, err = c.Open(1, 200)
	if !errors.Is(err, hw.ErrBusy) || !strings.Contains(err.Error(), "GPIO17 is held by PWM channel 1") {
		t.Errorf("second Open: %v, want hw.ErrBusy naming the pin and holder", err)
	}
	other := NewPinLocks(c.cfg.RunDir)
	if _, err := other.Acquire(13, "another process"); !errors.Is(err, hw.ErrBusy) {
		t.Errorf("GPIO13 not locked on the machine while open: %v", err)
	}
	if _, err := c.Open(9, 200); err == nil || !strings.Contains(err.Error(), "PWM channel 9 does not exist (channels 1, 2, 3, 4, 5)") {
		t.Errorf("Open(9): %v", err)
	}
	if err := media.SetDuty(100); err != nil {
		t.Fatal(err)
	}
	if err := stirrer.SetDuty(100); err != nil {
		t.Fatal(err)
	}
	fs.take()
	if err := c.HaltAll(); err != nil {
		t.Fatal(err)
	}
	sameWrites(t, "HaltAll", fs.take(), []string{"pwmchip0/pwm1/duty_cycle <- 0", "pwmchip0/pwm1/enable <- 0"})
	if c.pins[17].Read() != gpio.Low {
		t.Error("HaltAll left GPIO17 high")
	}
	if err := stirrer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := stirrer.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	again, err := c.Open(1, 200)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

// A kernel channel left enabled by a process that died is disabled and
// reported at the next start; one whose pin a live process holds is not.
func TestPWMControllerHaltsStaleChannels(t *testing.T) {
	runDir := t.TempDir()
	fs := newFakeSysfs(t, 0)
	fs.channel(0, 0, "1", 4000000, 2000000) // GPIO12 (waste), its process gone
	fs.channel(0, 1, "1", 4000000, 4000000) // GPIO13 (media), held by a live process
	release, err := NewPinLocks(runDir).Acquire(13, "PWM channel 2")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	c := newTestController(t, runDir, fs)
	stale := c.Stale()
	if fmt.Sprint(stale) != "[pwmchip0/pwm0 (left enabled at 50 % of 4000000 ns)]" {
		t.Errorf("Stale() = %v, want pwm0 only", stale)
	}
	sameWrites(t, "start", fs.take(), []string{"pwmchip0/pwm0/duty_cycle <- 0", "pwmchip0/pwm0/enable <- 0"})
	if fs.read("pwmchip0/pwm1/enable") != "1" {
		t.Error("the live process's channel was disabled")
	}
	// Its lock was only borrowed for the check: the channel opens.
	p, err := c.Open(4, 250)
	if err != nil {
		t.Fatalf("Open(4) after the start: %v", err)
	}
	p.Close()
}

func TestPWMControllerConfigErrors(t *testing.T) {
	if _, err := NewPWMController(PWMConfig{RunDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "pin map") {
		t.Errorf("no pins: %v", err)
	}
	if _, err := NewPWMController(PWMConfig{Pins: map[int]int{1: 17}}); err == nil || !strings.Contains(err.Error(), "run directory") {
		t.Errorf("no run dir: %v", err)
	}
	c, err := NewPWMController(PWMConfig{Pins: map[int]int{1: 17}, RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(1, 200); err == nil || !strings.Contains(err.Error(), "GPIO17) needs a GPIO output") {
		t.Errorf("no OpenPin: %v", err)
	}
	// The failed open released the pin.
	if r, err := NewPinLocks(c.cfg.RunDir).Acquire(17, "x"); err != nil {
		t.Errorf("pin still locked after a failed open: %v", err)
	} else {
		r()
	}
	bad := newLevelPin(17)
	bad.setFail(os.ErrPermission)
	_, err = NewPWMController(PWMConfig{Pins: map[int]int{1: 17}, RunDir: t.TempDir(),
		OpenPin: func(int) (gpio.PinOut, error) { return bad, nil }})
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "PWM channel 1 (GPIO17): drive low at start") {
		t.Errorf("pin failing at start: %v", err)
	}
}

func TestPWMPins(t *testing.T) {
	for _, c := range []struct {
		major, minor, channel, pin int
		err                        string
	}{
		{1, 2, 1, 17, ""}, {1, 1, 2, 13, ""}, {1, 0, 4, 12, ""}, {1, 2, 5, 18, ""},
		{0, 1, 1, 6, ""}, {0, 1, 3, 16, ""},
		{1, 2, 6, 0, "PWM channel 6 does not exist on HAT 1.2 (channels 1, 2, 3, 4, 5)"},
		{2, 0, 1, 0, "no PWM pin map for HAT version 2.0"},
	} {
		pin, err := PWMPin(c.major, c.minor, c.channel)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("PWMPin(%d.%d, %d) error %v, want %q", c.major, c.minor, c.channel, err, c.err)
			}
			continue
		}
		if err != nil || pin != c.pin {
			t.Errorf("PWMPin(%d.%d, %d) = %d, %v; want %d", c.major, c.minor, c.channel, pin, err, c.pin)
		}
	}
	for pin, want := range map[int]bool{12: true, 13: true, 17: false, 18: false} {
		if HardwarePWM(pin) != want {
			t.Errorf("HardwarePWM(%d) = %v", pin, !want)
		}
	}
}
