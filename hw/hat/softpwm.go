package hat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw"
)

// SoftPWM drives a PWM channel from a goroutine that toggles a GPIO output,
// as upstream's lgpio tx_pwm does for every pin but GPIO12 and GPIO13. At 0 %
// and 100 % it holds the line and sleeps; in between it runs periods on a
// fixed grid of the clock: the line goes high at the start of a period and low
// one on-time after the moment it went high, so a late wake-up shortens the
// low part, never the on-time. With the wall clock (clock.Real: a kernel
// timer and a short spin) the on-time overshoots by microseconds; see
// BenchmarkSoftPWMOnTimeOvershoot.
//
// A duty change takes effect at once: the current period is cut short and a
// new one starts (0 % and 100 % set the line before SetDuty returns).
type SoftPWM struct {
	pin     gpio.PinOut
	channel int
	gpio    int
	hz      float64
	clk     clock.Clock

	mu        sync.Mutex
	duty      float64
	closed    bool
	err       error              // the first error of the pin
	interrupt context.CancelFunc // ends the loop's current cycle

	stop context.CancelFunc
	done chan struct{}
}

var _ hw.PWM = (*SoftPWM)(nil)

// NewSoftPWM starts a software PWM on pin (GPIO gpioNum, HAT PWM channel
// channel) at hz, with the line low. clk times the edges; nil means the wall
// clock.
func NewSoftPWM(pin gpio.PinOut, channel, gpioNum int, hz float64, clk clock.Clock) (*SoftPWM, error) {
	if !(hz >= MinSoftwareHz && hz <= MaxSoftwareHz) {
		return nil, fmt.Errorf("software PWM channel %d (GPIO%d): frequency %g Hz is outside %g to %g Hz", channel, gpioNum, hz, MinSoftwareHz, MaxSoftwareHz)
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if err := pin.Out(gpio.Low); err != nil {
		return nil, fmt.Errorf("software PWM channel %d (GPIO%d): drive low: %w", channel, gpioNum, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &SoftPWM{pin: pin, channel: channel, gpio: gpioNum, hz: hz, clk: clk, stop: stop, done: make(chan struct{})}
	go p.run(ctx)
	return p, nil
}

// run is the toggling goroutine. It ends when Close cancels ctx.
func (p *SoftPWM) run(ctx context.Context) {
	defer close(p.done)
	for ctx.Err() == nil {
		cycle, duty := p.nextCycle(ctx)
		if duty > 0 && duty < 100 {
			p.toggle(cycle, duty)
		}
		<-cycle.Done() // a hold (0 %, 100 %, a failed pin) waits for a change
	}
}

// nextCycle returns a context that SetDuty and Close end, and the duty to run.
func (p *SoftPWM) nextCycle(ctx context.Context) (context.Context, float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cycle, cancel := context.WithCancel(ctx)
	p.interrupt = cancel
	if p.err != nil {
		return cycle, 0
	}
	return cycle, p.duty
}

// toggle runs periods at duty until cycle ends or the pin fails.
func (p *SoftPWM) toggle(cycle context.Context, duty float64) {
	period := time.Duration(float64(time.Second) / p.hz)
	on := time.Duration(float64(period) * duty / 100)
	start := p.clk.Now()
	for {
		if !p.out(cycle, gpio.High) {
			return
		}
		high := p.clk.Now()
		if p.clk.SleepUntil(cycle, high.Add(on)) != nil {
			return
		}
		if !p.out(cycle, gpio.Low) {
			return
		}
		start = start.Add(period)
		if now := p.clk.Now(); now.Sub(start) > period/2 {
			start = now // fell behind: skip the lost periods rather than rush them
		}
		if p.clk.SleepUntil(cycle, start) != nil {
			return
		}
	}
}

// out sets the line unless cycle has ended (the duty changed under it). It
// reports whether the loop may go on.
func (p *SoftPWM) out(cycle context.Context, l gpio.Level) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cycle.Err() != nil {
		return false
	}
	if err := p.pin.Out(l); err != nil {
		p.failLocked(err)
		return false
	}
	return true
}

func (p *SoftPWM) failLocked(err error) {
	if p.err == nil {
		p.err = fmt.Errorf("software PWM channel %d (GPIO%d): %w", p.channel, p.gpio, err)
	}
}

// String implements hw.Resource.
func (p *SoftPWM) String() string {
	return fmt.Sprintf("PWM channel %d (GPIO%d, software)", p.channel, p.gpio)
}

// SetDuty implements hw.PWM.
func (p *SoftPWM) SetDuty(percent float64) error {
	if err := hw.CheckDuty(percent); err != nil {
		return fmt.Errorf("PWM channel %d: duty %g: %w", p.channel, percent, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("PWM channel %d (GPIO%d): %w", p.channel, p.gpio, hw.ErrClosed)
	}
	return p.setLocked(percent)
}

// setLocked records the duty, ends the loop's cycle and, for 0 and 100 %,
// sets the line itself.
func (p *SoftPWM) setLocked(percent float64) error {
	p.duty = percent
	if p.interrupt != nil {
		p.interrupt()
	}
	switch percent {
	case 0:
		if err := p.pin.Out(gpio.Low); err != nil {
			p.failLocked(err)
		}
	case 100:
		if err := p.pin.Out(gpio.High); err != nil {
			p.failLocked(err)
		}
	}
	return p.err
}

// Duty implements hw.PWM.
func (p *SoftPWM) Duty() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.duty
}

// Hz implements hw.PWM.
func (p *SoftPWM) Hz() float64 { return p.hz }

// Channel implements hw.PWM.
func (p *SoftPWM) Channel() int { return p.channel }

// Pin is the GPIO pin the channel drives.
func (p *SoftPWM) Pin() int { return p.gpio }

// Halt implements hw.Resource: duty 0, line low before it returns.
func (p *SoftPWM) Halt() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	return p.setLocked(0)
}

// Close implements hw.PWM: it stops the goroutine and leaves the line low.
// A second Close does nothing.
func (p *SoftPWM) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.duty = 0
	p.mu.Unlock()
	p.stop()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.pin.Out(gpio.Low); err != nil {
		p.failLocked(err)
	}
	return p.err
}
