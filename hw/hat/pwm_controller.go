package hat

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw"
)

// PWMConfig is what a PWMController drives.
type PWMConfig struct {
	// Pins maps each PWM channel to its GPIO pin (PWMPins).
	Pins map[int]int
	// OpenPin returns the output of a GPIO pin, for the software PWM (on a
	// Pi: gpioreg.ByName("GPIO<n>")).
	OpenPin func(gpioNum int) (gpio.PinOut, error)
	// Sysfs is the kernel PWM of GPIO12 and GPIO13; nil drives them in
	// software like the other pins.
	Sysfs *Sysfs
	// RunDir holds the pin locks (gpio<N>.lock), shared by every process
	// of the unit.
	RunDir string
	// Clock times the software PWM and the sysfs waits; nil is the wall
	// clock.
	Clock clock.Clock
}

// PWMController hands out the HAT's PWM channels, one user per pin (in this
// process and on the machine: PinLocks), with the kernel's PWM for GPIO12
// and GPIO13 and a software PWM for the other pins.
type PWMController struct {
	cfg   PWMConfig
	locks *PinLocks
	stale []StaleChannel

	mu   sync.Mutex
	open map[*lockedPWM]struct{}
}

var _ hw.PWMController = (*PWMController)(nil)

// NewPWMController returns the controller of cfg's channels after putting
// every channel that no live process holds in a safe state: the software
// pins are driven low and a kernel PWM channel left enabled (by a process that
// died without halting it) is disabled, and listed by Stale.
func NewPWMController(cfg PWMConfig) (*PWMController, error) {
	if len(cfg.Pins) == 0 {
		return nil, errors.New("hat: PWM controller without channels (no pin map)")
	}
	if cfg.RunDir == "" {
		return nil, errors.New("hat: PWM controller without a run directory for its pin locks")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Sysfs != nil && cfg.Sysfs.Clock == nil {
		cfg.Sysfs.Clock = cfg.Clock
	}
	c := &PWMController{cfg: cfg, locks: NewPinLocks(cfg.RunDir), open: map[*lockedPWM]struct{}{}}
	if err := c.resetIdle(); err != nil {
		return nil, err
	}
	return c, nil
}

// resetIdle drives low every software pin that no process holds and halts
// the kernel channels left enabled whose pin no process holds.
func (c *PWMController) resetIdle() error {
	hwPins := map[int]int{} // sysfs index → pin
	for _, ch := range c.channels() {
		pin := c.cfg.Pins[ch]
		if index, ok := sysfsIndex(pin); ok && c.cfg.Sysfs != nil {
			hwPins[index] = pin
			continue
		}
		if c.cfg.OpenPin == nil {
			continue
		}
		release, err := c.locks.Acquire(pin, "the start of the PWM controller")
		if errors.Is(err, hw.ErrBusy) {
			continue // a live process drives it
		}
		if err != nil {
			return err
		}
		out, err := c.cfg.OpenPin(pin)
		if err == nil {
			err = out.Out(gpio.Low)
		}
		release()
		if err != nil {
			return fmt.Errorf("PWM channel %d (GPIO%d): drive low at start: %w", ch, pin, err)
		}
	}
	if c.cfg.Sysfs == nil {
		return nil
	}
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	free := func(index int) bool {
		pin, ok := hwPins[index]
		if !ok {
			return false // not one of this unit's channels
		}
		release, err := c.locks.Acquire(pin, "the start of the PWM controller")
		if err != nil {
			return false
		}
		releases = append(releases, release)
		return true
	}
	stale, err := c.cfg.Sysfs.haltEnabled(context.Background(), free)
	c.stale = stale
	return err
}

// Stale lists the kernel PWM channels that the controller found running
// without an owner at its start, and disabled.
func (c *PWMController) Stale() []StaleChannel { return c.stale }

func (c *PWMController) channels() []int {
	chans := make([]int, 0, len(c.cfg.Pins))
	for ch := range c.cfg.Pins {
		chans = append(chans, ch)
	}
	sort.Ints(chans)
	return chans
}

// Open implements hw.PWMController: channel at hz, line low, locked to the
// caller until Close. A channel in use is an error wrapping hw.ErrBusy that
// names the pin and its holder.
func (c *PWMController) Open(channel int, hz float64) (hw.PWM, error) {
	pin, ok := c.cfg.Pins[channel]
	if !ok {
		return nil, fmt.Errorf("hat: PWM channel %d does not exist (channels %s)", channel, pwmChannelList(c.cfg.Pins))
	}
	release, err := c.locks.Acquire(pin, fmt.Sprintf("PWM channel %d", channel))
	if err != nil {
		return nil, fmt.Errorf("PWM channel %d: %w", channel, err)
	}
	out, err := c.openOutput(channel, pin, hz)
	if err != nil {
		release()
		return nil, err
	}
	p := &lockedPWM{PWM: out, ctl: c, release: release}
	c.mu.Lock()
	c.open[p] = struct{}{}
	c.mu.Unlock()
	return p, nil
}

func (c *PWMController) openOutput(channel, pin int, hz float64) (hw.PWM, error) {
	if index, ok := sysfsIndex(pin); ok && c.cfg.Sysfs != nil {
		return c.cfg.Sysfs.Open(context.Background(), index, channel, pin, hz)
	}
	if c.cfg.OpenPin == nil {
		return nil, fmt.Errorf("hat: PWM channel %d (GPIO%d) needs a GPIO output and the controller has none", channel, pin)
	}
	out, err := c.cfg.OpenPin(pin)
	if err != nil {
		return nil, fmt.Errorf("PWM channel %d (GPIO%d): %w", channel, pin, err)
	}
	return NewSoftPWM(out, channel, pin, hz, c.cfg.Clock)
}

// HaltAll halts every output the controller has open.
func (c *PWMController) HaltAll() error {
	var errs []error
	for _, p := range c.outputs() {
		errs = append(errs, p.Halt())
	}
	return errors.Join(errs...)
}

// Close closes every output the controller has open.
func (c *PWMController) Close() error {
	var errs []error
	for _, p := range c.outputs() {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

func (c *PWMController) outputs() []*lockedPWM {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*lockedPWM, 0, len(c.open))
	for p := range c.open {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Channel() < out[j].Channel() })
	return out
}

// lockedPWM is an output that holds its pin's lock until Close.
type lockedPWM struct {
	hw.PWM
	ctl     *PWMController
	release func()
}

// Close halts the output, then releases its pin.
func (p *lockedPWM) Close() error {
	err := p.PWM.Close()
	p.ctl.mu.Lock()
	delete(p.ctl.open, p)
	p.ctl.mu.Unlock()
	p.release()
	return err
}
