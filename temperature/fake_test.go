package temperature

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/piolab/pio/hw"
)

// fakeBoard is a board with PWM outputs and a heating PCB whose thermometer
// follows a two-body thermal model (fakeThermal), until the simulated
// reactor has one of its own.
type fakeBoard struct {
	mu      sync.Mutex
	clk     interface{ Now() time.Time }
	open    map[int]*fakePWM
	therm   *fakeThermal
	noTherm bool // Thermometer() fails
}

func (b *fakeBoard) Name() string          { return "fake board" }
func (b *fakeBoard) Simulated() bool       { return true }
func (b *fakeBoard) PWM() hw.PWMController { return b }
func (b *fakeBoard) Close() error          { return b.HaltAll() }

func (b *fakeBoard) HaltAll() error {
	b.mu.Lock()
	outs := make([]*fakePWM, 0, len(b.open))
	for _, p := range b.open {
		outs = append(outs, p)
	}
	b.mu.Unlock()
	for _, p := range outs {
		_ = p.Halt()
	}
	return nil
}

func (b *fakeBoard) Open(ch int, hz float64) (hw.PWM, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		b.open = map[int]*fakePWM{}
	}
	if _, busy := b.open[ch]; busy {
		return nil, hw.ErrBusy
	}
	p := &fakePWM{b: b, ch: ch, hz: hz}
	b.open[ch] = p
	return p, nil
}

// duty is the duty of channel ch (0 when not open).
func (b *fakeBoard) duty(ch int) float64 {
	b.mu.Lock()
	p := b.open[ch]
	b.mu.Unlock()
	if p == nil {
		return 0
	}
	return p.Duty()
}

func (b *fakeBoard) isOpen(ch int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open[ch] != nil
}

func (b *fakeBoard) Photodiode(int) (hw.ADC, error) { return nil, hw.ErrNotConfigured }
func (b *fakeBoard) LEDs() (hw.LEDs, error)         { return nil, hw.ErrNotConfigured }
func (b *fakeBoard) RPM() (hw.RPMCounter, error)    { return nil, hw.ErrNotConfigured }
func (b *fakeBoard) Thermometer() (hw.Thermometer, error) {
	if b.noTherm {
		return nil, fmt.Errorf("no TMP1075 found: %w", hw.ErrNotConfigured)
	}
	return b.therm, nil
}

type fakePWM struct {
	b    *fakeBoard
	ch   int
	hz   float64
	mu   sync.Mutex
	duty float64
}

func (p *fakePWM) String() string { return fmt.Sprintf("fake PWM %d", p.ch) }
func (p *fakePWM) Channel() int   { return p.ch }
func (p *fakePWM) Hz() float64    { return p.hz }
func (p *fakePWM) Duty() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.duty
}
func (p *fakePWM) SetDuty(d float64) error {
	if err := hw.CheckDuty(d); err != nil {
		return err
	}
	if p.b.therm != nil && p.ch == heaterChannel {
		p.b.therm.advance() // the old duty heated until now
	}
	p.mu.Lock()
	p.duty = d
	p.mu.Unlock()
	return nil
}
func (p *fakePWM) Halt() error { return p.SetDuty(0) }
func (p *fakePWM) Close() error {
	err := p.Halt()
	p.b.mu.Lock()
	delete(p.b.open, p.ch)
	p.b.mu.Unlock()
	return err
}

// heaterChannel is [PWM]'s default channel for heating.
const heaterChannel = 5

// fakeThermal models the heating PCB and the vial: the PCB relaxes quickly
// (tauPCB) toward the vial's temperature + a·dc, the vial slowly (tauVial)
// toward room + b·dc, dc being the heater's duty in percent. With tauPCB
// 22.5 s, tauVial 15 min, a 0.30 and b 0.60 °C/%, upstream's inference
// model recovers the vial's temperature within 0.5 °C while the job cycles
// the heater (95 s on at 10 to 50 %, 105 s off); with tauVial 40 min, a
// 0.33, b 0.43 within 0.3 °C in steady heating at 5 to 50 % (TestInfer).
// Fixed, if set, makes every reading that value; Fail makes readings fail.
type fakeThermal struct {
	b               *fakeBoard
	mu              sync.Mutex
	last            time.Time
	room, vial, pcb float64
	tauPCB, tauVial float64 // seconds
	a, bGain        float64
	Fixed           *float64
	Fail            bool
	reads           int
}

func newFakeThermal(b *fakeBoard, room float64) *fakeThermal {
	return &fakeThermal{b: b, last: b.clk.Now(), room: room, vial: room, pcb: room,
		tauPCB: 22.5, tauVial: 900, a: 0.30, bGain: 0.6}
}

func (f *fakeThermal) String() string { return "fake TMP1075" }
func (f *fakeThermal) Halt() error    { return nil }

// advance integrates the model up to now with the heater's current duty.
func (f *fakeThermal) advance() {
	dc := f.b.duty(heaterChannel)
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.b.clk.Now()
	const step = 0.05
	for s := now.Sub(f.last).Seconds(); s > 0; s -= step {
		dt := min(step, s)
		f.vial += dt * (f.room + f.bGain*dc - f.vial) / f.tauVial
		f.pcb += dt * (f.vial + f.a*dc - f.pcb) / f.tauPCB
	}
	f.last = now
}

func (f *fakeThermal) Celsius(ctx context.Context) (float64, error) {
	f.advance()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.Fail {
		return 0, errors.New("i2c: remote I/O error")
	}
	if f.Fixed != nil {
		return *f.Fixed, nil
	}
	return f.pcb, nil
}

func (f *fakeThermal) set(fixed float64) {
	f.mu.Lock()
	f.Fixed = &fixed
	f.mu.Unlock()
}

func (f *fakeThermal) setFail(fail bool) {
	f.mu.Lock()
	f.Fail = fail
	f.mu.Unlock()
}

// vialTemp is the vial's true temperature now.
func (f *fakeThermal) vialTemp() float64 {
	f.advance()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vial
}
