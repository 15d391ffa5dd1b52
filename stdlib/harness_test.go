package stdlib

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/dosing"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/script"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// unit is a unit on a virtual clock and the in-memory broker, configured
// like upstream's test environment: 40 mL model, volume and efflux 14 mL,
// max_subdose 1, waste multiplier 2, 0.5 s pauses, pumps at 1 mL/s, the
// morbidostat's Kp 5. No OD job runs: the test publishes readings.
type unit struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	ctl    pubsub.Client
	rec    pubsubtest.Recorder
	a      *dosing.Automation
	logs   []string
	stop   context.CancelFunc
}

func newUnit(t *testing.T, configLines ...string) *unit {
	t.Helper()
	cfg := config.New()
	cfg.Set("dosing_automation.config", "pause_between_subdoses_seconds", "0.5")
	cfg.Set("dosing_automation.pid_morbidostat", "Kp", "5")
	for _, l := range configLines {
		parts := strings.SplitN(l, " ", 3)
		cfg.Set(parts[0], parts[1], parts[2])
	}
	u := &unit{t: t, clk: sched.NewVirtual(epoch), broker: pubsub.NewMemory()}
	u.broker.Tap = u.rec.Tap
	reactor := sim.New(u.clk, sim.Options{Devices: map[int]string{2: "media", 3: "alt_media", 4: "waste"}, PumpMLPerSecond: 1})
	u.env = &runtime.Env{
		Unit: "u1", Experiment: "e1", Sched: u.clk, Board: reactor, Config: cfg,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return u.broker.Connect(o), nil },
		Liquid:  liquid.NewMemStore(),
	}
	if _, err := runtime.StartMonitor(u.env); err != nil {
		t.Fatal(err)
	}
	u.ctl = u.broker.Connect(pubsub.Options{ClientID: "test"})
	return u
}

// source returns a library script, edited by the replacements (old, new, ...).
func source(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	_, src, ok := Lookup("dosing", name)
	if !ok {
		t.Fatalf("no dosing/%s.star", name)
	}
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(string(src), replace[i]) {
			t.Fatalf("%s.star has no %q", name, replace[i])
		}
		src = []byte(strings.Replace(string(src), replace[i], replace[i+1], 1))
	}
	return src
}

// tryStart starts the automation from src with overrides, as pio run
// dosing_automation --automation-name <name> --<setting> <value> does.
func (u *unit) tryStart(name string, src []byte, overrides map[string]string, opts ...func(*dosing.Options)) error {
	s, err := script.Load("dosing/"+name+".star", src, "u1", "e1")
	if err != nil {
		return err
	}
	o := dosing.Options{Program: s, Overrides: overrides}
	for _, f := range opts {
		f(&o)
	}
	a, err := dosing.Start(u.env, o)
	if err != nil {
		return err
	}
	u.a = a
	a.Log.OnRecord = func(level, msg string) { u.logs = append(u.logs, level+": "+msg) }
	ctx, cancel := context.WithCancel(context.Background())
	u.stop = cancel
	u.clk.Go("automation", func() { _ = a.Run(ctx) })
	u.t.Cleanup(func() {
		cancel()
		u.clk.RunUntil(context.Background(), u.clk.Now())
		a.Close()
	})
	u.settle()
	return nil
}

func (u *unit) start(name string, src []byte, overrides map[string]string, opts ...func(*dosing.Options)) *dosing.Automation {
	u.t.Helper()
	if err := u.tryStart(name, src, overrides, opts...); err != nil {
		u.t.Fatal(err)
	}
	return u.a
}

func withVolume(v float64) func(*dosing.Options) {
	return func(o *dosing.Options) { o.CurrentVolumeML = &v }
}

// settle runs what is runnable now, without moving the clock.
func (u *unit) settle() { u.clk.RunUntil(context.Background(), u.clk.Now()) }

// advance moves the clock by d, running what falls due.
func (u *unit) advance(d time.Duration) { u.clk.RunUntil(context.Background(), u.clk.Now().Add(d)) }

// publish publishes under pioreactor/u1/e1/ and lets the handlers run.
func (u *unit) publish(topic, p string, retained bool) {
	u.t.Helper()
	if err := u.ctl.Publish("pioreactor/u1/e1/"+topic, []byte(p), 1, retained); err != nil {
		u.t.Fatal(err)
	}
	u.settle()
}

// at publishes at virtual time t (for a reading that arrives mid-dose).
func (u *unit) at(t time.Time, topic, p string) {
	u.clk.At(t, func() { _ = u.ctl.Publish("pioreactor/u1/e1/"+topic, []byte(p), 1, false) })
}

// The reading payloads upstream publishes, stamped now (or at).
func (u *unit) nOD(v float64) string { return nodAt(v, u.clk.Now()) }
func nodAt(v float64, at time.Time) string {
	return `{"od_filtered": ` + payload.PyFloat(v) + `, "timestamp": "` + payload.StructTimestamp(at) + `"}`
}
func (u *unit) gr(v float64) string {
	return `{"growth_rate": ` + payload.PyFloat(v) + `, "timestamp": "` + payload.StructTimestamp(u.clk.Now()) + `"}`
}
func (u *unit) fused(v float64) string {
	return `{"od_fused": ` + payload.PyFloat(v) + `, "timestamp": "` + payload.StructTimestamp(u.clk.Now()) + `"}`
}
func (u *unit) ods(v float64) string {
	ts := payload.StructTimestamp(u.clk.Now())
	return `{"timestamp": "` + ts + `", "ods": {"2": {"calibrated": 0, "timestamp": "` + ts + `", "angle": "90", "od": ` +
		payload.PyFloat(v) + `, "channel": "2", "ir_led_intensity": 80.0}}}`
}

func tsOf(u *unit) string { return payload.StructTimestamp(u.clk.Now()) }

// reading publishes a live reading of a biomass signal.
func (u *unit) reading(signal string, v float64) {
	switch signal {
	case "normalized_od":
		u.publish("growth_rate_calculating/od_filtered", u.nOD(v), false)
	case "od":
		u.publish("od_reading/ods", u.ods(v), false)
	case "od_fused":
		u.publish("od_reading/od_fused", u.fused(v), false)
	default:
		u.t.Fatalf("no signal %s", signal)
	}
}

// event is a decoded latest_event; Name is "" for a cleared one.
type event struct {
	Name    string         `json:"event_name"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
}

// events returns every latest_event published, in order (cleared ones too).
func (u *unit) events() []event {
	var out []event
	for _, p := range u.rec.Payloads("pioreactor/u1/e1/dosing_automation/latest_event") {
		var e event
		if p != "" {
			if err := json.Unmarshal([]byte(p), &e); err != nil {
				u.t.Fatalf("latest_event %s: %v", p, err)
			}
		}
		out = append(out, e)
	}
	return out
}

// last is the job's current latest_event (Name "" if none).
func (u *unit) last() event {
	ev := u.events()
	if len(ev) == 0 {
		return event{}
	}
	return ev[len(ev)-1]
}

// named returns the published events called name.
func (u *unit) named(name string) []event {
	var out []event
	for _, e := range u.events() {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// pumped is the sum of the dosing events of kind name (add_media, ...).
func (u *unit) pumped(name string) float64 {
	ev, err := u.rec.DosingEvents("pioreactor/u1/e1/dosing_events")
	if err != nil {
		u.t.Fatal(err)
	}
	return pubsubtest.Sum(pubsubtest.Volumes(ev, name))
}

// logged reports whether a log record at level contains substr.
func (u *unit) logged(level, substr string) bool {
	for _, l := range u.logs {
		if strings.HasPrefix(l, level+": ") && strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

// set publishes a /set command for a setting of the automation.
func (u *unit) set(setting, value string) {
	u.t.Helper()
	u.publish("dosing_automation/"+setting+"/set", value, false)
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }
