package scripthw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/hw"
)

// fakeDevices records what was opened and closed; serial ports are pipes
// whose other end the test holds.
type fakeDevices struct {
	opened, closed []string
	remote         map[string]*io.PipeWriter // writes arrive at read_line
}

type fakePWM struct {
	hw.PWM
	ch   int
	duty float64
	d    *fakeDevices
}

func (p *fakePWM) SetDuty(v float64) error { p.duty = v; return nil }
func (p *fakePWM) Duty() float64           { return p.duty }
func (p *fakePWM) Channel() int            { return p.ch }
func (p *fakePWM) Close() error {
	p.duty = 0
	p.d.closed = append(p.d.closed, fmt.Sprintf("pwm %d", p.ch))
	return nil
}

func (d *fakeDevices) OpenPWM(ch int, hz float64) (hw.PWM, error) {
	d.opened = append(d.opened, fmt.Sprintf("pwm %d", ch))
	return &fakePWM{ch: ch, d: d}, nil
}
func (d *fakeDevices) OpenGPIO(pin int, out bool) (GPIO, error) {
	return nil, errors.New("no GPIO")
}
func (d *fakeDevices) OpenI2C(bus int, addr uint16) (I2C, error) {
	return nil, errors.New("no I²C")
}

type pipePort struct {
	*io.PipeReader
	io.Writer
	name string
	d    *fakeDevices
}

func (p pipePort) Close() error {
	p.d.closed = append(p.d.closed, "serial "+p.name)
	return p.PipeReader.Close()
}

func (d *fakeDevices) OpenSerial(port string, baud int) (io.ReadWriteCloser, error) {
	d.opened = append(d.opened, "serial "+port)
	r, w := io.Pipe()
	if d.remote == nil {
		d.remote = map[string]*io.PipeWriter{}
	}
	d.remote[port] = w
	return pipePort{PipeReader: r, Writer: io.Discard, name: port, d: d}, nil
}

func granted() Grants {
	return Grants{PWM: map[int]bool{6: true}, Serial: map[string]bool{"/dev/ttyACM0": true}}
}

func TestNotGrantedOpensNothing(t *testing.T) {
	d := &fakeDevices{}
	s := NewSession(granted(), d)
	_, err := s.Serial("/dev/ttyUSB0", 9600)
	want := `hw.serial("/dev/ttyUSB0"): not granted; add /dev/ttyUSB0 to [scripts.hardware] serial`
	if err == nil || err.Error() != want || !errors.Is(err, ErrNotGranted) {
		t.Errorf("err %v\nwant %s", err, want)
	}
	if _, err := s.PWM(7, 250); err == nil || !strings.Contains(err.Error(), "add 7 to [scripts.hardware] pwm") {
		t.Errorf("pwm 7: %v", err)
	}
	if _, err := s.I2C(1, 0x10); err == nil || !strings.Contains(err.Error(), "add 0x10 to [scripts.hardware] i2c") {
		t.Errorf("i2c: %v", err)
	}
	if _, err := s.GPIO(26, true); err == nil || !strings.Contains(err.Error(), "add 26 to [scripts.hardware] gpio") {
		t.Errorf("gpio: %v", err)
	}
	if len(d.opened) != 0 {
		t.Errorf("opened %v", d.opened)
	}
}

func TestCloseHaltsEverythingOnce(t *testing.T) {
	d := &fakeDevices{}
	s := NewSession(granted(), d)
	p, err := s.PWM(6, 250)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set(context.Background(), 80); err != nil {
		t.Fatal(err)
	}
	again, _ := s.PWM(6, 250)
	if again != p {
		t.Errorf("a second open gave another handle")
	}
	if _, err := s.Serial("/dev/ttyACM0", 9600); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.closed, ", "); got != "serial /dev/ttyACM0, pwm 6" {
		t.Errorf("closed %q", got)
	}
	if p.Duty() != 0 {
		t.Errorf("duty %v after close", p.Duty())
	}
	if _, err := s.PWM(6, 250); !errors.Is(err, ErrStopped) {
		t.Errorf("open after close: %v", err)
	}
	_ = s.Close()
	if len(d.closed) != 2 {
		t.Errorf("closed twice: %v", d.closed)
	}
}

func TestReleaseClosesTheJobsSession(t *testing.T) {
	d := &fakeDevices{}
	owner := new(int)
	s, err := SessionFor(owner, func() (*Session, error) { return NewSession(granted(), d), nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PWM(6, 250); err != nil {
		t.Fatal(err)
	}
	if err := Release(owner); err != nil {
		t.Fatal(err)
	}
	if len(d.closed) != 1 {
		t.Errorf("closed %v", d.closed)
	}
	if err := Release(owner); err != nil {
		t.Errorf("second release: %v", err)
	}
}

func TestReadLine(t *testing.T) {
	d := &fakeDevices{}
	s := NewSession(granted(), d)
	defer s.Close()
	p, err := s.Serial("/dev/ttyACM0", 9600)
	if err != nil {
		t.Fatal(err)
	}
	go fmt.Fprint(d.remote["/dev/ttyACM0"], "DONE 0.5\r\nNEXT\n")
	for _, want := range []string{"DONE 0.5", "NEXT"} {
		l, err := p.ReadLine(context.Background(), time.Minute)
		if err != nil || l != want {
			t.Errorf("line %q %v, want %q", l, err, want)
		}
	}
}

// A time-out is an error that says so; it never hangs.
func TestReadLineTimesOut(t *testing.T) {
	s := NewSession(granted(), &fakeDevices{})
	defer s.Close()
	p, _ := s.Serial("/dev/ttyACM0", 9600)
	_, err := p.ReadLine(context.Background(), time.Millisecond)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no line within 1ms") {
		t.Errorf("err %v", err)
	}
}

// A cancelled context stops a blocked read at once, whatever the time-out.
func TestReadLineStopsOnCancel(t *testing.T) {
	s := NewSession(granted(), &fakeDevices{})
	defer s.Close()
	p, _ := s.Serial("/dev/ttyACM0", 9600)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := p.ReadLine(ctx, time.Hour)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

// Closing the session stops a blocked read with the port's error.
func TestCloseStopsABlockedRead(t *testing.T) {
	s := NewSession(granted(), &fakeDevices{})
	p, _ := s.Serial("/dev/ttyACM0", 9600)
	done := make(chan error)
	go func() {
		_, err := p.ReadLine(context.Background(), time.Hour)
		done <- err
	}()
	_ = s.Close()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "the port stopped") {
		t.Errorf("err %v", err)
	}
}

// The module refuses values it cannot send and names the call.
func TestModuleErrors(t *testing.T) {
	d := &fakeDevices{}
	s := NewSession(granted(), d)
	defer s.Close()
	m := Module(Host{
		Session: func(*starlark.Thread) (*Session, error) { return s, nil },
		Context: func(*starlark.Thread) context.Context { return context.Background() },
	})
	for _, c := range []struct{ src, want string }{
		{`hw.pwm(6).set(150)`, "duty 150: want 0 to 100"},
		{`hw.serial("/dev/ttyUSB0")`, `add /dev/ttyUSB0 to [scripts.hardware] serial`},
		{`hw.serial("/dev/ttyACM0", timeout=0)`, "timeout 0: want more than 0"},
		{`hw.serial("/dev/ttyACM0").write(3)`, "want a string or bytes"},
		{`hw.serial("/dev/ttyACM0").read_line(timeout=0.001)`, "no line within 1ms"},
		{`hw.i2c(0x90)`, "want 0x03 to 0x77"},
		{`hw.gpio(26, mode="up")`, `want "out" or "in"`},
	} {
		th := &starlark.Thread{Name: "test"}
		_, err := starlark.ExecFile(th, "t.star", c.src, starlark.StringDict{"hw": m})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.src, err, c.want)
		}
	}
	th := &starlark.Thread{Name: "test"}
	if _, err := starlark.ExecFile(th, "t.star", "p = hw.pwm(6)\np.set(40)\nd = p.duty()\np.off()", starlark.StringDict{"hw": m}); err != nil {
		t.Fatal(err)
	}
}
