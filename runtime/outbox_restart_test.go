package runtime

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/outbox"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/sched"
)

// restartableBroker is the embedded broker on a fixed address, which the
// test stops and starts again, as a broker restart does: it forgets every
// session and every message it had not delivered.
type restartableBroker struct {
	t    *testing.T
	addr string
	b    *mqttnet.Embedded
}

func startRestartable(t *testing.T) *restartableBroker {
	r := &restartableBroker{t: t, addr: "127.0.0.1:0"}
	r.start()
	r.addr = r.b.Addr()
	t.Cleanup(func() { r.b.Close() })
	return r
}

func (r *restartableBroker) start() {
	r.t.Helper()
	b, err := mqttnet.StartEmbedded(r.addr, slog.New(slog.DiscardHandler))
	if err != nil {
		r.t.Fatalf("embedded broker at %s: %v", r.addr, err)
	}
	r.b = b
}

func (r *restartableBroker) stop() { r.b.Close() }

// waitUntil waits for cond, for at most 30 s (a paho client retries its
// connection after 1, 2, 4 and then every 5 s).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The broker restarts while a pump runs, and the pump, stopped while the
// broker is down, publishes its final negative correction then. The outbox
// keeps it and publishes it once the broker is back, the monitor applies it
// once, and the model ends at exactly what the pump moved.
func TestABrokerRestartMidDoseLosesNoDosingEvent(t *testing.T) {
	broker := startRestartable(t)
	dial := func(o pubsub.Options) (pubsub.Client, error) { return mqttnet.Dial(broker.addr, o, 5*time.Second) }
	s := sched.NewReal(clock.Real{})
	env := &Env{
		Unit: "unit1", Experiment: "exp1", Sched: s, Connect: dial, AsyncPublish: true,
		Board: sim.New(clock.Real{}, sim.Options{}), Config: config.New(), Liquid: liquid.NewMemStore(),
	}
	mon, err := StartMonitor(env)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(outbox.Options{Dir: t.TempDir(), Unit: "unit1", Sched: s, Connect: dial})
	if err != nil {
		t.Fatal(err)
	}
	env.Outbox = ob
	defer func() {
		ob.Close(time.Second)
		env.Outbox = nil
		mon.Close()
		s.Wait()
	}()
	start, _ := mon.Liquid("exp1")

	pc, err := dial(pubsub.Options{ClientID: "add_media"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	var events []float64
	moved := make(chan float64, 1)
	go func() {
		// 5 mL at 0.5 mL/s: ten seconds, stopped long before.
		ml, err := RunPump(ctx, env, PumpRequest{Device: "media", ML: ptr(5), Experiment: "exp1", Client: pc,
			Log: newLogger(env, pc, "exp1", "add_media"),
			OnEvent: func(v float64) {
				mu.Lock()
				events = append(events, v)
				mu.Unlock()
			}})
		if err != nil {
			t.Error(err)
		}
		moved <- ml
	}()
	waitUntil(t, "the monitor applied the pump's first event", func() bool { a, _ := mon.Counts(); return a >= 1 })

	broker.stop()
	stop()
	ml := <-moved
	mu.Lock()
	n := len(events)
	last := events[n-1]
	mu.Unlock()
	if last >= 0 {
		// The stop came just after a tick: the final event is then the
		// rest of that tick, still published while the broker is down.
		t.Logf("the pump's final event is %v mL, not a negative correction", last)
	}
	broker.start()

	waitUntil(t, "the outbox has every event confirmed", func() bool { return ob.Pending() == 0 })
	got, _ := mon.Liquid("exp1")
	if d := got.CumMediaML - start.CumMediaML; math.Abs(d-ml) > 1e-12 {
		t.Errorf("the model booked %.6f mL of media; the pump moved %.6f mL", d, ml)
	}
	if applied, dropped := mon.Counts(); applied != n || dropped != 0 {
		t.Errorf("the monitor applied %d events and refused %d; the pump published %d", applied, dropped, n)
	}
}
