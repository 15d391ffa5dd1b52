package odreading

import (
	"context"
	"fmt"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/runtime"
)

// ledChannels are the unit's LED channels.
var ledChannels = []string{"A", "B", "C", "D"}

// ledControl is how the job changes the unit's LEDs, which it shares with
// the led_intensity action and the LED automations: the leds package's
// Controller has this method set.
type ledControl interface {
	Set(ctx context.Context, changes map[string]float64, source string) (applied bool, err error)
	Lock(owner string, channels ...string) (unlock func())
	Intensities() map[string]float64
}

// ledsFor returns the unit's LED controller.
func ledsFor(env *runtime.Env, s hw.Sensors) (ledControl, error) {
	l, err := s.LEDs()
	if err != nil {
		return nil, fmt.Errorf("od_reading: the IR LED: %w", err)
	}
	return directLEDs{l}, nil
}

// directLEDs drives the board's LEDs without announcing the changes; it
// stands in for the leds package's Controller.
type directLEDs struct{ l hw.LEDs }

func (d directLEDs) Set(_ context.Context, changes map[string]float64, _ string) (bool, error) {
	for _, ch := range ledChannels {
		if v, ok := changes[ch]; ok {
			if err := d.l.SetIntensity(ch, v); err != nil {
				return false, fmt.Errorf("LED %s to %v %%: %w", ch, v, err)
			}
		}
	}
	return true, nil
}

func (d directLEDs) Lock(string, ...string) func() { return func() {} }

func (d directLEDs) Intensities() map[string]float64 {
	m := make(map[string]float64, len(ledChannels))
	for _, ch := range ledChannels {
		m[ch] = d.l.Intensity(ch)
	}
	return m
}
