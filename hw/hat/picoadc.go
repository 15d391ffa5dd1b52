package hat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/piolab/pio/hw"
)

// Registers of the HAT's RP2040 firmware 0.x (HAT 1.1/1.2, 0x2C). The
// pointer does not auto-increment; every read is exactly two bytes.
const (
	picoRegLEDA    = 0x00 // 0x00–0x03: LED channel A–D level, write [reg, level]
	picoRegADC0    = 0x04 // 0x04–0x07: ADC input 0–3, little-endian unsigned
	picoRegVersion = 0x08 // firmware version: byte0 minor, byte1 major
)

// PicoWrapVolts is where firmware ≥ 0.4 wraps: its oversampled value (up to
// 4095 × 32) is cut to 16 bits, so an input above 65535 / (4095 × 32) × 3.3 V
// ≈ 1.650 V reads as a small, wrong value.
const PicoWrapVolts = 65535.0 / (4095 * 32) * 3.3

// picoNearWrapRaw is the raw value above which a read is logged as close to
// the wrap (95 % of it).
const picoNearWrapRaw = 62258

// Firmware is the RP2040 firmware version.
type Firmware struct{ Major, Minor int }

func (f Firmware) String() string { return fmt.Sprintf("%d.%d", f.Major, f.Minor) }

// DecodePicoVersion decodes register 0x08 (byte0 minor, byte1 major). Only
// 0.x firmware with x ≥ 1 has the register map these drivers speak; "HAT-V2"
// firmware 1.0 moved every register, and a read of 0x08 there (or of a
// missing register, FF FF) gives a version that is refused.
func DecodePicoVersion(b []byte) (Firmware, error) {
	if len(b) != 2 {
		return Firmware{}, fmt.Errorf("version register: got %d bytes, want 2", len(b))
	}
	f := Firmware{Major: int(b[1]), Minor: int(b[0])}
	if f.Major != 0 || f.Minor == 0 {
		return f, fmt.Errorf("firmware %s is not a 0.x firmware (0.1 to 0.255) with register map 1; a HAT-V2 firmware 1.x is not supported yet", f)
	}
	return f, nil
}

// PicoScale is the firmware's oversampling factor: 32 from 0.4, 16 before.
func PicoScale(f Firmware) float64 {
	if f.Major > 0 || f.Minor >= 4 {
		return 32
	}
	return 16
}

// DecodePicoADC decodes an ADC register: little-endian unsigned 16 bits.
func DecodePicoADC(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("ADC register: got %d bytes, want 2", len(b))
	}
	return uint16(b[0]) | uint16(b[1])<<8, nil
}

// PicoRawToVolts is upstream's conversion: raw / 4095 / scale × 3.3.
func PicoRawToVolts(raw uint16, scale float64) float64 {
	return float64(raw) / 4095 / scale * 3.3
}

// PicoVoltsToRaw is PicoRawToVolts's inverse, unrounded.
func PicoVoltsToRaw(volts, scale float64) float64 {
	return volts / 3.3 * 4095 * scale
}

// picoProbe reads the firmware version, which is also the presence check.
func picoProbe(ctx context.Context, dev chipDev) (Firmware, error) {
	b, err := dev.probe(ctx, picoRegVersion, "is the HAT attached and its firmware loaded?")
	if err != nil {
		return Firmware{}, err
	}
	f, err := DecodePicoVersion(b[:])
	if err != nil {
		return f, fmt.Errorf("%s: %w", dev, err)
	}
	return f, nil
}

// PicoADC is one input of the RP2040's ADC (HAT 1.1/1.2: version = 0,
// aux = 1, pd1 = 2, pd2 = 3). A read returns the firmware's latest
// oversampled value at once. It has no gain.
type PicoADC struct {
	dev   chipDev
	input int
	fw    Firmware
	scale float64

	mu       sync.Mutex
	nearWrap bool
}

var _ hw.ADC = (*PicoADC)(nil)

// NewPicoADC opens input (0–3) of the RP2040 at addr on b. It reads the
// firmware version once, to check the chip and choose the scale.
func NewPicoADC(ctx context.Context, b *I2CBus, addr uint16, input int) (*PicoADC, error) {
	dev, err := newChipDev(b, "RP2040", addr)
	if err != nil {
		return nil, err
	}
	if input < 0 || input > 3 {
		return nil, fmt.Errorf("%s: ADC input %d is not one of 0 to 3", dev, input)
	}
	fw, err := picoProbe(ctx, dev)
	if err != nil {
		return nil, err
	}
	return &PicoADC{dev: dev, input: input, fw: fw, scale: PicoScale(fw)}, nil
}

// String is "RP2040 at 0x2C on I2C1, ADC2".
func (p *PicoADC) String() string { return fmt.Sprintf("%s, ADC%d", p.dev, p.input) }

// Firmware is the version read at construction.
func (p *PicoADC) Firmware() Firmware { return p.fw }

// Scale is the oversampling factor the conversion to volts uses.
func (p *PicoADC) Scale() float64 { return p.scale }

// Raw reads the input's register.
func (p *PicoADC) Raw(ctx context.Context) (uint16, error) {
	reg := byte(picoRegADC0 + p.input)
	var raw uint16
	err := p.dev.do(ctx, func() error {
		var buf [2]byte
		if err := p.dev.tx(fmt.Sprintf("read of ADC register 0x%02X", reg), []byte{reg}, buf[:]); err != nil {
			return err
		}
		raw, _ = DecodePicoADC(buf[:])
		return nil
	})
	if err != nil {
		return 0, err
	}
	p.warnNearWrap(raw)
	return raw, nil
}

// warnNearWrap logs once each time the input climbs close to the 16-bit wrap
// of firmware ≥ 0.4, above which readings are wrong.
func (p *PicoADC) warnNearWrap(raw uint16) {
	if p.scale < 32 {
		return
	}
	near := raw >= picoNearWrapRaw
	p.mu.Lock()
	was := p.nearWrap
	p.nearWrap = near
	p.mu.Unlock()
	if near && !was {
		p.dev.bus.log.Warn("HAT ADC input close to its wrap point; higher voltages read as small wrong values",
			"adc", p.String(), "volts", PicoRawToVolts(raw, p.scale), "wrap_volts", PicoWrapVolts)
	}
}

// Volts reads the input in volts.
func (p *PicoADC) Volts(ctx context.Context) (float64, error) {
	raw, err := p.Raw(ctx)
	if err != nil {
		return 0, err
	}
	return PicoRawToVolts(raw, p.scale), nil
}

// Burst takes n reads spaced apart, the first at once, waiting on the bus's
// clock. The firmware smooths the photodiodes over ≈ 30–40 ms, so reads
// closer than that are not independent.
func (p *PicoADC) Burst(ctx context.Context, n int, spacing time.Duration) ([]hw.Sample, error) {
	return chipBurst(ctx, p, p.dev.bus.clock, n, spacing, p.Volts)
}

// Halt does nothing; it is safe to call any number of times.
func (p *PicoADC) Halt() error { return nil }

// LEDChannels are the unit's LED channels in register order.
var LEDChannels = []string{"A", "B", "C", "D"}

// ledIndex checks an LED command before any bus traffic.
func ledIndex(channel string, percent float64) (int, error) {
	i := -1
	for k, c := range LEDChannels {
		if c == channel {
			i = k
		}
	}
	if i < 0 {
		return 0, fmt.Errorf("LED channel %q is not one of A, B, C, D", channel)
	}
	if !(percent >= 0 && percent <= 100) { // also NaN
		return 0, fmt.Errorf("LED %s intensity %v is not within 0 and 100", channel, percent)
	}
	return i, nil
}

// LEDCode is the 8-bit level of an intensity: percent of 255 rounded half to
// even, as Python's round() does upstream (30 % → 76, not 77).
func LEDCode(percent float64) byte {
	return byte(math.RoundToEven(percent / 100 * 255))
}

// ledState remembers the last intensity commanded per channel (the chips
// are never read back).
type ledState struct {
	mu  sync.Mutex
	pct [4]float64
}

func (s *ledState) get(channel string) float64 {
	for i, c := range LEDChannels {
		if c == channel {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.pct[i]
		}
	}
	return 0
}

func (s *ledState) set(i int, pct float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pct[i] = pct
}

// PicoLEDs is the LED driver of HAT 1.1/1.2: the RP2040's PWM outputs, one
// register per channel holding an 8-bit level.
type PicoLEDs struct {
	dev   chipDev
	fw    Firmware
	state ledState
}

var _ hw.LEDs = (*PicoLEDs)(nil)

// NewPicoLEDs opens the RP2040's LED outputs at addr on b, after reading
// its firmware version (the presence check). It writes nothing: the channels
// keep their levels until set or halted.
func NewPicoLEDs(ctx context.Context, b *I2CBus, addr uint16) (*PicoLEDs, error) {
	dev, err := newChipDev(b, "RP2040", addr)
	if err != nil {
		return nil, err
	}
	fw, err := picoProbe(ctx, dev)
	if err != nil {
		return nil, err
	}
	return &PicoLEDs{dev: dev, fw: fw}, nil
}

// String is "RP2040 at 0x2C on I2C1, LEDs".
func (l *PicoLEDs) String() string { return l.dev.String() + ", LEDs" }

// Firmware is the version read at construction.
func (l *PicoLEDs) Firmware() Firmware { return l.fw }

// SetIntensity writes channel's level, LEDCode(percent). A bad channel or
// percent is refused before any bus traffic.
func (l *PicoLEDs) SetIntensity(channel string, percent float64) error {
	i, err := ledIndex(channel, percent)
	if err != nil {
		return fmt.Errorf("%s: %w", l, err)
	}
	reg, code := byte(picoRegLEDA+i), LEDCode(percent)
	err = l.dev.do(context.Background(), func() error {
		return l.dev.tx(fmt.Sprintf("LED %s level write %d", channel, code), []byte{reg, code}, nil)
	})
	if err != nil {
		return err
	}
	l.state.set(i, percent)
	return nil
}

// Intensity is the last intensity set on channel (0 before any, and for an
// unknown channel).
func (l *PicoLEDs) Intensity(channel string) float64 { return l.state.get(channel) }

// Halt writes level 0 to every channel, whatever it was; it tries all four
// and reports every failure. Safe to call any number of times.
func (l *PicoLEDs) Halt() error {
	var errs []error
	for _, c := range LEDChannels {
		errs = append(errs, l.SetIntensity(c, 0))
	}
	return errors.Join(errs...)
}
