package growthrate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

const (
	odsTopic    = "pioreactor/unit1/exp1/od_reading/ods"
	dosingTopic = "pioreactor/unit1/exp1/dosing_events"
	grTopic     = "pioreactor/unit1/exp1/growth_rate_calculating/growth_rate"
	odfTopic    = "pioreactor/unit1/exp1/growth_rate_calculating/od_filtered"
	stateTopic  = "pioreactor/unit1/exp1/growth_rate_calculating/$state"
)

// harness is a unit on a virtual clock and the in-memory broker.
type harness struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	env    *runtime.Env
	ctl    pubsub.Client // the test's own client (od_reading, pumps)
	rec    pubsubtest.Recorder
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clk: sched.NewVirtual(t0), broker: pubsub.NewMemory()}
	h.broker.Tap = h.rec.Tap
	h.env = &runtime.Env{
		Unit: "unit1", Experiment: "exp1", Sched: h.clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil },
		Config:  config.New(), Liquid: liquid.NewMemStore(),
	}
	h.ctl = h.broker.Connect(pubsub.Options{ClientID: "test"})
	return h
}

// start starts the job and runs it on an actor; the returned func stops it
// and returns Run's error.
func (h *harness) start(o Options) (*Job, func() error) {
	h.t.Helper()
	j, err := Start(h.env, o)
	if err != nil {
		h.t.Fatal(err)
	}
	j.Log.OnRecord = h.rec.Log
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	ended := false
	h.clk.Go("growth_rate_calculating", func() { runErr = j.Run(ctx); ended = true })
	h.settle()
	stop := func() error {
		cancel()
		h.settle()
		if !ended {
			h.t.Fatal("Run did not return after its context ended")
		}
		return runErr
	}
	h.t.Cleanup(func() { cancel(); h.settle() })
	return j, stop
}

func (h *harness) settle() { h.clk.RunUntil(context.Background(), h.clk.Now()) }

func (h *harness) publish(topic, body string, retained bool) {
	h.t.Helper()
	if err := h.ctl.Publish(topic, []byte(body), 2, retained); err != nil {
		h.t.Fatal(err)
	}
}

func odsPayload(at time.Time, od float64) string {
	ts := payload.StructTimestamp(at)
	return fmt.Sprintf(`{"timestamp": %q, "ods": {"2": {"od": %s, "angle": "90", "channel": "2", "calibrated": 0, "ir_led_intensity": 80.0, "timestamp": %q}}}`,
		ts, payload.PyFloat(od), ts)
}

const dosePayload = `{"volume_change": 1.0, "event": "add_media", "source_of_event": "test", "timestamp": "2026-01-01T00:00:00Z"}`

// culture publishes od_reading's readings every 5 s for hours: OD 0.05
// growing at rate h⁻¹ with 1 % noise. A dose at doseAt (if not zero) is
// announced on dosing_events and the OD drops 10 % from the next reading.
func (h *harness) culture(hours, rate float64, doseAt time.Duration, announce bool) {
	rng := rand.New(rand.NewPCG(1, 8))
	n := int(hours * 720)
	h.clk.Go("od_reading", func() {
		dilution := 1.0
		for i := range n {
			at := t0.Add(time.Duration(i) * 5 * time.Second)
			if err := h.clk.SleepUntil(context.Background(), at); err != nil {
				return
			}
			if doseAt > 0 && at.Sub(t0) == doseAt {
				if announce {
					h.publish(dosingTopic, dosePayload, false)
				}
				dilution = 0.9
			}
			od := dilution * 0.05 * math.Exp(rate*at.Sub(t0).Hours()) * (1 + 0.01*rng.NormFloat64())
			h.publish(odsTopic, odsPayload(at, od), false)
		}
	})
	h.clk.Run(context.Background())
}

type result struct {
	rate, od float64
	at       string
}

// results decodes what the job published.
func (h *harness) results() []result {
	h.t.Helper()
	grs, ods := h.rec.Published(grTopic), h.rec.Published(odfTopic)
	var out []result
	for i, m := range grs {
		if len(m.Payload) == 0 {
			continue // cleared on disconnect
		}
		if !m.Retained {
			h.t.Fatalf("growth_rate published not retained: %s", m.Payload)
		}
		var g struct {
			GrowthRate *float64 `json:"growth_rate"`
			Timestamp  string   `json:"timestamp"`
		}
		var o struct {
			ODFiltered *float64 `json:"od_filtered"`
			Timestamp  string   `json:"timestamp"`
		}
		if err := json.Unmarshal(m.Payload, &g); err != nil || g.GrowthRate == nil {
			h.t.Fatalf("growth_rate payload %s: %v", m.Payload, err)
		}
		if err := json.Unmarshal(ods[i].Payload, &o); err != nil || o.ODFiltered == nil || o.Timestamp != g.Timestamp {
			h.t.Fatalf("od_filtered payload %s (growth rate %s): %v", ods[i].Payload, m.Payload, err)
		}
		out = append(out, result{*g.GrowthRate, *o.ODFiltered, g.Timestamp})
	}
	return out
}

func TestGrowthRateConverges(t *testing.T) {
	const rate = 0.3
	h := newHarness(t)
	_, stop := h.start(Options{})
	h.culture(6, rate, 0, false)
	res := h.results()
	// 5 readings skipped, 10 of warm-up, then one estimate per reading.
	if want := 6*720 - 5 - 10; len(res) != want {
		t.Fatalf("%d estimates; want %d", len(res), want)
	}
	if first := res[0].at; first != payload.StructTimestamp(t0.Add(15*5*time.Second)) {
		t.Errorf("first estimate at %s; want the 16th reading's timestamp", first)
	}
	last := res[len(res)-1]
	if math.Abs(last.rate-rate) > 0.1*rate {
		t.Errorf("growth rate after 6 h %v; want within 10%% of %v", last.rate, rate)
	}
	for _, r := range res[len(res)/2:] {
		if math.Abs(r.rate-rate) > 0.1*rate {
			t.Fatalf("growth rate %v at %s; want within 10%% of %v after warm-up", r.rate, r.at, rate)
		}
	}
	// od_filtered is the OD normalised by the warm-up's median.
	if want := math.Exp(rate * 6); math.Abs(last.od/want-1) > 0.05 {
		t.Errorf("od_filtered after 6 h %v; want about %v", last.od, want)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if m, ok := h.broker.Retained(grTopic); ok {
		t.Errorf("growth_rate still retained after the job ended: %s", m.Payload)
	}
	if m, _ := h.broker.Retained(stateTopic); string(m.Payload) != "disconnected" {
		t.Errorf("$state %q; want disconnected", m.Payload)
	}
}

// A dose drops the OD by 10 %; announced on dosing_events, the filter puts
// the drop in the OD, not in the growth rate.
func TestDilutionDoesNotMakeTheRateNegative(t *testing.T) {
	const rate = 0.3
	minAfter := func(announce bool) float64 {
		h := newHarness(t)
		h.start(Options{})
		h.culture(5, rate, 3*time.Hour, announce)
		low := math.Inf(1)
		for _, r := range h.results() {
			if r.at > payload.StructTimestamp(t0.Add(3*time.Hour)) {
				low = math.Min(low, r.rate)
			}
		}
		return low
	}
	announced, silent := minAfter(true), minAfter(false)
	t.Logf("lowest growth rate after the dose: announced %.4f, unannounced %.4f (true %v)", announced, silent, rate)
	if announced < rate-0.05 {
		t.Errorf("lowest growth rate after an announced dose %v; want at least %v", announced, rate-0.05)
	}
	if !(silent < announced) {
		t.Errorf("lowest growth rate after an unannounced drop %v; want below the announced one's %v", silent, announced)
	}
}

func TestRetainedMessagesAreIgnored(t *testing.T) {
	h := newHarness(t)
	for range 3 {
		h.publish(odsTopic, odsPayload(t0, 0.05), true)
	}
	h.publish(dosingTopic, dosePayload, true)
	j, _ := h.start(Options{})
	if j.odSeen != 0 || h.rec.Logged("INFO", "Dosing event observed") {
		t.Fatalf("retained messages were taken: %d OD messages seen, logs %q", j.odSeen, h.rec.Logs())
	}
	// 5 skipped + 9 warm-up readings: not started yet; one more starts it.
	for i := range 14 {
		h.publish(odsTopic, odsPayload(t0.Add(time.Duration(i)*5*time.Second), 0.05), false)
	}
	h.settle()
	if j.Calculator().Ready() {
		t.Fatal("the filter started before 5 skipped and 10 warm-up readings")
	}
	h.publish(odsTopic, odsPayload(t0.Add(14*5*time.Second), 0.05), false)
	h.settle()
	if !j.Calculator().Ready() {
		t.Fatal("the filter did not start after 5 skipped and 10 warm-up readings")
	}
}

func TestBadMessagesAreSkipped(t *testing.T) {
	h := newHarness(t)
	j, _ := h.start(Options{})
	for i := range 15 {
		h.publish(odsTopic, odsPayload(t0.Add(time.Duration(i)*5*time.Second), 0.05), false)
	}
	h.publish(odsTopic, `{"ods": {}}`, false)
	h.publish(dosingTopic, `{"event": "add_media"}`, false)
	h.publish(odsTopic, odsPayload(t0.Add(15*5*time.Second), 0.05), false)
	h.settle()
	if !h.rec.Logged("WARNING", "Failed to decode message: ods payload") || !h.rec.Logged("WARNING", "Failed to decode message: malformed dosing event") {
		t.Errorf("logs %q; want both decoding failures logged", h.rec.Logs())
	}
	if j.Calculator().PostDoseRemaining() != 0 {
		t.Error("a dosing event that does not decode set the post-dose counter")
	}
	if n := len(h.results()); n != 1 || j.State() != runtime.Ready {
		t.Fatalf("%d estimates, state %s; want 1, ready", n, j.State())
	}
}

func TestWarmupThatCannotStartEndsTheJob(t *testing.T) {
	h := newHarness(t)
	cache := &MemCache{}
	cache.Save("exp1", map[string]float64{"2": 0})
	j, stop := h.start(Options{Cache: cache})
	for i := range 15 {
		h.publish(odsTopic, odsPayload(t0.Add(time.Duration(i)*5*time.Second), 0.05), false)
	}
	h.settle()
	if j.State() != runtime.Disconnected {
		t.Fatalf("state %s; want disconnected", j.State())
	}
	if err := stop(); err == nil || !strings.Contains(err.Error(), "non-positive OD normalization factor") {
		t.Fatalf("Run = %v; want the warm-up's error", err)
	}
	if !h.rec.Logged("ERROR", "Error processing warmup OD readings") {
		t.Errorf("logs %q; want the error logged", h.rec.Logs())
	}
}

func TestClearCacheOption(t *testing.T) {
	h := newHarness(t)
	cache := &MemCache{}
	cache.Save("exp1", map[string]float64{"2": 7})
	j, _ := h.start(Options{Cache: cache, ClearCache: true})
	for i := range 15 {
		h.publish(odsTopic, odsPayload(t0.Add(time.Duration(i)*5*time.Second), 0.05), false)
	}
	h.settle()
	if f, _, _ := cache.Load("exp1"); f["2"] != 0.05 || j.Calculator().Factors()["2"] != 0.05 {
		t.Fatalf("factors %v, cached %v; want 0.05 learnt again", j.Calculator().Factors(), f)
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	h := newHarness(t)
	h.env.Config.Set("growth_rate_calculating.config", "ekf_outlier_std_threshold", "2.0")
	if _, err := Start(h.env, Options{}); err == nil || !strings.Contains(err.Error(), "ekf_outlier_std_threshold=2.0") {
		t.Fatalf("Start = %v; want the threshold refused", err)
	}
	if _, ok := h.broker.Retained(stateTopic); ok {
		t.Fatal("a refused start announced the job")
	}
}
