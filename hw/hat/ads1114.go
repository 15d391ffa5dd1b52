package hat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/piolab/pio/hw"
)

// ads1114Settle is the wait after a config write before the first read: one
// conversion period plus the datasheet's 10 % data-rate tolerance (upstream
// waits exactly one period).
const ads1114Settle = adsPeriod * 11 / 10

// ADS1114ContinuousConfig is the config word of an ADS1114 converting
// continuously at gain g and 128 SPS, comparator off: 0283 at gain 1.
func ADS1114ContinuousConfig(g Gain) (uint16, error) {
	i, err := adsGainIndex(g)
	if err != nil {
		return 0, err
	}
	return adsGains[i].pga<<9 | adsDR128 | adsCompOff, nil
}

// ADS1114 is a one-input ADS1114 (one per photodiode on the v1.5 optics,
// 0x48–0x4B) in continuous mode, as upstream runs it since app 26.2.23: the
// config is written at construction and on each gain change, and a read is one
// transfer of the conversion register, paced so that each read sees a fresh
// conversion (at most one per 1/128 s).
type ADS1114 struct {
	dev chipDev

	mu        sync.Mutex
	gain      Gain
	nextReady time.Time
}

var _ hw.ADC = (*ADS1114)(nil)

// NewADS1114 opens the ADS1114 at addr on b and starts it converting at gain.
// The config write is also the presence check.
func NewADS1114(ctx context.Context, b *I2CBus, addr uint16, gain Gain) (*ADS1114, error) {
	dev, err := newChipDev(b, "ADS1114", addr)
	if err != nil {
		return nil, err
	}
	a := &ADS1114{dev: dev}
	if err := a.SetGain(ctx, gain); err != nil {
		return nil, fmt.Errorf("%w; is a v1.5 optics board fitted at this address?", err)
	}
	return a, nil
}

// String is "ADS1114 at 0x49 on I2C1".
func (a *ADS1114) String() string { return a.dev.String() }

// Gain is the gain the chip converts at.
func (a *ADS1114) Gain() Gain {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gain
}

// SetGain writes the config for gain g; the next read waits for a conversion
// at the new gain. On error the chip's gain is unknown and the old one is
// kept for the conversion to volts.
func (a *ADS1114) SetGain(ctx context.Context, g Gain) error {
	cfg, err := ADS1114ContinuousConfig(g)
	if err != nil {
		return fmt.Errorf("%s: %w", a, err)
	}
	err = a.dev.do(ctx, func() error {
		w := []byte{adsRegConfig, byte(cfg >> 8), byte(cfg)}
		if err := a.dev.tx(fmt.Sprintf("config write %04X", cfg), w, nil); err != nil {
			return err
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.gain = g
		a.nextReady = a.dev.bus.clock.Now().Add(ads1114Settle)
		return nil
	})
	return err
}

// AutoGain switches to ChooseGain(volts, current), writing the config only
// if the gain changes, and says whether it did.
func (a *ADS1114) AutoGain(ctx context.Context, volts float64) (bool, error) {
	cur := a.Gain()
	g := ChooseGain(volts, cur)
	if g == cur {
		return false, nil
	}
	if err := a.SetGain(ctx, g); err != nil {
		return false, err
	}
	return true, nil
}

// Raw reads the latest conversion and the gain it was taken at, first
// waiting until a conversion newer than the last read (or the last config
// write) is due.
func (a *ADS1114) Raw(ctx context.Context) (int16, Gain, error) {
	clk := a.dev.bus.clock
	var raw int16
	var g Gain
	err := a.dev.do(ctx, func() error {
		a.mu.Lock()
		ready := a.nextReady
		g = a.gain
		a.mu.Unlock()
		if err := clk.SleepUntil(ctx, ready); err != nil {
			return err
		}
		var buf [2]byte
		if err := a.dev.tx("read of the conversion register", []byte{adsRegConversion}, buf[:]); err != nil {
			return err
		}
		raw, _ = DecodeADSConversion(buf[:])
		a.mu.Lock()
		a.nextReady = clk.Now().Add(adsPeriod)
		a.mu.Unlock()
		return nil
	})
	return raw, g, err
}

// Volts reads the latest conversion in volts.
func (a *ADS1114) Volts(ctx context.Context) (float64, error) {
	raw, g, err := a.Raw(ctx)
	if err != nil {
		return 0, err
	}
	return ADSRawToVolts(raw, g)
}

// Burst takes n reads spaced apart (never closer than one conversion), the
// first at once, waiting on the bus's clock.
func (a *ADS1114) Burst(ctx context.Context, n int, spacing time.Duration) ([]hw.Sample, error) {
	return chipBurst(ctx, a, a.dev.bus.clock, n, spacing, a.Volts)
}

// Halt does nothing: the chip keeps converting, which drives nothing. It is
// safe to call any number of times.
func (a *ADS1114) Halt() error { return nil }
