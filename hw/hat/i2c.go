package hat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/hw"
)

// ErrNoDevice is wrapped by a constructor's error when the chip does not
// answer its presence probe: the device is missing, unpowered, or at another
// address. A board treats it as "not fitted" (a heating PCB that is not
// attached), not as a crash.
var ErrNoDevice = errors.New("hat: no I²C device answers")

// chipRetryBackoff is the wait before each retry of a chip operation that
// failed on the bus: up to three retries, 17 ms in all.
var chipRetryBackoff = []time.Duration{2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond}

// I2CBus is the I²C bus the HAT's chips share. It serialises the operations
// on each address (a multi-transfer sequence such as an ADS1115 conversion
// never interleaves with another on the same chip), retries transient bus
// errors, counts them per address, and waits on its clock.
type I2CBus struct {
	bus   i2c.Bus
	name  string
	clock clock.Clock
	log   *slog.Logger

	mu    sync.Mutex
	locks map[uint16]*sync.Mutex
	stats map[uint16]ChipStats
}

// ChipStats counts one address's bus errors since the bus was opened.
type ChipStats struct {
	// Retries is the number of operations retried after a bus error.
	Retries int
	// Failures is the number of operations that failed after every retry.
	Failures int
}

// NewI2CBus wraps bus (periph's /dev/i2c-1, or an i2ctest.Playback in
// tests). Every wait of the chips on it uses c; log receives warnings (a nil
// log discards them).
func NewI2CBus(bus i2c.Bus, c clock.Clock, log *slog.Logger) *I2CBus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &I2CBus{
		bus:   bus,
		name:  bus.String(),
		clock: c,
		log:   log,
		locks: map[uint16]*sync.Mutex{},
		stats: map[uint16]ChipStats{},
	}
}

// String names the bus as periph does ("I2C1").
func (b *I2CBus) String() string { return b.name }

// Stats returns the error counts of the chip at addr.
func (b *I2CBus) Stats(addr uint16) ChipStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats[addr]
}

func (b *I2CBus) lockFor(addr uint16) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.locks[addr]
	if !ok {
		l = &sync.Mutex{}
		b.locks[addr] = l
	}
	return l
}

func (b *I2CBus) count(addr uint16, f func(*ChipStats)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats[addr]
	f(&s)
	b.stats[addr] = s
}

// chipDev is one chip on an I2CBus.
type chipDev struct {
	bus  *I2CBus
	chip string // "ADS1115"
	addr uint16
}

func newChipDev(b *I2CBus, chip string, addr uint16) (chipDev, error) {
	if b == nil {
		return chipDev{}, fmt.Errorf("%s at 0x%02X: no I²C bus", chip, addr)
	}
	if addr > 0x7F {
		return chipDev{}, fmt.Errorf("%s on %s: address 0x%X is above the 7-bit maximum 0x7F", chip, b.name, addr)
	}
	return chipDev{bus: b, chip: chip, addr: addr}, nil
}

// String is "ADS1115 at 0x48 on I2C1".
func (d chipDev) String() string {
	return fmt.Sprintf("%s at 0x%02X on %s", d.chip, d.addr, d.bus.name)
}

// chipBusError is a failed transfer; only these are retried.
type chipBusError struct {
	op  string
	err error
}

func (e *chipBusError) Error() string { return e.op + ": " + e.err.Error() }
func (e *chipBusError) Unwrap() error { return e.err }

// tx runs one combined transfer: write w, then read len(r) bytes. what
// names it in an error ("read of register 0x00").
func (d chipDev) tx(what string, w, r []byte) error {
	if err := d.bus.bus.Tx(d.addr, w, r); err != nil {
		return &chipBusError{op: what, err: err}
	}
	return nil
}

// do runs op, a chip-level operation made of tx calls, holding the chip's
// lock. A bus error reruns the whole operation after a short backoff, up to
// len(chipRetryBackoff) times; any other error (a timeout, a bad value) and a
// done ctx end it at once. The error names the chip, address and bus.
func (d chipDev) do(ctx context.Context, op func() error) error {
	l := d.bus.lockFor(d.addr)
	l.Lock()
	defer l.Unlock()
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		var be *chipBusError
		if !errors.As(err, &be) {
			return fmt.Errorf("%s: %w", d, err)
		}
		if attempt == len(chipRetryBackoff) {
			d.bus.count(d.addr, func(s *ChipStats) { s.Failures++ })
			return fmt.Errorf("%s: %w (failed %d times)", d, err, attempt+1)
		}
		d.bus.count(d.addr, func(s *ChipStats) { s.Retries++ })
		if werr := clock.Sleep(ctx, d.bus.clock, chipRetryBackoff[attempt]); werr != nil {
			return fmt.Errorf("%s: %w (retry abandoned: %v)", d, err, werr)
		}
	}
}

// probe checks the chip answers a read of reg (never a zero-length write: see
// docs/hardware.md) and returns the two bytes read. A failure wraps
// ErrNoDevice.
func (d chipDev) probe(ctx context.Context, reg byte, hint string) ([2]byte, error) {
	var got [2]byte
	err := d.do(ctx, func() error {
		return d.tx(fmt.Sprintf("probe read of register 0x%02X", reg), []byte{reg}, got[:])
	})
	if err != nil {
		return got, fmt.Errorf("%w: %w; %s", err, ErrNoDevice, hint)
	}
	return got, nil
}

// chipBurst takes n readings spaced apart on c, the first at once, each
// stamped when its read finished. Its own errors name who; read's errors are
// returned as they are.
func chipBurst(ctx context.Context, who fmt.Stringer, c clock.Clock, n int, spacing time.Duration, read func(context.Context) (float64, error)) ([]hw.Sample, error) {
	if n < 1 {
		return nil, fmt.Errorf("%s: burst of %d samples: need at least 1", who, n)
	}
	if spacing < 0 {
		return nil, fmt.Errorf("%s: burst spacing %v is negative", who, spacing)
	}
	out := make([]hw.Sample, 0, n)
	start := c.Now()
	for i := range n {
		if err := c.SleepUntil(ctx, start.Add(time.Duration(i)*spacing)); err != nil {
			return out, fmt.Errorf("%s: burst stopped after %d of %d samples: %w", who, i, n, err)
		}
		v, err := read(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, hw.Sample{At: c.Now(), Volts: v})
	}
	return out, nil
}
