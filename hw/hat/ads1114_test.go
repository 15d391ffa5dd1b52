package hat

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

func TestADS1114ContinuousConfig(t *testing.T) {
	for _, c := range []struct {
		g    Gain
		want uint16
	}{{GainTwoThirds, 0x0083}, {Gain1, 0x0283}, {Gain2, 0x0483}, {Gain4, 0x0683}, {Gain8, 0x0883}, {Gain16, 0x0A83}} {
		if got, err := ADS1114ContinuousConfig(c.g); err != nil || got != c.want {
			t.Errorf("ADS1114ContinuousConfig(%v) = %04X, %v; want %04X", c.g, got, err, c.want)
		}
	}
	if _, err := ADS1114ContinuousConfig(32); err == nil {
		t.Error("gain 32 accepted")
	}
}

// Fixtures 7 to 9: init at gain 1, a read after the settling time, a second
// read paced to the next conversion, and the config words of gain changes.
func TestADS1114ByteForByte(t *testing.T) {
	ops := []i2ctest.IO{
		io(0x49, []byte{0x01, 0x02, 0x83}, nil),
		io(0x49, []byte{0x00}, []byte{0x0C, 0x80}),
		io(0x49, []byte{0x00}, []byte{0x0C, 0x81}),
		io(0x49, []byte{0x01, 0x08, 0x83}, nil), // AutoGain(0.40) from 1 → 8
		io(0x49, []byte{0x01, 0x06, 0x83}, nil),
		io(0x49, []byte{0x01, 0x0A, 0x83}, nil),
		io(0x49, []byte{0x01, 0x00, 0x83}, nil),
		io(0x49, []byte{0x00}, []byte{0x40, 0x00}),
	}
	bus, clk := playback(t, ops, nil)
	ctx := context.Background()
	a, err := NewADS1114(ctx, bus, 0x49, Gain1)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Volts(ctx)
	if err != nil || math.Abs(v-0.400012) > 1e-6 {
		t.Fatalf("Volts = %v, %v; want 0.400012", v, err)
	}
	if w := clk.waits(); len(w) != 1 || w[0] != ads1114Settle {
		t.Errorf("first read waited %v; want the settling time %v", w, ads1114Settle)
	}
	clk.advance(time.Millisecond)
	if _, err := a.Volts(ctx); err != nil {
		t.Fatal(err)
	}
	if w := clk.waits(); len(w) != 2 || w[1] != adsPeriod-time.Millisecond {
		t.Errorf("second read waited %v; want the rest of one period, %v", w, adsPeriod-time.Millisecond)
	}
	if changed, err := a.AutoGain(ctx, 2.0); err != nil || changed {
		t.Errorf("AutoGain(2.0) at gain 1 = %v, %v; want no change and no traffic", changed, err)
	}
	if changed, err := a.AutoGain(ctx, 0.40); err != nil || !changed || a.Gain() != Gain8 {
		t.Errorf("AutoGain(0.40) = %v, %v, gain %v; want gain 8", changed, err, a.Gain())
	}
	for _, g := range []Gain{Gain4, Gain16, GainTwoThirds} {
		if err := a.SetGain(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	v, err = a.Volts(ctx)
	if err != nil || math.Abs(v-3.072094) > 1e-6 {
		t.Errorf("Volts at gain 2/3 = %v, %v; want 3.072094", v, err)
	}
	if err := a.Halt(); err != nil {
		t.Error(err)
	}
	if err := a.Halt(); err != nil {
		t.Error(err)
	}
}

func TestADS1114BadGainAndAbsent(t *testing.T) {
	fail := map[int]error{}
	for i := range 4 {
		fail[i] = errRemoteIO
	}
	bus, _ := playback(t, nil, fail)
	_, err := NewADS1114(context.Background(), bus, 0x4A, 5)
	wantErrContains(t, err, "ADS1114 at 0x4A on I2C1: ADS1x15 gain 5 is not one of 2/3, 1, 2, 4, 8, 16")
	_, err = NewADS1114(context.Background(), bus, 0x4A, Gain1)
	wantErrContains(t, err, "ADS1114 at 0x4A on I2C1: config write 0283", "remote I/O error", "failed 4 times", "v1.5 optics")
}

func TestADS1114BurstPacesToConversions(t *testing.T) {
	ops := []i2ctest.IO{io(0x48, []byte{0x01, 0x02, 0x83}, nil)}
	for range 3 {
		ops = append(ops, io(0x48, []byte{0x00}, []byte{0x0C, 0x80}))
	}
	bus, _ := playback(t, ops, nil)
	a, err := NewADS1114(context.Background(), bus, 0x48, Gain1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Burst(context.Background(), 3, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(s); i++ {
		if d := s[i].At.Sub(s[i-1].At); d < adsPeriod {
			t.Errorf("samples %d and %d are %v apart; a fresh conversion takes %v", i-1, i, d, adsPeriod)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Volts(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Volts on a cancelled ctx: %v", err)
	}
}
