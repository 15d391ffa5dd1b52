package examples_test

// The external-hardware examples, run through the simulated unit with their
// devices replaced: arduino_pump.star talks to an Arduino played on the
// master side of a real pty pair (the script opens the slave with
// go.bug.st/serial, as on a unit), i2c_pump.star to a motor board played by
// periph's i2ctest.Playback.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/script"
	"github.com/piolab/pio/scripthw"
	"github.com/piolab/pio/simulate"
)

// fakeDevices opens serial ports for real (scripthw.Real's opener, so a pty
// slave is opened as a unit opens a USB port) and I²C devices on a
// playback; it records what was opened and what was closed.
type fakeDevices struct {
	i2c *i2ctest.Playback

	mu     sync.Mutex
	opened []string
	closed []string
}

func (d *fakeDevices) note(list *[]string, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	*list = append(*list, name)
}

func (d *fakeDevices) lists() (opened, closed []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.opened...), append([]string(nil), d.closed...)
}

func (d *fakeDevices) OpenPWM(channel int, _ float64) (hw.PWM, error) {
	return nil, fmt.Errorf("PWM channel %d: not part of this test", channel)
}

func (d *fakeDevices) OpenGPIO(pin int, _ bool) (scripthw.GPIO, error) {
	return nil, fmt.Errorf("GPIO%d: not part of this test", pin)
}

func (d *fakeDevices) OpenI2C(bus int, addr uint16) (scripthw.I2C, error) {
	if d.i2c == nil {
		return nil, fmt.Errorf("I²C bus %d: not part of this test", bus)
	}
	dev := &playbackDev{pb: d.i2c, addr: addr, d: d}
	d.note(&d.opened, dev.String())
	return dev, nil
}

func (d *fakeDevices) OpenSerial(port string, baud int) (io.ReadWriteCloser, error) {
	rw, err := scripthw.Real{}.OpenSerial(port, baud)
	if err != nil {
		return nil, err
	}
	d.note(&d.opened, port)
	return &noteClose{ReadWriteCloser: rw, name: port, d: d}, nil
}

type noteClose struct {
	io.ReadWriteCloser
	name string
	d    *fakeDevices
}

func (c *noteClose) Close() error {
	c.d.note(&c.d.closed, c.name)
	return c.ReadWriteCloser.Close()
}

type playbackDev struct {
	pb   *i2ctest.Playback
	addr uint16
	d    *fakeDevices
}

func (p *playbackDev) String() string       { return fmt.Sprintf("I²C 0x%02X", p.addr) }
func (p *playbackDev) Tx(w, r []byte) error { return p.pb.Tx(p.addr, w, r) }
func (p *playbackDev) Close() error {
	p.d.note(&p.d.closed, p.String())
	return p.pb.Close() // an error when the script did not run every transaction
}

// useDevices makes the dosing automation's scripts open d's devices for the
// rest of the test.
func useDevices(t *testing.T, d scripthw.Devices) {
	t.Helper()
	saved := script.HardwareDevices
	script.HardwareDevices = func(*dosing.Automation) scripthw.Devices { return d }
	t.Cleanup(func() { script.HardwareDevices = saved })
}

// runWithHardware simulates file for d, the automation alone on the unit,
// with [scripts.hardware] key=value and the settings given; a run that
// takes more than 10 s of real time is cancelled (a device hung it).
func runWithHardware(t *testing.T, file string, d time.Duration, key, value string, settings map[string]string) *simulate.Summary {
	t.Helper()
	cfg := config.New()
	cfg.Set(scripthw.Section, key, value)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum, err := simulate.Run(ctx, simulate.Options{Script: file, For: d, Seed: 7, Config: cfg, Overrides: settings, Alone: true})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the run of %s was cancelled after 10 s: a device hung it", file)
	}
	if n := scripthw.Owners(); n != 0 {
		t.Errorf("%d jobs still hold hardware after the run", n)
	}
	return sum
}

// openPty opens a pty pair and returns its master and the path of its slave.
func openPty(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty on this machine: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Fatalf("unlocking the pty: %v", ierr)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

// arduino plays the Arduino on a pty's master: it reads the script's
// lines and answers each "PUMP x" with answer(x) ("" for no answer). It
// stops when the slave side is closed, or the master is.
type arduino struct {
	done chan struct{}
	mu   sync.Mutex
	got  []string
}

func playArduino(m *os.File, answer func(asked string) string) *arduino {
	a := &arduino{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		r := bufio.NewReader(m)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // EIO: the port closed
			}
			line = strings.TrimSuffix(line, "\n")
			a.mu.Lock()
			a.got = append(a.got, line)
			a.mu.Unlock()
			asked, ok := strings.CutPrefix(line, "PUMP ")
			if !ok {
				continue
			}
			if reply := answer(asked); reply != "" {
				if _, err := io.WriteString(m, reply+"\n"); err != nil {
					return
				}
			}
		}
	}()
	return a
}

// stopped waits for the port to close, which ends the Arduino's reads; a
// port left open fails the test.
func (a *arduino) stopped(t *testing.T) []string {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(2 * time.Second):
		t.Fatal("the serial port was still open 2 s after the run ended")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

func TestHardwareArduinoPumpDosesWhatTheArduinoReports(t *testing.T) {
	m, port := openPty(t)
	devs := &fakeDevices{}
	useDevices(t, devs)
	// The Arduino pumps 95 % of what it is asked, and says so.
	ard := playArduino(m, func(asked string) string {
		ml, err := strconv.ParseFloat(asked, 64)
		if err != nil {
			return "ERR " + asked
		}
		return fmt.Sprintf("DONE %.3f", 0.95*ml)
	})
	sum := runWithHardware(t, "arduino_pump.star", 3*time.Hour, "serial", port, map[string]string{"port": port})
	if sum.Errors != 0 {
		t.Fatalf("errors %d %q", sum.Errors, sum.ErrorMessages)
	}
	got := ard.stopped(t)
	want := []string{"PUMP 0.200", "PUMP 0.200", "PUMP 0.200"} // at 0 h, 1 h and 2 h
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the Arduino got %q, want %q", got, want)
	}
	if sum.Doses != 3 {
		t.Errorf("%d doses, want 3", sum.Doses)
	}
	if ml := sum.EventML["add_acid"]; math.Abs(ml-3*0.19) > 1e-9 {
		t.Errorf("add_acid booked %v mL, want %v (what the Arduino reported)", ml, 3*0.19)
	}
	if ml := sum.EventML["add_media"]; ml != 0 {
		t.Errorf("add_media booked %v mL, want none with an Arduino", ml)
	}
	opened, closed := devs.lists()
	if strings.Join(opened, "|") != port || strings.Join(closed, "|") != port {
		t.Errorf("opened %q and closed %q, want the port opened once and closed", opened, closed)
	}
}

func TestHardwareArduinoThatNeverAnswersFailsWithATimeOut(t *testing.T) {
	m, port := openPty(t)
	devs := &fakeDevices{}
	useDevices(t, devs)
	ard := playArduino(m, func(string) string { return "" })
	sum := runWithHardware(t, "arduino_pump.star", time.Hour, "serial", port,
		map[string]string{"port": port, "timeout_s": "0.2"})
	if sum.Errors != 1 || len(sum.Failures) != 1 {
		t.Fatalf("errors %d %v, want the one run of execute() to fail", sum.Errors, sum.Failures)
	}
	msg := sum.Failures[0].Message
	for _, want := range []string{port, "no line within 200ms", scripthw.ErrTimeout.Error()} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure %q does not say %q", msg, want)
		}
	}
	if got := ard.stopped(t); len(got) != 1 || got[0] != "PUMP 0.200" {
		t.Errorf("the Arduino got %q, want one PUMP 0.200", got)
	}
	if ml := sum.EventML["add_acid"]; ml != 0 {
		t.Errorf("add_acid booked %v mL after a time-out, want none", ml)
	}
	if sum.Doses != 0 {
		t.Errorf("%d doses completed, want none", sum.Doses)
	}
	if _, closed := devs.lists(); len(closed) != 1 || closed[0] != port {
		t.Errorf("closed %q, want the port", closed)
	}
}

// motorBoard is one dose of i2c_pump.star at address 0x10: DOSE of 25
// hundredths of a mL, STATUS busy `busy` times then done, and PUMPED 24
// hundredths.
func motorBoardDose(busy int) []i2ctest.IO {
	const addr = 0x10
	ops := []i2ctest.IO{{Addr: addr, W: []byte{0x01, 0x00, 25}}}
	for range busy {
		ops = append(ops, i2ctest.IO{Addr: addr, W: []byte{0x02}, R: []byte{1}})
	}
	return append(ops,
		i2ctest.IO{Addr: addr, W: []byte{0x02}, R: []byte{0}},
		i2ctest.IO{Addr: addr, W: []byte{0x03}, R: []byte{0x00, 24}})
}

func TestHardwareI2CPumpDosesWhatTheBoardReports(t *testing.T) {
	var ops []i2ctest.IO
	for _, busy := range []int{1, 0, 3} {
		ops = append(ops, motorBoardDose(busy)...)
	}
	pb := &i2ctest.Playback{Ops: ops, DontPanic: true}
	devs := &fakeDevices{i2c: pb}
	useDevices(t, devs)
	sum := runWithHardware(t, "i2c_pump.star", 3*time.Hour, "i2c", "0x10", map[string]string{"address": "16"})
	if sum.Errors != 0 {
		t.Fatalf("errors %d %q", sum.Errors, sum.ErrorMessages)
	}
	if sum.Doses != 3 {
		t.Errorf("%d doses, want 3", sum.Doses)
	}
	if ml := sum.EventML["add_base"]; math.Abs(ml-3*0.24) > 1e-9 {
		t.Errorf("add_base booked %v mL, want %v (what the board reported)", ml, 3*0.24)
	}
	if pb.Count != len(ops) {
		t.Errorf("the script ran %d of the %d transactions", pb.Count, len(ops))
	}
	opened, closed := devs.lists()
	if want := "I²C 0x10"; strings.Join(opened, "|") != want || strings.Join(closed, "|") != want {
		t.Errorf("opened %q and closed %q, want %s opened once and closed", opened, closed, want)
	}
}

func TestHardwareI2CPumpThatNeverFinishesFails(t *testing.T) {
	// max_wait_s 2 at poll_s 0.5: 5 reads of STATUS, all busy, then the
	// script gives up; nothing is booked and the board is closed.
	ops := []i2ctest.IO{{Addr: 0x10, W: []byte{0x01, 0x00, 25}}}
	for range 5 {
		ops = append(ops, i2ctest.IO{Addr: 0x10, W: []byte{0x02}, R: []byte{1}})
	}
	pb := &i2ctest.Playback{Ops: ops, DontPanic: true}
	devs := &fakeDevices{i2c: pb}
	useDevices(t, devs)
	sum := runWithHardware(t, "i2c_pump.star", time.Hour, "i2c", "0x10",
		map[string]string{"address": "16", "max_wait_s": "2"})
	if sum.Errors != 1 || len(sum.Failures) != 1 {
		t.Fatalf("errors %d %v, want the one run of execute() to fail", sum.Errors, sum.Failures)
	}
	if msg := sum.Failures[0].Message; !strings.Contains(msg, "0x10 still pumps after 2") {
		t.Errorf("failure %q does not say the board at 0x10 still pumps", msg)
	}
	if pb.Count != len(ops) {
		t.Errorf("the script ran %d of the %d transactions", pb.Count, len(ops))
	}
	if ml := sum.EventML["add_base"]; ml != 0 {
		t.Errorf("add_base booked %v mL, want none", ml)
	}
	if _, closed := devs.lists(); len(closed) != 1 {
		t.Errorf("closed %q, want the board", closed)
	}
}
