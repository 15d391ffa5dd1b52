package unit

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

// networkedUnit is a simulated unit u1 (experiment e1) whose jobs connect to
// the broker at addr.
func networkedUnit(t *testing.T, s sched.Scheduler, addr string) (*runtime.Env, *sim.Reactor) {
	t.Helper()
	cfg := config.New()
	reactor, err := NewSimReactor(cfg, s, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &runtime.Env{
		Unit: "u1", Experiment: "e1", Sched: s, Board: reactor, Config: cfg, AsyncPublish: true,
		Connect: func(o pubsub.Options) (pubsub.Client, error) {
			return mqttnet.Dial(addr, o, 2*time.Second)
		},
		Liquid: liquid.NewMemStore(),
	}, reactor
}

// TestEndToEndOnTheEmbeddedBroker runs the three_pumps example through the
// real embedded broker (mochi) and paho clients, on a virtual clock, and
// checks what an observer on the broker sees.
func TestEndToEndOnTheEmbeddedBroker(t *testing.T) {
	broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	obs, err := mqttnet.Dial(broker.Addr(), pubsub.Options{ClientID: "observer"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	var mu sync.Mutex
	var msgs []pubsub.Message
	obs.Subscribe("pioreactor/#", 2, func(m pubsub.Message) {
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
	})
	snapshot := func() []pubsub.Message {
		mu.Lock()
		defer mu.Unlock()
		return append([]pubsub.Message(nil), msgs...)
	}

	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := sched.NewVirtual(start)
	clk.SetLimit(start.Add(time.Hour))
	env, _ := networkedUnit(t, clk, broker.Addr())
	mon, err := runtime.StartMonitor(env)
	if err != nil {
		t.Fatal(err)
	}
	job, err := StartScript(env, ScriptOptions{Path: "../scripts/examples/three_pumps.star", Overrides: map[string]string{"volume": "0.25"}})
	if err != nil {
		t.Fatal(err)
	}
	a := job.(dosingJob).Automation
	// Virtual time over a real broker: the scheduler only knows what has
	// arrived, so time may pass while a message is on the wire; the sums
	// checked below do not depend on when the monitor applied each event.
	var runErr error
	clk.Go("automation", func() { runErr = a.Run(context.Background()) })
	clk.Run(context.Background())
	if runErr != nil {
		t.Fatal(runErr)
	}
	// The last dosing events may still be on the wire to the monitor: let
	// its inbox run as they arrive, then close it.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		clk.RunUntil(context.Background(), clk.Now())
		if st, _ := mon.Liquid("e1"); math.Abs(st.CumWasteML-6.75) < 1e-9 {
			break
		}
	}
	clk.Go("close monitor", mon.Close)
	clk.Run(context.Background())

	deadline := time.Now().Add(10 * time.Second)
	for {
		var done bool
		for _, m := range snapshot() {
			done = done || m.Topic == "pioreactor/u1/$experiment/monitor/$state" && string(m.Payload) == "disconnected"
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the observer never saw the monitor disconnect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a.Errors != 0 || a.Doses != 3 {
		t.Fatalf("errors %d, doses %d; want 0 and 3 (at 2 s, 20 and 40 min)", a.Errors, a.Doses)
	}
	sums := map[string]float64{}
	var started, stopped int
	var states []string
	for _, m := range snapshot() {
		switch {
		case m.Topic == "pioreactor/u1/e1/dosing_events":
			var ev struct {
				V float64 `json:"volume_change"`
				E string  `json:"event"`
			}
			if err := json.Unmarshal(m.Payload, &ev); err != nil {
				t.Fatalf("dosing event %s: %v", m.Payload, err)
			}
			sums[ev.E] += ev.V
		case m.Topic == "pioreactor/u1/e1/dosing_automation/latest_event":
			started += strings.Count(string(m.Payload), `"DosingStarted"`)
			stopped += strings.Count(string(m.Payload), `"DosingStopped"`)
		case m.Topic == "pioreactor/u1/e1/dosing_automation/$state":
			states = append(states, string(m.Payload))
		}
	}
	for _, e := range []string{"add_media", "add_alt_media", "add_salty_media"} {
		if math.Abs(sums[e]-0.75) > 1e-9 {
			t.Errorf("%s: %v mL on the broker, want 0.75", e, sums[e])
		}
	}
	if math.Abs(sums["remove_waste"]-3*0.75*3) > 1e-9 {
		t.Errorf("remove_waste: %v mL, want 6.75", sums["remove_waste"])
	}
	if started != 3 || stopped != 3 {
		t.Errorf("DosingStarted %d, DosingStopped %d; want 3 each", started, stopped)
	}
	if strings.Join(states, ",") != "init,ready,disconnected" {
		t.Errorf("$state %v", states)
	}
	if st, _ := mon.Liquid("e1"); math.Abs(st.CumMediaML-0.75) > 1e-9 || st.CurrentVolumeML != 14 {
		t.Errorf("liquid model %+v", st)
	}
}

// TestLostBrokerStopsPumps: a pump running on a unit whose broker goes away
// stops at once instead of running blind.
func TestLostBrokerStopsPumps(t *testing.T) {
	broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	env, reactor := networkedUnit(t, sched.NewReal(clock.Real{}), broker.Addr())
	p, err := runtime.StartPumpAction(env, runtime.PumpRequest{Device: "waste", Continuously: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan float64, 1)
	go func() {
		_ = p.Run(context.Background())
		done <- p.Moved
	}()
	// Wait until the pump runs, then take the broker away.
	deadline := time.Now().Add(10 * time.Second)
	for len(reactor.DutyTrace()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the pump never started")
		}
		time.Sleep(time.Millisecond)
	}
	closedAt := time.Now()
	broker.Close()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the pump kept running after the broker was lost")
	}
	tr := reactor.DutyTrace()
	if last := tr[len(tr)-1]; last.Duty != 0 {
		t.Errorf("pump duty %v at the end", last.Duty)
	} else {
		t.Logf("pump off %v after the broker closed", last.At.Sub(closedAt))
	}
}
