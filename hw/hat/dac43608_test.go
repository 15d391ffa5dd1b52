package hat

import (
	"context"
	"errors"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

// Fixtures 15 to 17, then a Halt from that state, twice.
func TestDAC43608ByteForByte(t *testing.T) {
	ops := []i2ctest.IO{
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}), // probe
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}), // A to 80 % from all-off
		io(0x49, []byte{0x01, 0x00, 0xFE}, nil),
		io(0x49, []byte{0x08, 0x0C, 0xC0}, nil),
		io(0x49, []byte{0x01}, []byte{0x00, 0xFE}), // A to 0 %
		io(0x49, []byte{0x01, 0x00, 0xFF}, nil),
		io(0x49, []byte{0x01}, []byte{0x00, 0xFE}), // C to 30 % with A on
		io(0x49, []byte{0x01, 0x00, 0xFA}, nil),
		io(0x49, []byte{0x0A, 0x04, 0xC0}, nil),
		io(0x49, []byte{0x01}, []byte{0x00, 0xFA}), // Halt
		io(0x49, []byte{0x01, 0x00, 0xFF}, nil),
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}), // Halt again
		io(0x49, []byte{0x01, 0x00, 0xFF}, nil),
	}
	bus, _ := playback(t, ops, nil)
	d, err := NewDAC43608(context.Background(), bus, 0x49)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		ch  string
		pct float64
	}{{"A", 80}, {"A", 0}, {"C", 30}} {
		if err := d.SetIntensity(s.ch, s.pct); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.Intensity("C"); got != 30 {
		t.Errorf("Intensity(C) = %v; want 30", got)
	}
	wantErrContains(t, d.SetIntensity("a", 10), "DAC43608 at 0x49 on I2C1: LED channel \"a\" is not one of A, B, C, D")
	wantErrContains(t, d.SetIntensity("B", -1), "LED B intensity -1 is not within 0 and 100")
	for range 2 {
		if err := d.Halt(); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.Intensity("C"); got != 0 {
		t.Errorf("Intensity(C) = %v after Halt", got)
	}
}

// A failed data write reruns the read-modify-write from the read.
func TestDAC43608RetryRerunsFromTheRead(t *testing.T) {
	ops := []i2ctest.IO{
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}),
		io(0x49, []byte{0x01}, []byte{0x00, 0xFF}),
		io(0x49, []byte{0x01, 0x00, 0xFE}, nil),
		// the data write fails here (transfer 3)
		io(0x49, []byte{0x01}, []byte{0x00, 0xFE}),
		io(0x49, []byte{0x01, 0x00, 0xFE}, nil),
		io(0x49, []byte{0x08, 0x0C, 0xC0}, nil),
	}
	bus, _ := playback(t, ops, map[int]error{3: errRemoteIO})
	d, err := NewDAC43608(context.Background(), bus, 0x49)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetIntensity("A", 80); err != nil {
		t.Fatal(err)
	}
	if s := bus.Stats(0x49); s != (ChipStats{Retries: 1}) {
		t.Errorf("stats = %+v; want one retry", s)
	}
}

func TestDAC43608Absent(t *testing.T) {
	fail := map[int]error{0: errRemoteIO, 1: errRemoteIO, 2: errRemoteIO, 3: errRemoteIO}
	bus, _ := playback(t, nil, fail)
	_, err := NewDAC43608(context.Background(), bus, 0x49)
	wantErrContains(t, err, "DAC43608 at 0x49 on I2C1: probe read of register 0x01", "failed 4 times")
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("%v does not wrap ErrNoDevice", err)
	}
}
