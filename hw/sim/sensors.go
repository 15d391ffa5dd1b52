package sim

import (
	"context"
	"fmt"
	"math"

	"github.com/piolab/pio/hw"
)

// The reactor is a board with sensors.
var _ hw.Sensors = (*Reactor)(nil)

// Photodiode implements hw.Sensors: the ADC of photodiode channel 1 to 4,
// seeing what Options.Photodiodes puts in front of it.
func (r *Reactor) Photodiode(channel int) (hw.ADC, error) {
	if channel < 1 || channel > 4 {
		return nil, fmt.Errorf("sim: photodiode channel %d does not exist (1 to 4): %w", channel, hw.ErrNotConfigured)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.irErr != nil {
		return nil, r.irErr
	}
	role := r.pds[channel]
	if err := checkRole(channel, role); err != nil {
		return nil, err
	}
	return &photodiode{r: r, ch: channel, role: role}, nil
}

// Thermometer implements hw.Sensors: the heating PCB's TMP1075.
func (r *Reactor) Thermometer() (hw.Thermometer, error) { return &thermometer{r: r}, nil }

// LEDs implements hw.Sensors. HaltAll turns the LEDs off once they have
// been handed out.
func (r *Reactor) LEDs() (hw.LEDs, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ledsOut = true
	return &leds{r: r}, nil
}

// RPM implements hw.Sensors: a counter of the stirrer's revolutions from
// now.
func (r *Reactor) RPM() (hw.RPMCounter, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advanceLocked()
	return &rpmCounter{r: r, base: r.revs}, nil
}

// thermometer reads the PCB's temperature with noise, in the TMP1075's
// steps.
type thermometer struct{ r *Reactor }

func (t *thermometer) String() string { return "sim thermometer (TMP1075)" }
func (t *thermometer) Halt() error    { return nil }

// Celsius implements hw.Thermometer.
func (t *thermometer) Celsius(ctx context.Context) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r := t.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advanceLocked()
	m := &r.model
	c := r.pcbC
	if m.ThermometerNoise > 0 {
		c += m.ThermometerNoise * r.stream(streamThermometer).NormFloat64()
	}
	if res := m.ThermometerResolution; res > 0 {
		c = math.Round(c/res) * res
	}
	return c, nil
}
