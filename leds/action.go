package leds

import (
	"context"

	"github.com/piolab/pio/runtime"
)

// ActionName is the name of the led_intensity action, the task of its logs.
const ActionName = "led_intensity"

// RunAction is the led_intensity action (pio run led_intensity --A 10 --B 5
// --source-of-event CLI): it sets the channels in changes on env's unit
// through its controller (Controller.Set) and reports whether every channel
// was applied (false: some were locked, and the others were applied). An
// invalid change is logged at ERROR on the unit's led_intensity log and
// returned; nothing is changed.
func RunAction(ctx context.Context, env *runtime.Env, changes map[string]float64, source string) (applied bool, err error) {
	c, err := For(env)
	if err != nil {
		return false, err
	}
	applied, err = c.Set(ctx, changes, source)
	if err != nil {
		c.log.error("%v", err)
		return false, err
	}
	if !applied {
		c.log.warning("Some channels were locked and were not changed: %s.", c.lockedDesc(changes))
	}
	return applied, nil
}
