package hat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/piolab/pio/hw"
)

// Gain is an ADS1x15 programmable gain: 2/3, 1, 2, 4, 8 or 16. Its full-scale
// range is 4.096 V / gain.
type Gain float64

// The ADS1x15 gains; GainTwoThirds is the one that is not an integer.
const (
	GainTwoThirds Gain = 2.0 / 3.0
	Gain1         Gain = 1
	Gain2         Gain = 2
	Gain4         Gain = 4
	Gain8         Gain = 8
	Gain16        Gain = 16
)

// adsGains lists the gains in increasing order with their PGA code (config
// bits 11:9) and full-scale range in volts.
var adsGains = []struct {
	gain Gain
	pga  uint16
	fsr  float64
}{
	{GainTwoThirds, 0, 6.144},
	{Gain1, 1, 4.096},
	{Gain2, 2, 2.048},
	{Gain4, 3, 1.024},
	{Gain8, 4, 0.512},
	{Gain16, 5, 0.256},
}

// ADS1x15 register pointers and config bits (single-ended, 128 SPS,
// comparator disabled).
const (
	adsRegConversion = 0x00
	adsRegConfig     = 0x01

	adsOSStart    = 0x8000 // write: start a single conversion; read: 1 when idle
	adsModeSingle = 0x0100
	adsDR128      = 0x0080 // data rate code 0b100 = 128 samples per second
	adsCompOff    = 0x0003
)

// adsPeriod is one conversion at 128 SPS.
const adsPeriod = time.Second / 128

// adsTimeout bounds the ADS1115 ready-poll (upstream polls forever).
const adsTimeout = 10 * adsPeriod

// adsPollEvery is the wait between ready-polls once a conversion should be done.
const adsPollEvery = time.Millisecond

func (g Gain) String() string {
	if g == GainTwoThirds {
		return "2/3"
	}
	return fmt.Sprintf("%g", float64(g))
}

func adsGainIndex(g Gain) (int, error) {
	for i, e := range adsGains {
		if e.gain == g {
			return i, nil
		}
	}
	return 0, fmt.Errorf("ADS1x15 gain %v is not one of 2/3, 1, 2, 4, 8, 16", float64(g))
}

// FSR is the full-scale range of gain g in volts (6.144 V at 2/3 … 0.256 V at 16).
func (g Gain) FSR() (float64, error) {
	i, err := adsGainIndex(g)
	if err != nil {
		return 0, err
	}
	return adsGains[i].fsr, nil
}

// ADSRawToVolts converts a conversion register value at gain g to volts as
// upstream does: raw / 32767 × FSR (32767, not 32768, so that calibrations
// made upstream agree).
func ADSRawToVolts(raw int16, g Gain) (float64, error) {
	fsr, err := g.FSR()
	if err != nil {
		return 0, err
	}
	return float64(raw) / 32767 * fsr, nil
}

// ADSVoltsToRaw is ADSRawToVolts's inverse, unrounded: volts × 32767 / FSR.
func ADSVoltsToRaw(volts float64, g Gain) (float64, error) {
	fsr, err := g.FSR()
	if err != nil {
		return 0, err
	}
	return volts * 32767 / fsr, nil
}

// ChooseGain is upstream's check_on_gain with tolerance 0.85: the largest
// gain whose window [0.85 × FSR(next higher gain), 0.85 × FSR) holds volts
// (the highest gain's window reaches down to −0.85 V). A voltage outside
// every window (≥ 5.2224 V, < −0.85 V or NaN) keeps current.
func ChooseGain(volts float64, current Gain) Gain {
	const tol = 0.85
	for i, e := range adsGains {
		lo := -tol
		if i+1 < len(adsGains) {
			lo = tol * adsGains[i+1].fsr
		}
		if volts >= lo && volts < tol*e.fsr {
			return e.gain
		}
	}
	return current
}

// DecodeADSConversion decodes the two bytes of the conversion register:
// big-endian, signed (slightly negative near 0 V).
func DecodeADSConversion(b []byte) (int16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("conversion register: got %d bytes, want 2", len(b))
	}
	return int16(uint16(b[0])<<8 | uint16(b[1])), nil
}

// DecodeADSConfig decodes the two bytes of the config register (big-endian).
func DecodeADSConfig(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("config register: got %d bytes, want 2", len(b))
	}
	return uint16(b[0])<<8 | uint16(b[1]), nil
}

// ADS1115SingleShotConfig is the config word that starts one conversion of
// input (0–3, single-ended against ground) at gain g, 128 SPS, comparator off:
// C383 for AIN0 at gain 1.
func ADS1115SingleShotConfig(input int, g Gain) (uint16, error) {
	if input < 0 || input > 3 {
		return 0, fmt.Errorf("ADS1115 input %d is not one of 0 to 3", input)
	}
	i, err := adsGainIndex(g)
	if err != nil {
		return 0, err
	}
	mux := uint16(input+4) << 12
	return adsOSStart | mux | adsGains[i].pga<<9 | adsModeSingle | adsDR128 | adsCompOff, nil
}

// ADS1115 is one input of an ADS1115 (the ADC of HAT ≤ 1.0: pd1 = AIN1,
// pd2 = AIN0, version = AIN2, aux = AIN3), read in single-shot mode as
// upstream does: write the config that starts a conversion, wait one
// conversion period, poll the config register until the chip is idle
// (bounded, unlike upstream), read the conversion register. Each input has
// its own gain; the chip lock keeps two inputs' conversions apart.
type ADS1115 struct {
	dev   chipDev
	input int

	mu   sync.Mutex
	gain Gain
}

var _ hw.ADC = (*ADS1115)(nil)

// NewADS1115 opens input (0–3) of the ADS1115 at addr on b, at gain 1. It
// probes the chip with a read of its config register and writes nothing:
// every read writes its own config.
func NewADS1115(ctx context.Context, b *I2CBus, addr uint16, input int) (*ADS1115, error) {
	dev, err := newChipDev(b, "ADS1115", addr)
	if err != nil {
		return nil, err
	}
	if input < 0 || input > 3 {
		return nil, fmt.Errorf("%s: input %d is not one of 0 to 3", dev, input)
	}
	if _, err := dev.probe(ctx, adsRegConfig, "is this a HAT 1.0 or older?"); err != nil {
		return nil, err
	}
	return &ADS1115{dev: dev, input: input, gain: Gain1}, nil
}

// String is "ADS1115 at 0x48 on I2C1, AIN1".
func (a *ADS1115) String() string { return fmt.Sprintf("%s, AIN%d", a.dev, a.input) }

// Input is the input (0–3) this value reads.
func (a *ADS1115) Input() int { return a.input }

// Gain is the gain the next conversion uses.
func (a *ADS1115) Gain() Gain {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gain
}

// SetGain sets the gain of the next conversions (and of their conversion to
// volts: upstream's set_ads_gain left the latter stale). No bus traffic.
func (a *ADS1115) SetGain(g Gain) error {
	if _, err := adsGainIndex(g); err != nil {
		return fmt.Errorf("%s: %w", a, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gain = g
	return nil
}

// AutoGain switches to ChooseGain(volts, current) and says whether it
// changed.
func (a *ADS1115) AutoGain(volts float64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := ChooseGain(volts, a.gain)
	changed := g != a.gain
	a.gain = g
	return changed
}

// Raw runs one conversion and returns the conversion register and the gain
// it was taken at.
func (a *ADS1115) Raw(ctx context.Context) (int16, Gain, error) {
	g := a.Gain()
	cfg, err := ADS1115SingleShotConfig(a.input, g)
	if err != nil {
		return 0, g, fmt.Errorf("%s: %w", a, err)
	}
	clk := a.dev.bus.clock
	var raw int16
	err = a.dev.do(ctx, func() error {
		w := []byte{adsRegConfig, byte(cfg >> 8), byte(cfg)}
		if err := a.dev.tx(fmt.Sprintf("config write %04X", cfg), w, nil); err != nil {
			return err
		}
		started := clk.Now()
		if err := clk.SleepUntil(ctx, started.Add(adsPeriod)); err != nil {
			return err
		}
		var buf [2]byte
		for {
			if err := a.dev.tx("ready poll of the config register", []byte{adsRegConfig}, buf[:]); err != nil {
				return err
			}
			if buf[0]&0x80 != 0 {
				break
			}
			if clk.Now().Sub(started) >= adsTimeout {
				return fmt.Errorf("AIN%d conversion not ready %v after it started (limit %v; config reads %02X%02X)", a.input, clk.Now().Sub(started), adsTimeout, buf[0], buf[1])
			}
			if err := clk.SleepUntil(ctx, clk.Now().Add(adsPollEvery)); err != nil {
				return err
			}
		}
		if err := a.dev.tx("read of the conversion register", []byte{adsRegConversion}, buf[:]); err != nil {
			return err
		}
		raw, _ = DecodeADSConversion(buf[:])
		return nil
	})
	return raw, g, err
}

// Volts runs one conversion and converts it at the gain it was taken at.
func (a *ADS1115) Volts(ctx context.Context) (float64, error) {
	raw, g, err := a.Raw(ctx)
	if err != nil {
		return 0, err
	}
	return ADSRawToVolts(raw, g)
}

// Burst takes n conversions spaced apart, the first at once, waiting on the
// bus's clock; each sample is stamped when its read finished.
func (a *ADS1115) Burst(ctx context.Context, n int, spacing time.Duration) ([]hw.Sample, error) {
	return chipBurst(ctx, a, a.dev.bus.clock, n, spacing, a.Volts)
}

// Halt does nothing: a single-shot ADS1115 is idle between reads. It is safe
// to call any number of times.
func (a *ADS1115) Halt() error { return nil }
