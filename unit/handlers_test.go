package unit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// TestScriptHandlersOnARealBroker runs an event-driven dosing script on the
// real clock over paho, on the embedded broker and on Mosquitto: its handler
// sees every reading another client publishes, in order.
func TestScriptHandlersOnARealBroker(t *testing.T) {
	script := filepath.Join(t.TempDir(), "on_reading.star")
	os.WriteFile(script, []byte(`
def on_reading(topic, payload):
    return "reading " + payload

handlers = {"od_reading/od1": on_reading}
`), 0o644)
	for _, b := range mqtttest.Brokers {
		t.Run(b.Name, func(t *testing.T) {
			addr := b.Start(t)
			s := sched.NewReal(clock.Real{})
			env, _ := networkedUnit(t, s, addr)
			env.Config.Set("dosing_automation.config", "first_run_delay_seconds", "0")
			a, err := StartScript(env, ScriptOptions{Path: script})
			if err != nil {
				t.Fatal(err)
			}
			obs, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "observer"}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer obs.Close()
			var mu sync.Mutex
			var events []string
			obs.Subscribe("pioreactor/u1/e1/dosing_automation/latest_event", 2, func(m pubsub.Message) {
				var ev struct {
					Message string `json:"message"`
				}
				// A retained copy may come after live ones (mochi sends the
				// retained message of a new subscription late): live only.
				if !m.Retained && json.Unmarshal(m.Payload, &ev) == nil && strings.HasPrefix(ev.Message, "reading ") {
					mu.Lock()
					events = append(events, ev.Message)
					mu.Unlock()
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			sup := runtime.NewSupervisor(env)
			sup.Start(ctx, a, func(err error) { done <- err })

			pub, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "od_reading"}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			const n = 200
			for i := 1; i <= n; i++ {
				pub.Publish("pioreactor/u1/e1/od_reading/od1", []byte(fmt.Sprint(i)), 1, false)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				got := len(events)
				mu.Unlock()
				if got >= n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s the handler's events reached the broker for %d of %d readings", got, n)
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i, e := range events[:n] {
				if e != fmt.Sprintf("reading %d", i+1) {
					t.Fatalf("event %d is %q: the readings were not handled in order", i+1, e)
				}
			}
		})
	}
}
