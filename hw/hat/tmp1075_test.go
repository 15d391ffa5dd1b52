package hat

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

func TestDecodeTMP1075(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want float64
	}{
		{[]byte{0x19, 0x00}, 25.0},
		{[]byte{0x1F, 0x40}, 31.25},
		{[]byte{0x4B, 0x00}, 75.0},
		{[]byte{0xFF, 0x80}, -0.5}, // upstream: 255.5
		{[]byte{0x00, 0x10}, 0.0625},
		{[]byte{0x00, 0x0F}, 0}, // the low nibble is not data
		{[]byte{0x7F, 0xF0}, 127.9375},
		{[]byte{0x80, 0x00}, -128},
		{[]byte{0xE7, 0x00}, -25},
	} {
		if got, err := DecodeTMP1075(c.b); err != nil || got != c.want {
			t.Errorf("DecodeTMP1075(% X) = %v, %v; want %v", c.b, got, err, c.want)
		}
	}
	if _, err := DecodeTMP1075([]byte{0x19}); err == nil {
		t.Error("one byte accepted")
	}
}

// Fixtures 18 to 20.
func TestTMP1075ByteForByte(t *testing.T) {
	temps := [][]byte{{0x19, 0x00}, {0x1F, 0x40}, {0x4B, 0x00}, {0xFF, 0x80}}
	ops := []i2ctest.IO{io(0x4F, []byte{0x00}, []byte{0x19, 0x00})}
	for _, r := range temps {
		ops = append(ops, io(0x4F, []byte{0x00}, r))
	}
	for range 6 {
		ops = append(ops, io(0x4F, []byte{0x00}, []byte{0x19, 0x00}))
	}
	ops[len(ops)-1].R = []byte{0x19, 0x60} // 25.375
	bus, clk := playback(t, ops, nil)
	ctx := context.Background()
	th, err := NewTMP1075(ctx, bus, 0x4F)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{25, 31.25, 75, -0.5} {
		if got, err := th.Celsius(ctx); err != nil || got != want {
			t.Errorf("read %d: Celsius = %v, %v; want %v", i, got, err, want)
		}
	}
	avg, err := th.Average(ctx, 6, 50*time.Millisecond)
	if err != nil || avg != 25.0625 {
		t.Errorf("Average = %v, %v; want 25.0625", avg, err)
	}
	if w := clk.waits(); len(w) != 5 || w[0] != 50*time.Millisecond {
		t.Errorf("waits = %v; want five of 50ms", w)
	}
	for range 2 {
		if err := th.Halt(); err != nil {
			t.Error(err)
		}
	}
}

func TestTMP1075ErrorFailsTheAverage(t *testing.T) {
	ops := []i2ctest.IO{io(0x4F, []byte{0x00}, []byte{0x19, 0x00}), io(0x4F, []byte{0x00}, []byte{0x19, 0x00})}
	fail := map[int]error{2: errRemoteIO, 3: errRemoteIO, 4: errRemoteIO, 5: errRemoteIO}
	bus, _ := playback(t, ops, fail)
	th, err := NewTMP1075(context.Background(), bus, 0x4F)
	if err != nil {
		t.Fatal(err)
	}
	_, err = th.Average(context.Background(), 6, 50*time.Millisecond)
	wantErrContains(t, err, "TMP1075 at 0x4F on I2C1: read of the temperature register", "remote I/O error", "failed 4 times")
}

func TestTMP1075AbsentAndShortRead(t *testing.T) {
	fail := map[int]error{0: errRemoteIO, 1: errRemoteIO, 2: errRemoteIO, 3: errRemoteIO}
	bus, _ := playback(t, nil, fail)
	_, err := NewTMP1075(context.Background(), bus, 0x4F)
	wantErrContains(t, err, "TMP1075 at 0x4F on I2C1", "is the heating PCB attached?")
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("%v does not wrap ErrNoDevice", err)
	}

	pb := &i2ctest.Playback{Ops: []i2ctest.IO{io(0x4F, []byte{0x00}, []byte{0x19, 0x00}), io(0x4F, []byte{0x00}, []byte{0x19})}, DontPanic: true}
	bus = NewI2CBus(&failingBus{Playback: pb}, newFakeClock(), nil)
	th, err := NewTMP1075(context.Background(), bus, 0x4F)
	if err != nil {
		t.Fatal(err)
	}
	_, err = th.Celsius(context.Background())
	wantErrContains(t, err, "TMP1075 at 0x4F on I2C1: read of the temperature register", "read buffer length")
}
