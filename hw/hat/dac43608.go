package hat

import (
	"context"
	"fmt"

	"github.com/piolab/pio/hw"
)

// DAC43608 command bytes. Every register is 16 bits, MSB first.
const (
	dacRegDeviceConfig = 0x01 // low byte bit n: output n powered down
	dacRegDataA        = 0x08 // 0x08–0x0F: data of outputs A–H, code << 4
	dacAllLEDsDown     = 0x0F // the power-down bits of outputs A–D
)

// DecodeDACConfig decodes DEVICE_CONFIG (big-endian).
func DecodeDACConfig(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("DEVICE_CONFIG register: got %d bytes, want 2", len(b))
	}
	return uint16(b[0])<<8 | uint16(b[1]), nil
}

// DAC43608 is the LED driver of HAT ≤ 1.0 (0x49); LED channels A–D are its
// outputs A–D. Setting a channel to 0 powers the output down; any other
// intensity powers it up and writes its 8-bit code, as upstream does.
type DAC43608 struct {
	dev   chipDev
	state ledState
}

var _ hw.LEDs = (*DAC43608)(nil)

// NewDAC43608 opens the DAC43608 at addr on b. It probes DEVICE_CONFIG and
// writes nothing.
func NewDAC43608(ctx context.Context, b *I2CBus, addr uint16) (*DAC43608, error) {
	dev, err := newChipDev(b, "DAC43608", addr)
	if err != nil {
		return nil, err
	}
	if _, err := dev.probe(ctx, dacRegDeviceConfig, "is this a HAT 1.0 or older?"); err != nil {
		return nil, err
	}
	return &DAC43608{dev: dev}, nil
}

// String is "DAC43608 at 0x49 on I2C1".
func (d *DAC43608) String() string { return d.dev.String() }

// updateConfig is the read-modify-write of DEVICE_CONFIG: the low byte
// becomes change(low byte), the high byte 00 (which also clears "power down
// all"). A retry reruns it from the read.
func (d *DAC43608) updateConfig(what string, change func(lo byte) byte, then func() error) error {
	return d.dev.do(context.Background(), func() error {
		var buf [2]byte
		if err := d.dev.tx(what+": read of DEVICE_CONFIG", []byte{dacRegDeviceConfig}, buf[:]); err != nil {
			return err
		}
		lo := change(buf[1])
		if err := d.dev.tx(fmt.Sprintf("%s: DEVICE_CONFIG write 00%02X", what, lo), []byte{dacRegDeviceConfig, 0, lo}, nil); err != nil {
			return err
		}
		if then != nil {
			return then()
		}
		return nil
	})
}

// SetIntensity sets channel to percent. 0 powers the output down (two
// transfers; the data register keeps its code); otherwise the output is
// powered up and its data register written with LEDCode(percent) << 4
// (three transfers). A bad channel or percent is refused before any bus
// traffic.
func (d *DAC43608) SetIntensity(channel string, percent float64) error {
	i, err := ledIndex(channel, percent)
	if err != nil {
		return fmt.Errorf("%s: %w", d, err)
	}
	bit := byte(1) << i
	what := fmt.Sprintf("LED %s to %v%%", channel, percent)
	if percent == 0 {
		err = d.updateConfig(what, func(lo byte) byte { return lo | bit }, nil)
	} else {
		word := uint16(LEDCode(percent)) << 4
		reg := byte(dacRegDataA + i)
		err = d.updateConfig(what, func(lo byte) byte { return lo &^ bit }, func() error {
			return d.dev.tx(fmt.Sprintf("%s: data write %04X", what, word), []byte{reg, byte(word >> 8), byte(word)}, nil)
		})
	}
	if err != nil {
		return err
	}
	d.state.set(i, percent)
	return nil
}

// Intensity is the last intensity set on channel (0 before any, and for an
// unknown channel).
func (d *DAC43608) Intensity(channel string) float64 { return d.state.get(channel) }

// Halt powers outputs A–D down in one read-modify-write, whatever they were.
// Safe to call any number of times.
func (d *DAC43608) Halt() error {
	err := d.updateConfig("halt", func(lo byte) byte { return lo | dacAllLEDsDown }, nil)
	if err != nil {
		return err
	}
	for i := range LEDChannels {
		d.state.set(i, 0)
	}
	return nil
}
