package hat

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

func io(addr uint16, w []byte, r []byte) i2ctest.IO { return i2ctest.IO{Addr: addr, W: w, R: r} }

func near(a, b float64) bool { return math.Abs(a-b) < 5e-7 }

func TestADS1115SingleShotConfigTable(t *testing.T) {
	gains := []Gain{GainTwoThirds, Gain1, Gain2, Gain4, Gain8, Gain16}
	want := [4][6]uint16{
		{0xC183, 0xC383, 0xC583, 0xC783, 0xC983, 0xCB83},
		{0xD183, 0xD383, 0xD583, 0xD783, 0xD983, 0xDB83},
		{0xE183, 0xE383, 0xE583, 0xE783, 0xE983, 0xEB83},
		{0xF183, 0xF383, 0xF583, 0xF783, 0xF983, 0xFB83},
	}
	for in := range 4 {
		for gi, g := range gains {
			got, err := ADS1115SingleShotConfig(in, g)
			if err != nil || got != want[in][gi] {
				t.Errorf("ADS1115SingleShotConfig(%d, %v) = %04X, %v; want %04X", in, g, got, err, want[in][gi])
			}
		}
	}
	if _, err := ADS1115SingleShotConfig(4, Gain1); err == nil {
		t.Error("input 4 accepted")
	}
	if _, err := ADS1115SingleShotConfig(0, 3); err == nil {
		t.Error("gain 3 accepted")
	}
}

func TestADSConversions(t *testing.T) {
	for _, c := range []struct {
		raw   int16
		gain  Gain
		volts float64
	}{
		{8000, Gain1, 1.000031},
		{12800, Gain16, 0.100003},
		{-10, Gain1, -0.00125},
		{5360, Gain1, 0.670021}, // the reference says 0.670028; 5360 × 4.096 / 32767 is 0.6700210
		{32767, GainTwoThirds, 6.144},
		{3200, Gain1, 0.400012},
	} {
		v, err := ADSRawToVolts(c.raw, c.gain)
		if err != nil || math.Abs(v-c.volts) > 1e-6 {
			t.Errorf("ADSRawToVolts(%d, %v) = %v, %v; want %v", c.raw, c.gain, v, err, c.volts)
		}
		back, err := ADSVoltsToRaw(v, c.gain)
		if err != nil || math.Abs(back-float64(c.raw)) > 1e-9 {
			t.Errorf("ADSVoltsToRaw(%v, %v) = %v, %v; want %d", v, c.gain, back, err, c.raw)
		}
	}
	if _, err := ADSRawToVolts(1, 0.5); err == nil {
		t.Error("gain 0.5 accepted")
	}
}

func TestChooseGain(t *testing.T) {
	for _, c := range []struct {
		volts     float64
		cur, want Gain
	}{
		{5.3, Gain1, Gain1},
		{5.2223, Gain1, GainTwoThirds},
		{3.4816, Gain1, GainTwoThirds},
		{3.48, Gain16, Gain1},
		{2.0, Gain1, Gain1},
		{1.7408, Gain4, Gain1},
		{1.0, Gain1, Gain2},
		{0.8704, Gain1, Gain2},
		{0.5, Gain1, Gain4},
		{0.40, Gain1, Gain8},
		{0.2176, Gain1, Gain8},
		{0.1, Gain1, Gain16},
		{0, Gain1, Gain16},
		{-0.85, Gain1, Gain16},
		{-0.9, Gain4, Gain4},
		{math.NaN(), Gain2, Gain2},
	} {
		if got := ChooseGain(c.volts, c.cur); got != c.want {
			t.Errorf("ChooseGain(%v, %v) = %v; want %v", c.volts, c.cur, got, c.want)
		}
	}
}

// Fixtures 1 to 5 of the hardware reference: the probe, then one
// single-shot conversion each.
func TestADS1115ReadsByteForByte(t *testing.T) {
	for _, c := range []struct {
		name  string
		input int
		gain  Gain
		cfg   []byte
		conv  []byte
		volts float64
		polls int // busy polls before the ready one
	}{
		{"AIN0 gain 1 (pd2)", 0, Gain1, []byte{0x01, 0xC3, 0x83}, []byte{0x1F, 0x40}, 1.000031, 1},
		{"AIN1 gain 16 (pd1)", 1, Gain16, []byte{0x01, 0xDB, 0x83}, []byte{0x32, 0x00}, 0.100003, 0},
		{"negative near zero", 0, Gain1, []byte{0x01, 0xC3, 0x83}, []byte{0xFF, 0xF6}, -0.00125, 0},
		{"aux on AIN3", 3, Gain1, []byte{0x01, 0xF3, 0x83}, []byte{0x14, 0xF0}, 0.670021, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops := []i2ctest.IO{io(0x48, []byte{0x01}, []byte{0x85, 0x83}), io(0x48, c.cfg, nil)}
			for range c.polls {
				ops = append(ops, io(0x48, []byte{0x01}, []byte{c.cfg[1] &^ 0x80, 0x83}))
			}
			ops = append(ops, io(0x48, []byte{0x01}, []byte{c.cfg[1], 0x83}), io(0x48, []byte{0x00}, c.conv))
			bus, clk := playback(t, ops, nil)
			ctx := context.Background()
			a, err := NewADS1115(ctx, bus, 0x48, c.input)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.SetGain(c.gain); err != nil {
				t.Fatal(err)
			}
			v, err := a.Volts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(v-c.volts) > 1e-6 {
				t.Errorf("Volts = %v; want %v", v, c.volts)
			}
			if w := clk.waits(); len(w) != 1+c.polls || w[0] != adsPeriod {
				t.Errorf("waits = %v; want one conversion period %v then %d polls", w, adsPeriod, c.polls)
			}
		})
	}
}

// Fixture 6: a chip that never finishes its conversion is a timeout error,
// not a hang (upstream polls forever), and the read is not retried.
func TestADS1115ReadyPollTimesOut(t *testing.T) {
	ops := []i2ctest.IO{io(0x48, []byte{0x01}, []byte{0x85, 0x83}), io(0x48, []byte{0x01, 0xC3, 0x83}, nil)}
	// One poll after the conversion period, then one every millisecond up
	// to the 78.125 ms limit.
	polls := 1 + int((adsTimeout-adsPeriod+adsPollEvery-1)/adsPollEvery)
	for range polls {
		ops = append(ops, io(0x48, []byte{0x01}, []byte{0x43, 0x83}))
	}
	bus, _ := playback(t, ops, nil)
	a, err := NewADS1115(context.Background(), bus, 0x48, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Volts(context.Background())
	wantErrContains(t, err, "ADS1115 at 0x48 on I2C1", "AIN0 conversion not ready", "limit 78.125ms")
	if s := bus.Stats(0x48); s.Retries != 0 {
		t.Errorf("a timeout was retried: %+v", s)
	}
}

func TestADS1115Gain(t *testing.T) {
	bus, _ := playback(t, []i2ctest.IO{io(0x48, []byte{0x01}, []byte{0x85, 0x83})}, nil)
	a, err := NewADS1115(context.Background(), bus, 0x48, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantErrContains(t, a.SetGain(3), "ADS1115 at 0x48 on I2C1, AIN1", "gain 3 is not one of")
	if a.AutoGain(2.0) {
		t.Error("AutoGain(2.0) at gain 1 changed the gain")
	}
	if !a.AutoGain(0.40) || a.Gain() != Gain8 {
		t.Errorf("AutoGain(0.40) left gain %v; want 8", a.Gain())
	}
	if err := a.Halt(); err != nil {
		t.Error(err)
	}
	if err := a.Halt(); err != nil {
		t.Error(err)
	}
}

func TestADS1115Absent(t *testing.T) {
	bus, _ := playback(t, nil, map[int]error{0: errRemoteIO, 1: errRemoteIO, 2: errRemoteIO, 3: errRemoteIO})
	_, err := NewADS1115(context.Background(), bus, 0x48, 0)
	wantErrContains(t, err, "ADS1115 at 0x48 on I2C1", "probe read of register 0x01", "remote I/O error", "is this a HAT 1.0 or older?")
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("%v does not wrap ErrNoDevice", err)
	}
	_, err = NewADS1115(context.Background(), bus, 0x48, 4)
	wantErrContains(t, err, "input 4 is not one of 0 to 3")
}

// A short read (the playback holds one byte where the driver reads two) is
// an error naming the chip, never a panic; the retries rerun the conversion
// from its config write.
func TestADS1115ShortRead(t *testing.T) {
	ops := []i2ctest.IO{
		io(0x48, []byte{0x01}, []byte{0x85, 0x83}),
		io(0x48, []byte{0x01, 0xC3, 0x83}, nil),
		io(0x48, []byte{0x01}, []byte{0xC3, 0x83}),
		io(0x48, []byte{0x00}, []byte{0x1F}),
	}
	pb := &i2ctest.Playback{Ops: ops, DontPanic: true}
	bus := NewI2CBus(&failingBus{Playback: pb}, newFakeClock(), nil)
	a, err := NewADS1115(context.Background(), bus, 0x48, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Volts(context.Background())
	wantErrContains(t, err, "ADS1115 at 0x48 on I2C1", "failed 4 times")
	if s := bus.Stats(0x48); s != (ChipStats{Retries: 3, Failures: 1}) {
		t.Errorf("stats = %+v; want 3 retries and 1 failure", s)
	}
}

func TestADS1115BurstAndCancel(t *testing.T) {
	ops := []i2ctest.IO{io(0x48, []byte{0x01}, []byte{0x85, 0x83})}
	for _, conv := range [][]byte{{0x1F, 0x40}, {0x3E, 0x80}} {
		ops = append(ops, io(0x48, []byte{0x01, 0xC3, 0x83}, nil), io(0x48, []byte{0x01}, []byte{0xC3, 0x83}), io(0x48, []byte{0x00}, conv))
	}
	bus, _ := playback(t, ops, nil)
	a, err := NewADS1115(context.Background(), bus, 0x48, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Burst(context.Background(), 2, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || !near(s[0].Volts, 1.000031) || !near(s[1].Volts, 2.000061) {
		t.Fatalf("burst = %+v", s)
	}
	if d := s[1].At.Sub(s[0].At); d != 50*time.Millisecond {
		t.Errorf("samples %v apart; want 50ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = a.Burst(ctx, 2, time.Millisecond)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled burst: %v", err)
	}
}
