package odreading

import (
	"context"

	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/runtime"
)

// ledChannels are the unit's LED channels.
var ledChannels = leds.Channels

// ledControl is how the job changes the unit's LEDs, which it shares with
// the led_intensity action and the LED automations: the leds package's
// Controller, which publishes every change on leds/intensity and
// led_change_events and honours the locks of other jobs.
type ledControl interface {
	Set(ctx context.Context, changes map[string]float64, source string) (applied bool, err error)
	Lock(owner string, channels ...string) (unlock func())
	Intensities() map[string]float64
}

// ledsFor returns the unit's LED controller, quiet (upstream's
// verbose=False): switching the IR LED for every reading is not news.
func ledsFor(env *runtime.Env) (ledControl, error) {
	c, err := leds.For(env)
	if err != nil {
		return nil, err
	}
	return c.Quiet(), nil
}
