package scripthw

import (
	"context"
	"fmt"
	"sync"

	"github.com/piolab/pio/hw"
)

// PWMOut is a PWM channel a script opened.
type PWMOut struct {
	out hw.PWM
	hz  float64
	key string
	s   *Session
}

func (p *PWMOut) String() string { return fmt.Sprintf("PWM channel %d", p.out.Channel()) }

// Set sets the duty cycle, 0 to 100 %.
func (p *PWMOut) Set(ctx context.Context, duty float64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if err := hw.CheckDuty(duty); err != nil {
		return fmt.Errorf("%s: duty %v: want 0 to 100", p, duty)
	}
	if err := p.out.SetDuty(duty); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// Off sets the duty cycle to 0 (allowed after the context ended: turning
// off is always safe).
func (p *PWMOut) Off() error {
	if err := p.out.SetDuty(0); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// Duty is the duty cycle set last.
func (p *PWMOut) Duty() float64 { return p.out.Duty() }

func (p *PWMOut) close() error { return p.out.Close() }

// GPIOLine is a GPIO line a script opened.
type GPIOLine struct {
	g   GPIO
	out bool
	key string
	s   *Session
}

func (l *GPIOLine) String() string { return l.g.String() }

// Write drives an output line high or low.
func (l *GPIOLine) Write(ctx context.Context, high bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", l, err)
	}
	if !l.out {
		return fmt.Errorf("%s: write to an input (open it with mode=\"out\")", l)
	}
	if err := l.g.Write(high); err != nil {
		return fmt.Errorf("%s: %w", l, err)
	}
	return nil
}

// Read reads the line's level.
func (l *GPIOLine) Read(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("%s: %w", l, err)
	}
	v, err := l.g.Read()
	if err != nil {
		return false, fmt.Errorf("%s: %w", l, err)
	}
	return v, nil
}

func (l *GPIOLine) close() error { return l.g.Close() }

// I2CDev is an I²C device a script opened. Its transfers are not retried: a
// write to a script's device need not be idempotent.
type I2CDev struct {
	mu  sync.Mutex
	d   I2C
	key string
	s   *Session
}

// MaxI2CTransfer bounds the bytes of one write or read.
const MaxI2CTransfer = 4096

func (d *I2CDev) String() string { return d.d.String() }

// Tx writes w then reads n bytes in one combined transfer; either may be
// empty, not both.
func (d *I2CDev) Tx(ctx context.Context, w []byte, n int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	if len(w) > MaxI2CTransfer || n < 0 || n > MaxI2CTransfer {
		return nil, fmt.Errorf("%s: write of %d and read of %d bytes: each must be 0 to %d", d, len(w), n, MaxI2CTransfer)
	}
	if len(w) == 0 && n == 0 {
		return nil, fmt.Errorf("%s: nothing to write or read", d)
	}
	r := make([]byte, n)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.d.Tx(w, r); err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	return r, nil
}

func (d *I2CDev) close() error { return d.d.Close() }
