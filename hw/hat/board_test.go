package hat

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/piolab/pio/hw"
)

// boardBus replays ops, and fails every transfer to an address in absent as
// a chip that does not acknowledge.
type boardBus struct {
	*i2ctest.Playback
	absent map[uint16]bool
	closed int
}

func (b *boardBus) Tx(addr uint16, w, r []byte) error {
	if b.absent[addr] {
		return errRemoteIO
	}
	return b.Playback.Tx(addr, w, r)
}

func (b *boardBus) String() string { return "I2C1" }

func (b *boardBus) Close() error {
	b.closed++
	return b.Playback.Close() // an error if an expected transfer never happened
}

// testBoard is a board of HAT major.minor (and model) on a replayed bus and
// fake pins.
type testBoard struct {
	*Board
	bus  *boardBus
	mu   sync.Mutex
	pins map[int]*levelPin
}

func (tb *testBoard) pin(n int) *levelPin {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	p, ok := tb.pins[n]
	if !ok {
		p = newLevelPin(n)
		tb.pins[n] = p
	}
	return p
}

func newTestBoard(t *testing.T, major, minor int, model, modelVersion string, sysfsRoot string, ops []i2ctest.IO, absent ...uint16) *testBoard {
	t.Helper()
	l, err := LoadLayout("", major, minor, model, modelVersion)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBoard{bus: &boardBus{Playback: &i2ctest.Playback{Ops: ops, DontPanic: true}, absent: map[uint16]bool{}}, pins: map[int]*levelPin{}}
	for _, a := range absent {
		tb.bus.absent[a] = true
	}
	if sysfsRoot == "" {
		sysfsRoot = t.TempDir()
	}
	b, err := NewBoard(BoardConfig{
		Layout:    l,
		Bus:       tb.bus,
		OpenPin:   func(n int) (gpio.PinIO, error) { return tb.pin(n), nil },
		SysfsRoot: sysfsRoot,
		RunDir:    t.TempDir(),
		Clock:     newFakeClock(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.Board = b
	return tb
}

func TestBoardHAT12ByteForByte(t *testing.T) {
	ops := []i2ctest.IO{
		io(0x2C, []byte{0x08}, []byte{0x05, 0x00}), // photodiode 1: RP2040 firmware probe
		io(0x2C, []byte{0x06}, []byte{0x40, 0x1F}), // its ADC2
		io(0x4F, []byte{0x00}, []byte{0x19, 0x00}), // thermometer probe
		io(0x4F, []byte{0x00}, []byte{0x19, 0x60}), // 25.375 °C
		io(0x2C, []byte{0x08}, []byte{0x05, 0x00}), // LEDs: firmware probe
		io(0x2C, []byte{0x00, 0xCC}, nil),          // A to 80 %
		// HaltAll, then Close: every LED channel to 0, each time.
		io(0x2C, []byte{0x00, 0x00}, nil), io(0x2C, []byte{0x01, 0x00}, nil), io(0x2C, []byte{0x02, 0x00}, nil), io(0x2C, []byte{0x03, 0x00}, nil),
		io(0x2C, []byte{0x00, 0x00}, nil), io(0x2C, []byte{0x01, 0x00}, nil), io(0x2C, []byte{0x02, 0x00}, nil), io(0x2C, []byte{0x03, 0x00}, nil),
	}
	b := newTestBoard(t, 1, 2, "", "", "", ops)
	ctx := context.Background()
	if b.Name() != "Pioreactor HAT 1.2" || b.Simulated() {
		t.Errorf("Name %q Simulated %v", b.Name(), b.Simulated())
	}
	for _, pin := range []int{17, 16, 18} {
		if b.pin(pin).count(gpio.Low) != 1 {
			t.Errorf("GPIO%d not driven low when the board opened", pin)
		}
	}
	sensors, err := hw.SensorsOf(b)
	if err != nil {
		t.Fatal(err)
	}

	pd1, err := sensors.Photodiode(1)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := pd1.Volts(ctx); err != nil || math.Abs(v-0.201465) > 1e-6 {
		t.Errorf("photodiode 1 = %v, %v; want 0.201465 V", v, err)
	}
	if again, _ := sensors.Photodiode(1); again != pd1 {
		t.Error("a second Photodiode(1) opened the chip again")
	}
	th, err := sensors.Thermometer()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := th.Celsius(ctx); err != nil || c != 25.375 {
		t.Errorf("Celsius = %v, %v", c, err)
	}
	leds, err := sensors.LEDs()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := leds.(*PicoLEDs); !ok {
		t.Errorf("LEDs of HAT 1.2 are %T, want the RP2040's", leds)
	}
	if err := leds.SetIntensity("A", 80); err != nil {
		t.Fatal(err)
	}

	stirrer, err := b.PWM().Open(1, StirringHz)
	if err != nil {
		t.Fatal(err)
	}
	if err := stirrer.SetDuty(100); err != nil {
		t.Fatal(err)
	}
	if b.pin(17).Read() != gpio.High {
		t.Error("channel 1 at 100 % did not drive GPIO17 high")
	}
	if _, err := b.PWM().Open(1, StirringHz); !errors.Is(err, hw.ErrBusy) {
		t.Errorf("a second Open of channel 1: %v, want ErrBusy", err)
	}

	if err := b.HaltAll(); err != nil {
		t.Fatal(err)
	}
	if stirrer.Duty() != 0 || b.pin(17).Read() != gpio.Low {
		t.Errorf("after HaltAll: duty %v, GPIO17 %v", stirrer.Duty(), b.pin(17).Read())
	}
	if leds.Intensity("A") != 0 {
		t.Errorf("LED A at %v after HaltAll", leds.Intensity("A"))
	}

	rpm, err := sensors.RPM()
	if err != nil {
		t.Fatal(err)
	}
	hall := b.pin(21)
	if hall.pull != gpio.PullUp || hall.edge != gpio.FallingEdge {
		t.Errorf("hall pin GPIO21 set up with %v %v", hall.pull, hall.edge)
	}
	hall.EdgesChan <- gpio.Low
	hall.EdgesChan <- gpio.Low
	waitFor(t, "two revolutions", func() bool { r, _ := rpm.Revolutions(); return r == 2 })

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if b.bus.closed != 1 {
		t.Errorf("bus closed %d times, want once", b.bus.closed)
	}
	if _, err := rpm.Revolutions(); !errors.Is(err, hw.ErrClosed) {
		t.Errorf("the hall counter still runs after Close: %v", err)
	}
	if _, err := b.Photodiode(1); !errors.Is(err, hw.ErrClosed) {
		t.Errorf("Photodiode after Close: %v, want ErrClosed", err)
	}
	// Close released the pin: another owner may open it.
	if _, err := b.PWM().Open(1, StirringHz); err != nil {
		t.Errorf("channel 1 after Close: %v", err)
	}
}

func TestBoardHAT10UsesTheADS1115AndDAC43608(t *testing.T) {
	ops := []i2ctest.IO{
		io(0x48, []byte{0x01}, []byte{0x85, 0x83}), // photodiode 2: ADS1115 probe
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}), // LEDs: DAC43608 probe
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}), // Close halts the LEDs: power every channel down
		io(0x49, []byte{0x01, 0x00, 0xFF}, nil),
	}
	b := newTestBoard(t, 1, 0, "", "", "", ops)
	pd2, err := b.Photodiode(2)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := pd2.(*ADS1115); !ok || a.Input() != 0 {
		t.Errorf("photodiode 2 of HAT 1.0 is %v, want the ADS1115's AIN0", pd2)
	}
	leds, err := b.LEDs()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := leds.(*DAC43608); !ok {
		t.Errorf("LEDs of HAT 1.0 are %T, want the DAC43608", leds)
	}
	if rpm, err := b.RPM(); err != nil || !strings.Contains(rpm.String(), "GPIO25") {
		t.Errorf("RPM = %v, %v; want the hall sensor on GPIO25", rpm, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBoardModelOptics(t *testing.T) {
	ops := []i2ctest.IO{io(0x4A, []byte{0x01, 0x02, 0x83}, nil)} // ADS1114 at 0x4A, continuous at gain 1
	b := newTestBoard(t, 1, 2, "pioreactor_40ml", "1.5", "", ops)
	pd2, err := b.Photodiode(2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pd2.String(), "ADS1114 at 0x4A") {
		t.Errorf("photodiode 2 of a 40ml 1.5 is %s", pd2)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBoardMissingParts(t *testing.T) {
	b := newTestBoard(t, 1, 2, "", "", "", nil, 0x2C, 0x4F)
	_, err := b.Thermometer()
	wantErrContains(t, err, "Pioreactor HAT 1.2: thermometer: TMP1075 at 0x4F on I2C1", "is the heating PCB attached?")
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("%v does not wrap ErrNoDevice", err)
	}
	_, err = b.LEDs()
	wantErrContains(t, err, "LEDs: RP2040 at 0x2C", "firmware loaded?")
	_, err = b.Photodiode(1)
	wantErrContains(t, err, "photodiode 1: RP2040 at 0x2C")
	_, err = b.Photodiode(3)
	wantErrContains(t, err, "photodiode 3: no pd3 entry")
	if !errors.Is(err, hw.ErrNotConfigured) {
		t.Errorf("%v does not wrap hw.ErrNotConfigured", err)
	}
	_, err = b.Photodiode(5)
	wantErrContains(t, err, "photodiode channel 5 is not one of 1 to 4")
	// A missing chip is not remembered: the next call probes again.
	b.bus.absent = nil
	b.bus.Ops = []i2ctest.IO{io(0x4F, []byte{0x00}, []byte{0x19, 0x00})}
	if _, err := b.Thermometer(); err != nil {
		t.Errorf("thermometer after the PCB was attached: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewBoardHaltsAStaleKernelPWM(t *testing.T) {
	fs := newFakeSysfs(t, 0)
	fs.channel(0, 1, "1", 4000000, 2000000) // GPIO13 (channel 2) left pumping
	b := newTestBoard(t, 1, 2, "", "", fs.root, nil)
	defer b.Close()
	if got := fs.read("pwmchip0/pwm1/enable"); got != "0" {
		t.Errorf("pwm1 enable = %s after NewBoard, want 0", got)
	}
	if got := fs.read("pwmchip0/pwm1/duty_cycle"); got != "0" {
		t.Errorf("pwm1 duty_cycle = %s after NewBoard, want 0", got)
	}
	if len(b.pwm.Stale()) != 1 {
		t.Errorf("Stale = %v, want pwm1", b.pwm.Stale())
	}
}

func TestNewBoardConfigErrors(t *testing.T) {
	l, err := LoadLayout("", 1, 2, "", "")
	if err != nil {
		t.Fatal(err)
	}
	open := func(n int) (gpio.PinIO, error) { return newLevelPin(n), nil }
	bus := &boardBus{Playback: &i2ctest.Playback{DontPanic: true}}
	for _, c := range []struct {
		cfg  BoardConfig
		want string
	}{
		{BoardConfig{Layout: l, OpenPin: open, RunDir: t.TempDir()}, "without an I²C bus"},
		{BoardConfig{Layout: l, Bus: bus, RunDir: t.TempDir()}, "open GPIO pins"},
		{BoardConfig{Bus: bus, OpenPin: open, RunDir: t.TempDir()}, "no PWM pins"},
		{BoardConfig{Layout: l, Bus: bus, OpenPin: open, SysfsRoot: t.TempDir()}, "run directory"},
	} {
		_, err := NewBoard(c.cfg)
		wantErrContains(t, err, c.want)
	}
}
