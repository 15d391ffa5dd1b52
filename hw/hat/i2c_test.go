package hat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

// fakeClock jumps to whatever time it is asked to wait for, and records the
// waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.sleeps = append(c.sleeps, t.Sub(c.now))
		c.now = t
	}
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// failingBus fails the transfers whose numbers (0-based) are in fail, and
// passes the others to the playback; a failed transfer does not consume a
// playback op.
type failingBus struct {
	*i2ctest.Playback
	fail map[int]error
	n    int
}

func (f *failingBus) Tx(addr uint16, w, r []byte) error {
	n := f.n
	f.n++
	if err, ok := f.fail[n]; ok {
		return err
	}
	return f.Playback.Tx(addr, w, r)
}

func (f *failingBus) String() string { return "I2C1" }

var errRemoteIO = &errnoErr{syscall.EREMOTEIO}

type errnoErr struct{ e syscall.Errno }

func (e *errnoErr) Error() string { return "sysfs-i2c: " + e.e.Error() }
func (e *errnoErr) Unwrap() error { return e.e }

// playback is a bus that replays ops and fails the transfers in fail.
func playback(t *testing.T, ops []i2ctest.IO, fail map[int]error) (*I2CBus, *fakeClock) {
	t.Helper()
	pb := &i2ctest.Playback{Ops: ops, DontPanic: true}
	t.Cleanup(func() {
		if err := pb.Close(); err != nil {
			t.Errorf("not every transfer happened: %v", err)
		}
	})
	clk := newFakeClock()
	var bus i2c.Bus = &failingBus{Playback: pb, fail: fail}
	return NewI2CBus(bus, clk, nil), clk
}

func wantErrContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func TestRetryCountsAndGivesUp(t *testing.T) {
	ops := []i2ctest.IO{{Addr: 0x4F, W: []byte{0x00}, R: []byte{0x19, 0x00}}}
	bus, clk := playback(t, ops, map[int]error{0: errRemoteIO, 1: errRemoteIO})
	dev, err := newChipDev(bus, "TMP1075", 0x4F)
	if err != nil {
		t.Fatal(err)
	}
	var buf [2]byte
	if err := dev.do(context.Background(), func() error { return dev.tx("read", []byte{0}, buf[:]) }); err != nil {
		t.Fatal(err)
	}
	if got := bus.Stats(0x4F); got != (ChipStats{Retries: 2}) {
		t.Errorf("stats = %+v; want 2 retries", got)
	}
	if got, want := clk.waits(), []time.Duration{2 * time.Millisecond, 5 * time.Millisecond}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("backoff = %v; want %v", got, want)
	}

	err = dev.do(context.Background(), func() error { return dev.tx("read of register 0x00", []byte{0}, buf[:]) })
	wantErrContains(t, err, "TMP1075 at 0x4F on I2C1", "read of register 0x00", "failed 4 times")
	if got := bus.Stats(0x4F); got != (ChipStats{Retries: 5, Failures: 1}) {
		t.Errorf("stats = %+v; want 5 retries, 1 failure", got)
	}
}

func TestNonBusErrorsAreNotRetried(t *testing.T) {
	bus, _ := playback(t, nil, nil)
	dev, _ := newChipDev(bus, "ADS1115", 0x48)
	calls := 0
	err := dev.do(context.Background(), func() error { calls++; return errors.New("conversion not ready") })
	wantErrContains(t, err, "ADS1115 at 0x48 on I2C1: conversion not ready")
	if calls != 1 {
		t.Errorf("op ran %d times; want 1", calls)
	}
}

func TestBadAddressAndNilBus(t *testing.T) {
	bus, _ := playback(t, nil, nil)
	_, err := newChipDev(bus, "TMP1075", 0x80)
	wantErrContains(t, err, "TMP1075 on I2C1: address 0x80 is above the 7-bit maximum 0x7F")
	_, err = NewTMP1075(context.Background(), nil, 0x4F)
	wantErrContains(t, err, "TMP1075 at 0x4F: no I²C bus")
}

func TestBurstArguments(t *testing.T) {
	bus, _ := playback(t, nil, nil)
	tm := &TMP1075{dev: chipDev{bus: bus, chip: "TMP1075", addr: 0x4F}}
	_, err := tm.Average(context.Background(), 0, time.Millisecond)
	wantErrContains(t, err, "TMP1075 at 0x4F on I2C1: burst of 0 samples: need at least 1")
	_, err = tm.Average(context.Background(), 2, -time.Millisecond)
	wantErrContains(t, err, "burst spacing -1ms is negative")
}
