package hat

import (
	"context"
	"fmt"
	"time"

	"github.com/piolab/pio/hw"
)

// tmpRegTemperature is the TMP1075's temperature register.
const tmpRegTemperature = 0x00

// DecodeTMP1075 decodes the temperature register: a signed 12-bit value,
// left-justified in two big-endian bytes, in steps of 0.0625 °C. FF 80 is
// −0.5 °C (upstream decodes it unsigned, as 255.5 °C).
func DecodeTMP1075(b []byte) (float64, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("temperature register: got %d bytes, want 2", len(b))
	}
	v := int16(uint16(b[0])<<8|uint16(b[1])) >> 4
	return float64(v) * 0.0625, nil
}

// TMP1075 is the heating PCB's thermometer (0x4F), in its power-on
// continuous-conversion mode: pio never writes its config.
type TMP1075 struct {
	dev chipDev
}

var _ hw.Thermometer = (*TMP1075)(nil)

// NewTMP1075 opens the TMP1075 at addr on b, after a read of its
// temperature register (the presence check: "heating PCB attached" means
// this chip answers).
func NewTMP1075(ctx context.Context, b *I2CBus, addr uint16) (*TMP1075, error) {
	dev, err := newChipDev(b, "TMP1075", addr)
	if err != nil {
		return nil, err
	}
	if _, err := dev.probe(ctx, tmpRegTemperature, "is the heating PCB attached?"); err != nil {
		return nil, err
	}
	return &TMP1075{dev: dev}, nil
}

// String is "TMP1075 at 0x4F on I2C1".
func (t *TMP1075) String() string { return t.dev.String() }

// Celsius reads the temperature: one transfer that writes the register
// pointer and reads two bytes (never a bare read: upstream issue #315).
func (t *TMP1075) Celsius(ctx context.Context) (float64, error) {
	var c float64
	err := t.dev.do(ctx, func() error {
		var buf [2]byte
		if err := t.dev.tx("read of the temperature register", []byte{tmpRegTemperature}, buf[:]); err != nil {
			return err
		}
		c, _ = DecodeTMP1075(buf[:])
		return nil
	})
	return c, err
}

// Average reads n temperatures spaced apart on the bus's clock, the first at
// once, and returns their mean; an error on any read fails the whole reading,
// as upstream's six-read average does.
func (t *TMP1075) Average(ctx context.Context, n int, spacing time.Duration) (float64, error) {
	samples, err := chipBurst(ctx, t, t.dev.bus.clock, n, spacing, t.Celsius)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, s := range samples {
		sum += s.Volts // a burst of Celsius: the field holds °C
	}
	return sum / float64(len(samples)), nil
}

// Halt does nothing: the thermometer drives nothing. It is safe to call any
// number of times.
func (t *TMP1075) Halt() error { return nil }
