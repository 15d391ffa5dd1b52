package simulate

import (
	"context"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// A script of any family may drive the devices [scripts.hardware] grants
// it, and they are off when its job stops.
func TestGrantedDevicesAreOffWhenTheJobStops(t *testing.T) {
	cfg := config.New()
	cfg.Set("scripts.hardware", "pwm", "6")
	var reactor *sim.Reactor
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/led_drives_pwm.star", For: time.Hour, Seed: 1, Config: cfg,
		At: func(_ *sched.Virtual, _ *pubsub.Memory, env *runtime.Env) { reactor = env.Board.(*sim.Reactor) }})
	if err != nil || s.Errors != 0 {
		t.Fatal(err, s.ErrorMessages)
	}
	var on, off bool
	for _, c := range reactor.DutyTrace() {
		if c.Channel == 6 {
			on = on || c.Duty == 30
			off = c.Duty == 0
		}
	}
	if !on || !off {
		t.Errorf("channel 6: set to 30 %% %v, off at the end %v; want both (trace %v)", on, off, reactor.DutyTrace())
	}
	// Closed, not only halted: the channel is free for the next job.
	out, err := reactor.PWM().Open(6, 250)
	if err != nil {
		t.Fatalf("channel 6 still held after the job stopped: %v", err)
	}
	out.Close()
}
