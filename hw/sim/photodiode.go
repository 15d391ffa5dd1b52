package sim

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/piolab/pio/hw"
)

// A photodiode channel sees what [od_config.photodiode_channel] puts in
// front of it: the reference photodiode, which sees the IR LED directly, a
// photodiode at an angle, which sees the light the culture scatters (or, at
// 180°, transmits), or nothing. Every channel reads the dark offset, white
// noise and the mains ripple on top.

// maxVolts is where the ADC clips.
const maxVolts = 3.3

// Relative signals of the angles other than 90°, at OD 0 for 180°: fixed
// shapes, not fitted to hardware.
const (
	gain45  = 1.25
	gain135 = 0.75
	gain180 = 2.0 // × e^(−OD), transmitted light
)

// photodiode is the ADC input of one photodiode channel.
type photodiode struct {
	r    *Reactor
	ch   int
	role string // "REF", an angle, or ""
}

func (p *photodiode) String() string {
	role := p.role
	if role == "" {
		role = "unused"
	}
	return fmt.Sprintf("sim photodiode %d (%s)", p.ch, role)
}

func (p *photodiode) Halt() error { return nil }

// Volts implements hw.ADC.
func (p *photodiode) Volts(ctx context.Context) (float64, error) {
	s, err := p.Burst(ctx, 1, 0)
	if err != nil {
		return 0, err
	}
	return s[0].Volts, nil
}

// Burst implements hw.ADC: n samples, spacing apart from now, returned at
// once. The culture and the LEDs are taken as they are now: they change
// little within a burst.
func (p *photodiode) Burst(ctx context.Context, n int, spacing time.Duration) ([]hw.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n < 1 || spacing < 0 {
		return nil, fmt.Errorf("%s: want at least 1 sample spaced 0 or more apart, got %d samples %v apart", p, n, spacing)
	}
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advanceLocked()
	m := &r.model
	now := r.last
	light := r.leds[r.irIndex] / 100 * r.driftLocked(now)
	mean, std := m.DarkVolts, m.SignalNoiseVolts
	switch p.role {
	case "REF":
		mean += m.ReferenceVolts * light
		std = m.ReferenceNoiseVolts
	case "90":
		mean += m.scatter(r.od) * light
	case "45":
		mean += gain45 * m.scatter(r.od) * light
	case "135":
		mean += gain135 * m.scatter(r.od) * light
	case "180":
		mean += gain180 * m.SignalVoltsPerOD * math.Exp(-r.od) * light
	}
	g := r.stream(streamPhotodiode + uint64(p.ch))
	// The ripple's phase advances by the same angle each sample: rotate
	// (sin, cos) instead of calling math.Sin per sample.
	w := 2 * math.Pi * m.MainsHz
	phase := w*now.Sub(r.start).Seconds() + r.ripplePhase
	sin, cos := math.Sincos(math.Mod(phase, 2*math.Pi))
	dSin, dCos := math.Sincos(math.Mod(w*spacing.Seconds(), 2*math.Pi))
	out := make([]hw.Sample, n)
	at := now
	for i := range out {
		v := mean + std*g.NormFloat64() + m.MainsRippleVolts*sin
		if v < 0 {
			v = 0
		} else if v > maxVolts {
			v = maxVolts
		}
		out[i] = hw.Sample{At: at, Volts: v}
		at = at.Add(spacing)
		sin, cos = sin*dCos+cos*dSin, cos*dCos-sin*dSin
	}
	return out, nil
}

// scatter is the 90° signal at IR 100 %, mildly saturating at high OD.
func (m *Model) scatter(od float64) float64 {
	return m.SignalVoltsPerOD * od / (1 + od/m.SignalSaturationOD)
}

// driftLocked is the IR LED's relative output at t.
func (r *Reactor) driftLocked(t time.Time) float64 {
	m := &r.model
	if m.LEDDriftFraction == 0 || m.LEDDriftPeriod <= 0 {
		return 1
	}
	x := t.Sub(r.start).Seconds() / m.LEDDriftPeriod.Seconds()
	return 1 + m.LEDDriftFraction*math.Sin(2*math.Pi*x+r.driftPhase)
}

// checkRole validates a photodiode channel's role.
func checkRole(ch int, role string) error {
	switch role {
	case "", "REF", "45", "90", "135", "180":
		return nil
	}
	return fmt.Errorf("sim: photodiode channel %s: want REF, an angle (45, 90, 135, 180) or nothing, got %q", strconv.Itoa(ch), role)
}
