package runtime

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/sched"
)

// faultyBoard is a board whose outputs misbehave on purpose, in the spirit of
// periph's gpiotest and i2ctest fakes: switching on takes time (a slow bus),
// and switching off fails a given number of times.
type faultyBoard struct {
	hw.Board
	clk      *sched.Virtual
	onDelay  time.Duration
	failOffs int // how many SetDuty(0) calls fail

	mu     sync.Mutex
	onAt   time.Time // when the output really went on
	offAt  time.Time
	halted int
}

var errBus = errors.New("i2c: remote I/O error")

func (b *faultyBoard) PWM() hw.PWMController { return b }
func (b *faultyBoard) Open(ch int, hz float64) (hw.PWM, error) {
	out, err := b.Board.PWM().Open(ch, hz)
	if err != nil {
		return nil, err
	}
	return &faultyPWM{PWM: out, b: b}, nil
}
func (b *faultyBoard) HaltAll() error {
	b.mu.Lock()
	b.halted++
	b.mu.Unlock()
	return b.Board.HaltAll()
}

type faultyPWM struct {
	hw.PWM
	b *faultyBoard
}

func (p *faultyPWM) SetDuty(d float64) error {
	b := p.b
	if d > 0 {
		// The transaction takes onDelay; the output is on at its end.
		_ = b.clk.SleepUntil(context.Background(), b.clk.Now().Add(b.onDelay))
		b.mu.Lock()
		b.onAt = b.clk.Now()
		b.mu.Unlock()
		return p.PWM.SetDuty(d)
	}
	b.mu.Lock()
	fail := b.failOffs > 0
	if fail {
		b.failOffs--
	} else if b.offAt.IsZero() {
		b.offAt = b.clk.Now()
	}
	b.mu.Unlock()
	if fail {
		return errBus
	}
	return p.PWM.SetDuty(d)
}

func TestPumpOnTimeCountsFromTheOutputOn(t *testing.T) {
	h := newHarness(t)
	b := &faultyBoard{Board: h.env.Board, clk: h.clk, onDelay: 30 * time.Millisecond}
	h.env.Board = b
	if _, err := h.pump(context.Background(), PumpRequest{Duration: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	if on := b.offAt.Sub(b.onAt); on != 2*time.Second {
		t.Errorf("the output was on for %v, want exactly 2s (switching on took 30ms)", on)
	}
}

func TestFailedOffIsRetriedThenTheBoardIsHalted(t *testing.T) {
	for _, tt := range []struct {
		failOffs   int
		wantHalted int
		wantErr    bool
	}{
		{failOffs: 2, wantHalted: 0, wantErr: false}, // the third try works
		{failOffs: 5, wantHalted: 1, wantErr: true},  // every try fails: halt
	} {
		h := newHarness(t)
		b := &faultyBoard{Board: h.env.Board, clk: h.clk, failOffs: tt.failOffs}
		h.env.Board = b
		_, err := h.pump(context.Background(), PumpRequest{Duration: ptr(1)})
		if (err != nil) != tt.wantErr || b.halted != tt.wantHalted {
			t.Errorf("%d failing offs: err %v, board halted %d times; want error %v, %d halts", tt.failOffs, err, b.halted, tt.wantErr, tt.wantHalted)
		}
		if tt.wantErr && (!errors.Is(err, errBus) || !strings.Contains(err.Error(), "board halted")) {
			t.Errorf("error %q should name the bus error and the halt", err)
		}
		if tt.wantErr && !h.logged("ERROR", "did not switch off after 3 tries") {
			t.Error("no ERROR log for the halt")
		}
		if st := h.reactor.State(); st.MovedML["media"] > 1+1e-9 {
			t.Errorf("the pump kept running: moved %v mL", st.MovedML["media"])
		}
	}
}
