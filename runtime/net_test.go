package runtime

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
	"github.com/piolab/pio/sched"
)

// The message handling of jobs, again over a real broker: paho clients on the
// embedded broker (mochi) and on Mosquitto, real goroutines, the real clock.
// Each check waits for what it expects (bounded), never for time to pass.

type netUnit struct {
	t    *testing.T
	env  *Env
	ctl  pubsub.Client
	mu   sync.Mutex
	seen []pubsub.Message
}

func newNetUnit(t *testing.T, addr string) *netUnit {
	t.Helper()
	dial := func(o pubsub.Options) (pubsub.Client, error) { return mqttnet.Dial(addr, o, 5*time.Second) }
	cfg := config.New()
	u := &netUnit{t: t, env: &Env{
		Unit: "unit1", Experiment: "exp1", Sched: sched.NewReal(clock.Real{}), Connect: dial, AsyncPublish: true,
		Board: sim.New(clock.Real{}, sim.Options{}), Config: cfg, Liquid: liquid.NewMemStore(),
	}}
	var err error
	if u.ctl, err = dial(pubsub.Options{ClientID: "test"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.ctl.Close() })
	obs, err := dial(pubsub.Options{ClientID: "observer"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obs.Close() })
	if err := obs.Subscribe("pioreactor/#", 2, func(m pubsub.Message) {
		u.mu.Lock()
		u.seen = append(u.seen, m)
		u.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *netUnit) set(topic, value string) {
	u.t.Helper()
	if err := u.ctl.Publish(topic, []byte(value), 1, false); err != nil {
		u.t.Fatal(err)
	}
}

// payloads are the payloads the observer saw on topic, in order.
func (u *netUnit) payloads(topic string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, m := range u.seen {
		if m.Topic == topic {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

// transitions drops repeats of the same state: a job republishes its
// $state when its connection (re)starts, and the observer may get that copy
// too; it is no transition.
func transitions(states []string) []string {
	var out []string
	for _, s := range states {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// waitFor waits until cond holds, for at most 5 s.
func (u *netUnit) waitFor(what string, cond func() bool) {
	u.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			u.t.Fatalf("after 5 s: %s; $state payloads %q", what, u.payloads("pioreactor/unit1/exp1/job/$state"))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestJobMessagesOverARealBroker(t *testing.T) {
	for _, b := range mqtttest.Brokers {
		t.Run(b.Name, func(t *testing.T) {
			u := newNetUnit(t, b.Start(t))
			var mu sync.Mutex
			var logs []string
			j, err := NewJob(u.env, "job", "exp1", Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			j.Log.OnRecord = func(level, msg string) { mu.Lock(); logs = append(logs, level+": "+msg); mu.Unlock() }
			logged := func(s string) func() bool {
				return func() bool {
					mu.Lock()
					defer mu.Unlock()
					return strings.Contains(strings.Join(logs, "\n"), s)
				}
			}
			// A retained command left on the broker is not obeyed.
			u.set("pioreactor/unit1/exp1/job/$state/set", "")
			if err := u.ctl.Publish("pioreactor/unit1/exp1/job/$state/set", []byte("disconnected"), 1, true); err != nil {
				t.Fatal(err)
			}
			// mochi acknowledges a publish before it delivers it: once the
			// observer has it, the job's subscription can only see it retained.
			u.waitFor("the retained command delivered", func() bool {
				p := u.payloads("pioreactor/unit1/exp1/job/$state/set")
				return len(p) > 0 && p[len(p)-1] == "disconnected"
			})
			j.AddSetting(Setting{Name: "target", Datatype: payload.TypeFloat, Settable: true}, 1.5)
			if err := j.Start(); err != nil {
				t.Fatal(err)
			}
			defer j.Close()

			// Commands are handled in the order they were sent.
			for _, v := range []string{"2.0", "abc", "3.0", "nan", "4.25"} {
				u.set("pioreactor/unit1/exp1/job/target/set", v)
			}
			u.waitFor("target reached 4.25", func() bool { return j.Value("target") == 4.25 })
			u.waitFor("target published as 1.5,2.0,3.0,4.25 (bad payloads refused, order kept)", func() bool {
				p := u.payloads("pioreactor/unit1/exp1/job/target")
				return len(p) >= 4 && strings.Join(p, ",") == "1.5,2.0,3.0,4.25"
			})
			u.waitFor("an error naming the bad payload", logged(`target: want a number, got "abc"`))

			// States: sleeping and ready over $broadcast; init and lost refused.
			u.set("pioreactor/$broadcast/exp1/job/$state/set", "sleeping")
			u.set("pioreactor/unit1/exp1/job/$state/set", "lost")
			u.set("pioreactor/unit1/exp1/job/$state/set", "ready")
			u.waitFor("ready again", func() bool {
				return strings.Join(transitions(u.payloads("pioreactor/unit1/exp1/job/$state")), ",") == "init,ready,sleeping,ready"
			})
			u.waitFor("lost refused", logged("not a state a job can be asked for"))

			// A spurious lost (a flaky link's will) is healed.
			if err := u.ctl.Publish("pioreactor/unit1/exp1/job/$state", []byte("lost"), 2, true); err != nil {
				t.Fatal(err)
			}
			u.waitFor("ready republished after a spurious lost", func() bool {
				p := u.payloads("pioreactor/unit1/exp1/job/$state")
				return len(p) >= 6 && p[len(p)-1] == "ready"
			})

			// disconnected ends the job.
			u.set("pioreactor/unit1/exp1/job/$state/set", "disconnected")
			u.waitFor("disconnected", func() bool { return j.State() == Disconnected })
		})
	}
}

func TestMonitorOverARealBroker(t *testing.T) {
	for _, b := range mqtttest.Brokers {
		t.Run(b.Name, func(t *testing.T) {
			u := newNetUnit(t, b.Start(t))
			m, err := StartMonitor(u.env)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			u.set("pioreactor/unit1/exp1/dosing_events", `{"volume_change":6.0,"event":"add_media","source_of_event":"test","timestamp":"t"}`)
			u.set("pioreactor/unit1/exp1/dosing_events", `not json`)
			u.set("pioreactor/unit1/exp1/bioreactor/alt_media_fraction/set", "0.25")
			u.set("pioreactor/unit1/exp1/dosing_events", `{"volume_change":1.0,"event":"remove_waste","source_of_event":"test","timestamp":"t"}`)
			u.waitFor("three events handled", func() bool { a, d := m.Counts(); return a+d == 3 })
			st, _ := m.Liquid("exp1")
			if st.CurrentVolumeML != 19 || st.CumMediaML != 6 || st.CumWasteML != 1 || st.AltMediaFraction != 0.25 {
				t.Errorf("state %+v: want 19 mL, 6 mL media, 1 mL waste, fraction 0.25", st)
			}
			u.waitFor("the volume published", func() bool {
				p := u.payloads("pioreactor/unit1/exp1/bioreactor/current_volume_ml")
				return len(p) > 0 && p[len(p)-1] == "19.0"
			})
		})
	}
}
