package hat

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

func TestDecodePicoVersion(t *testing.T) {
	for _, c := range []struct {
		b     []byte
		want  Firmware
		scale float64
		bad   string
	}{
		{b: []byte{0x05, 0x00}, want: Firmware{0, 5}, scale: 32},
		{b: []byte{0x04, 0x00}, want: Firmware{0, 4}, scale: 32},
		{b: []byte{0x03, 0x00}, want: Firmware{0, 3}, scale: 16},
		{b: []byte{0x00, 0x00}, bad: "firmware 0.0 is not a 0.x firmware"},
		{b: []byte{0x00, 0x01}, bad: "firmware 1.0 is not"},
		{b: []byte{0xFF, 0xFF}, bad: "firmware 255.255 is not"},
		{b: []byte{0x05}, bad: "got 1 bytes, want 2"},
	} {
		f, err := DecodePicoVersion(c.b)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("DecodePicoVersion(% X) = %v, %v; want an error with %q", c.b, f, err, c.bad)
			}
			continue
		}
		if err != nil || f != c.want || PicoScale(f) != c.scale {
			t.Errorf("DecodePicoVersion(% X) = %v (scale %v), %v; want %v (scale %v)", c.b, f, PicoScale(f), err, c.want, c.scale)
		}
	}
}

func TestPicoConversions(t *testing.T) {
	for _, c := range []struct {
		raw   uint16
		scale float64
		volts float64
	}{
		{8000, 32, 0.201465},
		{8000, 16, 0.402930},
		{26476, 32, 0.666749},
		{65535, 32, PicoWrapVolts},
		{0, 32, 0},
	} {
		v := PicoRawToVolts(c.raw, c.scale)
		if math.Abs(v-c.volts) > 1e-6 {
			t.Errorf("PicoRawToVolts(%d, %v) = %v; want %v", c.raw, c.scale, v, c.volts)
		}
		if back := PicoVoltsToRaw(v, c.scale); math.Abs(back-float64(c.raw)) > 1e-9 {
			t.Errorf("PicoVoltsToRaw(%v, %v) = %v; want %d", v, c.scale, back, c.raw)
		}
	}
	if math.Abs(PicoWrapVolts-1.650) > 0.001 {
		t.Errorf("wrap at %v V; want ≈ 1.650", PicoWrapVolts)
	}
}

// Fixtures 10 to 12: the version read, then each ADC register.
func TestPicoADCByteForByte(t *testing.T) {
	for _, c := range []struct {
		name    string
		version []byte
		input   int
		reg     byte
		r       []byte
		volts   float64
	}{
		{"pd1 firmware 0.5", []byte{0x05, 0x00}, 2, 0x06, []byte{0x40, 0x1F}, 0.201465},
		{"pd1 firmware 0.3", []byte{0x03, 0x00}, 2, 0x06, []byte{0x40, 0x1F}, 0.402930},
		{"pd2", []byte{0x05, 0x00}, 3, 0x07, []byte{0x40, 0x1F}, 0.201465},
		{"version strap", []byte{0x05, 0x00}, 0, 0x04, []byte{0x40, 0x1F}, 0.201465},
		{"aux", []byte{0x05, 0x00}, 1, 0x05, []byte{0x6C, 0x67}, 0.666749},
	} {
		t.Run(c.name, func(t *testing.T) {
			bus, _ := playback(t, []i2ctest.IO{io(0x2C, []byte{0x08}, c.version), io(0x2C, []byte{c.reg}, c.r)}, nil)
			p, err := NewPicoADC(context.Background(), bus, 0x2C, c.input)
			if err != nil {
				t.Fatal(err)
			}
			v, err := p.Volts(context.Background())
			if err != nil || math.Abs(v-c.volts) > 1e-6 {
				t.Errorf("Volts = %v, %v; want %v", v, err, c.volts)
			}
			if err := p.Halt(); err != nil {
				t.Error(err)
			}
		})
	}
}

// Fixture 14: a transient error on the read is retried once and the value
// returned.
func TestPicoADCRetriesATransientError(t *testing.T) {
	ops := []i2ctest.IO{io(0x2C, []byte{0x08}, []byte{0x05, 0x00}), io(0x2C, []byte{0x06}, []byte{0x40, 0x1F})}
	bus, clk := playback(t, ops, map[int]error{1: errRemoteIO})
	p, err := NewPicoADC(context.Background(), bus, 0x2C, 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Volts(context.Background())
	if err != nil || math.Abs(v-0.201465) > 1e-6 {
		t.Fatalf("Volts = %v, %v; want 0.201465", v, err)
	}
	if s := bus.Stats(0x2C); s != (ChipStats{Retries: 1}) {
		t.Errorf("stats = %+v; want one retry", s)
	}
	if w := clk.waits(); len(w) != 1 {
		t.Errorf("waits = %v; want one backoff", w)
	}
}

func TestPicoAbsentOrWrongFirmware(t *testing.T) {
	fail := map[int]error{0: errRemoteIO, 1: errRemoteIO, 2: errRemoteIO, 3: errRemoteIO}
	bus, _ := playback(t, nil, fail)
	_, err := NewPicoADC(context.Background(), bus, 0x2C, 2)
	wantErrContains(t, err, "RP2040 at 0x2C on I2C1: probe read of register 0x08", "remote I/O error", "firmware loaded?")
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("%v does not wrap ErrNoDevice", err)
	}

	bus, _ = playback(t, []i2ctest.IO{io(0x2C, []byte{0x08}, []byte{0x00, 0x01})}, nil)
	_, err = NewPicoLEDs(context.Background(), bus, 0x2C)
	wantErrContains(t, err, "RP2040 at 0x2C on I2C1: firmware 1.0 is not a 0.x firmware")

	bus, _ = playback(t, nil, nil)
	_, err = NewPicoADC(context.Background(), bus, 0x2C, 4)
	wantErrContains(t, err, "ADC input 4 is not one of 0 to 3")
}

func TestPicoADCWarnsNearTheWrap(t *testing.T) {
	ops := []i2ctest.IO{io(0x2C, []byte{0x08}, []byte{0x05, 0x00})}
	for _, r := range [][]byte{{0x00, 0xF5}, {0x10, 0xF5}, {0x00, 0x10}, {0x00, 0xF6}} {
		ops = append(ops, io(0x2C, []byte{0x06}, r))
	}
	pb := &i2ctest.Playback{Ops: ops, DontPanic: true}
	var logged bytes.Buffer
	bus := NewI2CBus(&failingBus{Playback: pb}, newFakeClock(), slog.New(slog.NewTextHandler(&logged, nil)))
	p, err := NewPicoADC(context.Background(), bus, 0x2C, 2)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := p.Volts(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logged.String(), "close to its wrap point"); n != 2 {
		t.Errorf("warned %d times; want 2 (once per climb):\n%s", n, logged.String())
	}
}

// Fixture 13 and the checks before any traffic.
func TestPicoLEDsByteForByte(t *testing.T) {
	ops := []i2ctest.IO{
		io(0x2C, []byte{0x08}, []byte{0x05, 0x00}),
		io(0x2C, []byte{0x00, 0xCC}, nil),
		io(0x2C, []byte{0x01, 0x4C}, nil),
		io(0x2C, []byte{0x03, 0x00}, nil),
		io(0x2C, []byte{0x02, 0xFF}, nil),
		// Halt, twice.
		io(0x2C, []byte{0x00, 0x00}, nil), io(0x2C, []byte{0x01, 0x00}, nil), io(0x2C, []byte{0x02, 0x00}, nil), io(0x2C, []byte{0x03, 0x00}, nil),
		io(0x2C, []byte{0x00, 0x00}, nil), io(0x2C, []byte{0x01, 0x00}, nil), io(0x2C, []byte{0x02, 0x00}, nil), io(0x2C, []byte{0x03, 0x00}, nil),
	}
	bus, _ := playback(t, ops, nil)
	l, err := NewPicoLEDs(context.Background(), bus, 0x2C)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		ch  string
		pct float64
	}{{"A", 80}, {"B", 30}, {"D", 0}, {"C", 100}} {
		if err := l.SetIntensity(s.ch, s.pct); err != nil {
			t.Fatal(err)
		}
	}
	wantErrContains(t, l.SetIntensity("E", 10), "RP2040 at 0x2C on I2C1, LEDs: LED channel \"E\" is not one of A, B, C, D")
	wantErrContains(t, l.SetIntensity("A", 100.5), "LED A intensity 100.5 is not within 0 and 100")
	wantErrContains(t, l.SetIntensity("A", math.NaN()), "LED A intensity NaN")
	if got := l.Intensity("B"); got != 30 {
		t.Errorf("Intensity(B) = %v; want 30", got)
	}
	if got := l.Intensity("A"); got != 80 {
		t.Errorf("Intensity(A) = %v after refused commands; want 80", got)
	}
	for range 2 {
		if err := l.Halt(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range LEDChannels {
		if got := l.Intensity(c); got != 0 {
			t.Errorf("Intensity(%s) = %v after Halt", c, got)
		}
	}
}

func TestLEDCodeRoundsHalfToEven(t *testing.T) {
	for pct, want := range map[float64]byte{30: 76, 50: 128, 70: 178, 10: 26, 90: 230, 85: 217, 80: 204, 100: 255, 0: 0} {
		if got := LEDCode(pct); got != want {
			t.Errorf("LEDCode(%v) = %d; want %d", pct, got, want)
		}
	}
}

func TestPicoLEDsHaltReportsEveryFailure(t *testing.T) {
	fail := map[int]error{}
	for i := 1; i <= 8; i++ { // channels A and B fail every attempt
		fail[i] = errRemoteIO
	}
	ops := []i2ctest.IO{
		io(0x2C, []byte{0x08}, []byte{0x05, 0x00}),
		io(0x2C, []byte{0x02, 0x00}, nil), io(0x2C, []byte{0x03, 0x00}, nil),
	}
	bus, _ := playback(t, ops, fail)
	l, err := NewPicoLEDs(context.Background(), bus, 0x2C)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Halt()
	wantErrContains(t, err, "LED A level write 0", "LED B level write 0")
}
