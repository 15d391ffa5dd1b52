package selftest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/sched"
)

// run runs the self-test on the simulator like Simulate, without the final
// HaltAll, so that what the checks leave on shows; with cancelAt > 0 the
// context ends at that virtual time since the start.
func run(t *testing.T, o SimOptions, cancelAt time.Duration) (Report, *sim.Reactor) {
	t.Helper()
	env, reactor, err := simEnv(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if cancelAt > 0 {
		env.Sched.(*sched.Virtual).At(Epoch.Add(cancelAt), cancel)
	}
	rep, err := runVirtual(ctx, env, reactor, o.Options)
	if err != nil {
		t.Fatal(err)
	}
	return rep, reactor
}

// assertAllOff fails unless every PWM output of the reactor was last set to
// 0, none is left open, and every LED is off.
func assertAllOff(t *testing.T, r *sim.Reactor) {
	t.Helper()
	last := map[int]float64{}
	for _, c := range r.DutyTrace() {
		last[c.Channel] = c.Duty
	}
	for ch, d := range last {
		if d != 0 {
			t.Errorf("PWM channel %d left at %g %%", ch, d)
		}
	}
	for ch := 1; ch <= 9; ch++ {
		out, err := r.Open(ch, 100)
		if errors.Is(err, hw.ErrBusy) {
			t.Errorf("PWM channel %d left open", ch)
			continue
		}
		if err == nil {
			out.Close()
		}
	}
	for ch, v := range r.State().LEDs {
		if v != 0 {
			t.Errorf("LED %s left at %g %%", ch, v)
		}
	}
}

// results maps each check's name to its result.
func results(rep Report) map[string]Result {
	out := map[string]Result{}
	for _, r := range rep.Results {
		out[r.Name] = r
	}
	return out
}

// faultBoard is the simulated reactor with faults: PWM channels whose
// output does nothing (the pin reads back, nothing is wired), a
// thermometer and photodiodes that misbehave.
type faultBoard struct {
	*sim.Reactor
	dead map[int]bool
	// thermometer, if set, replaces the reactor's.
	thermometer func(real hw.Thermometer) hw.Thermometer
	// darkVolts is added to every photodiode reading.
	darkVolts float64
}

func (b *faultBoard) PWM() hw.PWMController { return b }

func (b *faultBoard) Open(ch int, hz float64) (hw.PWM, error) {
	p, err := b.Reactor.Open(ch, hz)
	if err != nil || !b.dead[ch] {
		return p, err
	}
	return &deadPWM{PWM: p}, nil
}

func (b *faultBoard) Thermometer() (hw.Thermometer, error) {
	th, err := b.Reactor.Thermometer()
	if err != nil || b.thermometer == nil {
		return th, err
	}
	return b.thermometer(th), nil
}

func (b *faultBoard) Photodiode(ch int) (hw.ADC, error) {
	adc, err := b.Reactor.Photodiode(ch)
	if err != nil || b.darkVolts == 0 {
		return adc, err
	}
	return &leakyADC{ADC: adc, add: b.darkVolts}, nil
}

// deadPWM remembers its duty and drives nothing.
type deadPWM struct {
	hw.PWM
	duty float64
}

func (d *deadPWM) SetDuty(x float64) error {
	if err := hw.CheckDuty(x); err != nil {
		return err
	}
	d.duty = x
	return nil
}

func (d *deadPWM) Duty() float64 { return d.duty }

// brokenThermometer reads well n times, then fails (or panics).
type brokenThermometer struct {
	hw.Thermometer
	n     int
	panic bool
}

func (b *brokenThermometer) Celsius(ctx context.Context) (float64, error) {
	if b.n > 0 {
		b.n--
		return b.Thermometer.Celsius(ctx)
	}
	if b.panic {
		panic("thermometer driver bug")
	}
	return 0, fmt.Errorf("TMP1075 at 0x4f: remote I/O error")
}

// leakyADC sees light that is not the LEDs'.
type leakyADC struct {
	hw.ADC
	add float64
}

func (l *leakyADC) Burst(ctx context.Context, n int, spacing time.Duration) ([]hw.Sample, error) {
	s, err := l.ADC.Burst(ctx, n, spacing)
	for i := range s {
		s[i].Volts += l.add
	}
	return s, err
}

// bareBoard is a board without sensors.
type bareBoard struct{ hw.Board }
