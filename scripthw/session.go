package scripthw

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNotGranted is wrapped by the error of an open that [scripts.hardware]
// does not allow.
var ErrNotGranted = errors.New("not granted")

// ErrStopped is wrapped by the error of an open after the session closed
// (the job stopped).
var ErrStopped = errors.New("the job has stopped; its devices are closed")

// Session is what one job's scripts opened. Opening a device that is open
// already returns the same handle, so a pump function can call
// hw.serial(port) on every dose without reopening the port (which resets an
// Arduino). Close halts and closes everything, once.
type Session struct {
	grants Grants
	dev    Devices

	mu     sync.Mutex
	closed bool
	order  []string // keys of open, in opening order
	open   map[string]closer
}

type closer interface {
	String() string
	close() error
}

// NewSession checks opens against g and opens through d.
func NewSession(g Grants, d Devices) *Session {
	return &Session{grants: g, dev: d, open: map[string]closer{}}
}

// Grants returns what the session may open.
func (s *Session) Grants() Grants { return s.grants }

// Opened lists the devices open now, in the order they were opened.
func (s *Session) Opened() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.open[k].String())
	}
	return out
}

func notGranted(call, value, key string) error {
	return fmt.Errorf("%s: %w; add %s to [%s] %s", call, ErrNotGranted, value, Section, key)
}

// get returns the device open under key, or opens one with mk, holding
// the session's lock (opens are short; reads and writes are not under it).
func (s *Session) get(call, key string, mk func() (closer, error)) (closer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%s: %w", call, ErrStopped)
	}
	if c, ok := s.open[key]; ok {
		return c, nil
	}
	c, err := mk()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	s.open[key] = c
	s.order = append(s.order, key)
	return c, nil
}

// forget drops a device the script closed itself.
func (s *Session) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.open[key]; !ok {
		return
	}
	delete(s.open, key)
	for i, k := range s.order {
		if k == key {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// PWM opens a granted PWM channel at hz (a channel open already keeps its
// frequency; asking for another is an error).
func (s *Session) PWM(channel int, hz float64) (*PWMOut, error) {
	call := fmt.Sprintf("hw.pwm(%d)", channel)
	if !s.grants.PWM[channel] {
		return nil, notGranted(call, fmt.Sprint(channel), "pwm")
	}
	if !(hz > 0 && hz <= 100_000) {
		return nil, fmt.Errorf("%s: hz %v: want more than 0, at most 100000", call, hz)
	}
	key := fmt.Sprintf("pwm:%d", channel)
	c, err := s.get(call, key, func() (closer, error) {
		out, err := s.dev.OpenPWM(channel, hz)
		if err != nil {
			return nil, err
		}
		return &PWMOut{out: out, hz: hz, key: key, s: s}, nil
	})
	if err != nil {
		return nil, err
	}
	p := c.(*PWMOut)
	if p.hz != hz {
		return nil, fmt.Errorf("%s: open already at %v Hz, not %v Hz", call, p.hz, hz)
	}
	return p, nil
}

// GPIO opens a granted GPIO line as an output (out) or an input.
func (s *Session) GPIO(pin int, out bool) (*GPIOLine, error) {
	mode := modeName(out)
	call := fmt.Sprintf("hw.gpio(%d, mode=%q)", pin, mode)
	if !s.grants.GPIO[pin] {
		return nil, notGranted(call, fmt.Sprint(pin), "gpio")
	}
	key := fmt.Sprintf("gpio:%d", pin)
	c, err := s.get(call, key, func() (closer, error) {
		g, err := s.dev.OpenGPIO(pin, out)
		if err != nil {
			return nil, err
		}
		return &GPIOLine{g: g, out: out, key: key, s: s}, nil
	})
	if err != nil {
		return nil, err
	}
	l := c.(*GPIOLine)
	if l.out != out {
		return nil, fmt.Errorf("%s: open already with mode=%q", call, modeName(l.out))
	}
	return l, nil
}

func modeName(out bool) string {
	if out {
		return "out"
	}
	return "in"
}

// I2C opens a granted I²C device.
func (s *Session) I2C(bus int, addr uint16) (*I2CDev, error) {
	a := I2CAddr{Bus: bus, Addr: addr}
	call := fmt.Sprintf("hw.i2c(0x%02X, bus=%d)", addr, bus)
	if !s.grants.I2C[a] {
		return nil, notGranted(call, a.String(), "i2c")
	}
	key := "i2c:" + a.String()
	c, err := s.get(call, key, func() (closer, error) {
		d, err := s.dev.OpenI2C(bus, addr)
		if err != nil {
			return nil, err
		}
		return &I2CDev{d: d, key: key, s: s}, nil
	})
	if err != nil {
		return nil, err
	}
	return c.(*I2CDev), nil
}

// Serial opens a granted serial port at baud (a port open already keeps its
// baud rate; asking for another is an error).
func (s *Session) Serial(port string, baud int) (*Serial, error) {
	call := fmt.Sprintf("hw.serial(%q)", port)
	if !s.grants.Serial[port] {
		return nil, notGranted(call, port, "serial")
	}
	if baud < 50 || baud > 4_000_000 {
		return nil, fmt.Errorf("%s: baud %d: want 50 to 4000000", call, baud)
	}
	key := "serial:" + port
	c, err := s.get(call, key, func() (closer, error) {
		rw, err := s.dev.OpenSerial(port, baud)
		if err != nil {
			return nil, err
		}
		return newSerial(port, baud, rw, key, s), nil
	})
	if err != nil {
		return nil, err
	}
	p := c.(*Serial)
	if p.baud != baud {
		return nil, fmt.Errorf("%s: open already at %d baud, not %d", call, p.baud, baud)
	}
	return p, nil
}

// Close halts and closes every device the session opened, newest first, and
// refuses opens from then on. It returns every close's error, joined; it is
// safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	s.closed = true
	var all []closer
	for i := len(s.order) - 1; i >= 0; i-- {
		all = append(all, s.open[s.order[i]])
	}
	s.order, s.open = nil, map[string]closer{}
	s.mu.Unlock()
	var errs []error
	for _, c := range all {
		if err := c.close(); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

// The sessions of running jobs, by owner (the job).
var sessions = struct {
	mu sync.Mutex
	m  map[any]*Session
}{m: map[any]*Session{}}

// SessionFor returns owner's session, made by mk on first use. owner is the
// job (its *runtime.Job): Release(owner) must be called when it ends.
func SessionFor(owner any, mk func() (*Session, error)) (*Session, error) {
	sessions.mu.Lock()
	defer sessions.mu.Unlock()
	if s, ok := sessions.m[owner]; ok {
		return s, nil
	}
	s, err := mk()
	if err != nil {
		return nil, err
	}
	sessions.m[owner] = s
	return s, nil
}

// Release closes owner's session, if it has one, and forgets it: every
// device its scripts opened is halted and closed. Call it on every exit
// path of the job (a defer in its Run).
func Release(owner any) error {
	sessions.mu.Lock()
	s, ok := sessions.m[owner]
	delete(sessions.m, owner)
	sessions.mu.Unlock()
	if !ok {
		return nil
	}
	return s.Close()
}

// Owners counts the jobs with an open session (for tests and pio's health
// report).
func Owners() int {
	sessions.mu.Lock()
	defer sessions.mu.Unlock()
	return len(sessions.m)
}
