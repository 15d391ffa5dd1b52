package sim

import (
	"fmt"

	"github.com/piolab/pio/hw"
)

// ledChannels are the LED channels of a unit, in order.
var ledChannels = [4]string{"A", "B", "C", "D"}

// ledIndex returns the index of channel "A" to "D".
func ledIndex(channel string) (int, bool) {
	for i, c := range ledChannels {
		if c == channel {
			return i, true
		}
	}
	return 0, false
}

// leds is the unit's four LED channels; the reactor keeps their
// intensities, since the IR channel's lights the photodiodes.
type leds struct{ r *Reactor }

func (l *leds) String() string { return "sim LEDs" }

// SetIntensity implements hw.LEDs.
func (l *leds) SetIntensity(channel string, percent float64) error {
	i, ok := ledIndex(channel)
	if !ok {
		return fmt.Errorf("sim: LED channel %q does not exist (A to D): %w", channel, hw.ErrNotConfigured)
	}
	if !(percent >= 0 && percent <= 100) {
		return fmt.Errorf("sim: LED channel %s: intensity %v is outside 0 to 100 %%", channel, percent)
	}
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	l.r.advanceLocked()
	l.r.leds[i] = percent
	return nil
}

// Intensity implements hw.LEDs: 0 for a channel that does not exist.
func (l *leds) Intensity(channel string) float64 {
	i, ok := ledIndex(channel)
	if !ok {
		return 0
	}
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	return l.r.leds[i]
}

// Halt turns every channel off.
func (l *leds) Halt() error {
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	l.r.advanceLocked()
	l.r.leds = [4]float64{}
	return nil
}
