package unit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// TestBurstOfDosingEventsKeepsTheBrokersOrder publishes 400 balanced
// add_media/remove_waste events back to back to a unit's dosing_events, as
// upstream's separate pump processes do, and checks that the unit's liquid
// model equals the events replayed in the order the broker delivered them.
// Out of order, a removal that arrives before its addition is clamped at the
// efflux tube and the model drifts (14.1 to 14.3 mL instead of 14.0).
func TestBurstOfDosingEventsKeepsTheBrokersOrder(t *testing.T) {
	for _, b := range mqtttest.Brokers {
		t.Run(b.Name, func(t *testing.T) {
			addr := b.Start(t)
			env, _ := networkedUnit(t, sched.NewReal(clock.Real{}), addr)
			mon, err := runtime.StartMonitor(env)
			if err != nil {
				t.Fatal(err)
			}
			sup := runtime.NewSupervisor(env)
			if err := sup.Start(context.Background(), mon, nil); err != nil {
				t.Fatal(err)
			}
			defer func() { sup.StopAll(); env.Sched.(*sched.Real).Wait() }()
			start, _ := mon.Liquid("e1")

			// An observer records the broker's order.
			obs, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "observer"}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer obs.Close()
			var mu sync.Mutex
			var order []payload.DosingEvent
			if err := obs.Subscribe("pioreactor/u1/e1/dosing_events", 2, func(m pubsub.Message) {
				if ev, err := payload.ParseDosingEvent(m.Payload); err == nil {
					mu.Lock()
					order = append(order, ev)
					mu.Unlock()
				}
			}); err != nil {
				t.Fatal(err)
			}

			// Two pump processes, each with its own connection, back to back,
			// taking turns: each publish is acknowledged, so routed to every
			// subscriber, before the next. (Two connections publishing at
			// the same instant may reach two subscribers in different orders
			// on mochi, which routes on each publisher's goroutine; the
			// observer would then not see the monitor's order.)
			var clients []pubsub.Client
			for _, event := range []string{"add_media", "remove_waste"} {
				c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: event}, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clients = append(clients, c)
			}
			for i := range 200 {
				for k, event := range []string{"add_media", "remove_waste"} {
					ev := payload.DosingEvent{VolumeChange: 0.5, Event: event, Timestamp: fmt.Sprint(i)}
					_ = clients[k].Publish("pioreactor/u1/e1/dosing_events", ev.AppendJSON(nil), 2, false)
				}
			}

			deadline := time.Now().Add(20 * time.Second)
			for {
				applied, dropped := mon.Counts()
				mu.Lock()
				seen := len(order)
				mu.Unlock()
				if applied+dropped >= 400 && seen >= 400 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 20 s the monitor handled %d events and the observer saw %d, of 400", applied+dropped, seen)
				}
				time.Sleep(10 * time.Millisecond)
			}
			want := start
			for _, ev := range order {
				if next, err := liquid.Apply(want, ev.Event, float64(ev.VolumeChange), 40); err == nil {
					want = next
				}
			}
			got, _ := mon.Liquid("e1")
			if math.Abs(got.CurrentVolumeML-want.CurrentVolumeML) > 1e-9 || math.Abs(got.CumWasteML-want.CumWasteML) > 1e-9 {
				t.Errorf("liquid model %.4f mL (waste %.4f), the broker's order gives %.4f mL (waste %.4f)",
					got.CurrentVolumeML, got.CumWasteML, want.CurrentVolumeML, want.CumWasteML)
			}
		})
	}
}
