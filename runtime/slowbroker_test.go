package runtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
)

// stuckClient is a broker connection whose dosing-event publishes hang until
// released, as a broker that stopped answering does.
type stuckClient struct {
	pubsub.Client
	release chan struct{}
}

func (c *stuckClient) Publish(t string, p []byte, qos byte, retained bool) error {
	if strings.HasSuffix(t, "/dosing_events") {
		<-c.release
	}
	return c.Client.Publish(t, p, qos, retained)
}

// A broker that does not answer cannot hold a pump on: dosing events queue
// without bound and the output goes off at its time.
func TestAStuckBrokerCannotHoldAPumpOn(t *testing.T) {
	h := newHarness(t)
	off := make(chan struct{})
	board := &timedBoard{off: off}
	h.env.Board = board
	h.env.Sched = sched.NewReal(clock.Real{})
	h.env.AsyncPublish = true
	c := &stuckClient{Client: h.ctl, release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		// 0.05 mL at 1 mL/s: on for 50 ms, with its dosing events stuck.
		_, err := RunPump(context.Background(), h.env, PumpRequest{Device: "media", ML: ptr(0.05), Experiment: "exp1",
			Client: c, Log: newLogger(h.env, nil, "exp1", "test")})
		done <- err
	}()
	select {
	case <-off:
	case <-time.After(10 * time.Second):
		t.Fatal("the pump stayed on while its dosing events could not be published")
	}
	on := board.last.offAt.Sub(board.last.onAt)
	close(c.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if on < 50*time.Millisecond || on > time.Second {
		t.Errorf("the pump was on for %v, want 50 ms", on)
	}
	if got := len(h.eventVolumes("add_media")); got == 0 {
		t.Error("the queued dosing events were lost once the broker answered")
	}
}
