package readings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	clk   *sched.Virtual
	ctl   pubsub.Client
	job   *runtime.Job
	cache *Cache
}

// newFixture starts a job with a cache after publishing retained, the
// retained messages (topic under pioreactor/u1/e1/ -> payload).
func newFixture(t *testing.T, retained map[string]string) *fixture {
	t.Helper()
	clk := sched.NewVirtual(epoch)
	broker := pubsub.NewMemory()
	env := &runtime.Env{Unit: "u1", Experiment: "e1", Sched: clk, Config: config.New(),
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return broker.Connect(o), nil }}
	f := &fixture{t: t, clk: clk, ctl: broker.Connect(pubsub.Options{ClientID: "test"})}
	for k, v := range retained {
		f.publish(k, v, true)
	}
	job, err := runtime.NewJob(env, "dosing_automation", "e1", runtime.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(job.Close)
	f.job = job
	if f.cache, err = Subscribe(job); err != nil {
		t.Fatal(err)
	}
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	f.settle()
	return f
}

func (f *fixture) publish(t, p string, retained bool) {
	f.t.Helper()
	if err := f.ctl.Publish("pioreactor/u1/e1/"+t, []byte(p), 1, retained); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) settle() { f.clk.RunUntil(context.Background(), f.clk.Now()) }

// latest calls Latest on an actor and runs the scheduler until it returns.
func (f *fixture) latest(k Kind) (Reading, error) {
	var r Reading
	var err error
	f.clk.Go("reader", func() { r, err = f.cache.Latest(context.Background(), k) })
	f.clk.Run(context.Background())
	return r, err
}

func ts(t time.Time) string { return payload.StructTimestamp(t) }

func gr(v float64, at time.Time) string {
	return fmt.Sprintf(`{"growth_rate": %v, "timestamp": %q}`, v, ts(at))
}
func nod(v float64, at time.Time) string {
	return fmt.Sprintf(`{"od_filtered": %v, "timestamp": %q}`, v, ts(at))
}
func ods(v float64, at time.Time) string {
	return fmt.Sprintf(`{"timestamp": %q, "ods": {"2": {"calibrated": 0, "timestamp": %q, "angle": "90", "od": %v, "channel": "2", "ir_led_intensity": 80.0}}}`, ts(at), ts(at), v)
}
func fused(v float64, at time.Time) string {
	return fmt.Sprintf(`{"od_fused": %v, "timestamp": %q}`, v, ts(at))
}
func temp(v float64, at time.Time) string {
	return fmt.Sprintf(`{"temperature": %v, "timestamp": %q}`, v, ts(at))
}

var running = map[string]string{
	"od_reading/$state": "ready", "growth_rate_calculating/$state": "ready", "temperature_automation/$state": "ready",
}

// B1.4 test_latest_readings_reject_stale_timestamps.
func TestStaleness(t *testing.T) {
	for _, tc := range []struct {
		age   time.Duration
		stale bool
	}{
		{time.Minute, false},
		{5 * time.Minute, false},
		{5*time.Minute + time.Second, true},
		{10 * time.Minute, true},
		{24*time.Hour + time.Minute, true},
	} {
		t.Run(tc.age.String(), func(t *testing.T) {
			at := epoch.Add(-tc.age)
			f := newFixture(t, running)
			f.publish("growth_rate_calculating/growth_rate", gr(0.1, at), false)
			f.publish("growth_rate_calculating/od_filtered", nod(1.0, at), false)
			f.publish("od_reading/ods", ods(0.05, at), false)
			f.publish("od_reading/od_fused", fused(1.1, at), false)
			f.publish("temperature_automation/temperature", temp(30, at), false)
			f.settle()
			want := map[Kind]float64{GrowthRate: 0.1, NormalizedOD: 1.0, OD: 0.05, ODFused: 1.1, Temperature: 30}
			for _, k := range Kinds() {
				r, err := f.latest(k)
				if tc.stale {
					var re *RequiredError
					if !errors.As(err, &re) || !strings.Contains(err.Error(), "too stale") {
						t.Errorf("%s: got %v, %v; want a too-stale RequiredError", k, r, err)
					}
					continue
				}
				if err != nil || r.Value != want[k] || !r.At.Equal(at) {
					t.Errorf("%s: got %+v, %v; want %v at %v", k, r, err, want[k], at)
				}
			}
			if r, _ := f.cache.Peek(OD); r.Channels["2"] != 0.05 {
				t.Errorf("od channels: %v", r.Channels)
			}
		})
	}
}

// B1.4 test_latest_readings_timeout_when_first_reading_never_arrives and
// the producers-not-running case.
func TestMissingFirstReading(t *testing.T) {
	wantTimeout := map[Kind]string{
		GrowthRate: "growth_rate_calculating should publish a growth_rate reading", NormalizedOD: "an od_filtered reading",
		OD: "raw OD readings", ODFused: "fused OD readings", Temperature: "a temperature reading",
	}
	for _, k := range Kinds() {
		f := newFixture(t, running)
		start := f.clk.Now()
		_, err := f.latest(k)
		var re *RequiredError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), wantTimeout[k]) {
			t.Errorf("%s, running: got %v; want %q", k, err, wantTimeout[k])
		}
		if waited := f.clk.Now().Sub(start); waited != FirstReadingTimeout {
			t.Errorf("%s: waited %v, want %v", k, waited, FirstReadingTimeout)
		}
	}
	wantStopped := map[Kind]string{
		GrowthRate: "requires od_reading and growth_rate_calculating to be running", NormalizedOD: "od_reading and growth_rate_calculating",
		OD: "requires od_reading to be running", ODFused: "od_reading", Temperature: "temperature_automation",
	}
	for _, k := range Kinds() {
		f := newFixture(t, map[string]string{"od_reading/$state": "disconnected"})
		start := f.clk.Now()
		_, err := f.latest(k)
		var re *RequiredError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), wantStopped[k]) {
			t.Errorf("%s, stopped: got %v; want %q", k, err, wantStopped[k])
		}
		if f.clk.Now() != start {
			t.Errorf("%s: waited although the producers do not run", k)
		}
	}
}

// A first reading that arrives during the wait is returned.
func TestFirstReadingArrivesWhileWaiting(t *testing.T) {
	f := newFixture(t, running)
	f.clk.At(epoch.Add(3*time.Second), func() { f.publish("growth_rate_calculating/od_filtered", nod(0.7, epoch.Add(3*time.Second)), false) })
	r, err := f.latest(NormalizedOD)
	if err != nil || r.Value != 0.7 {
		t.Fatalf("got %v, %v", r, err)
	}
	if got := f.clk.Now(); got != epoch.Add(3*time.Second) {
		t.Errorf("returned at %v, want at the reading", got)
	}
}

// B1.4 test_silent_automation_updates_cached_readings_without_dosing: the
// previous values are kept; empty payloads are ignored; OnUpdate sees live
// readings only.
func TestPreviousEmptyAndLiveUpdates(t *testing.T) {
	f := newFixture(t, map[string]string{"growth_rate_calculating/growth_rate": gr(0.005, epoch)})
	var live []string
	f.cache.OnUpdate(func(k Kind, r Reading) { live = append(live, fmt.Sprint(k, "=", r.Value)) })
	if r, ok := f.cache.Peek(GrowthRate); !ok || r.Value != 0.005 {
		t.Fatalf("retained value: %v %v", r, ok)
	}
	f.publish("growth_rate_calculating/growth_rate", gr(0.01, epoch), false)
	f.publish("growth_rate_calculating/growth_rate", gr(0.02, epoch), false)
	f.publish("growth_rate_calculating/growth_rate", "", false)
	f.publish("growth_rate_calculating/growth_rate", `{"growth_rate": "x"}`, false)
	f.publish("od_reading/ods", ods(0.05, epoch), false)
	f.publish("od_reading/ods", ods(0.06, epoch), false)
	f.settle()
	if r, _ := f.cache.Peek(GrowthRate); r.Value != 0.02 {
		t.Errorf("latest gr %v, want 0.02", r.Value)
	}
	if r, _ := f.cache.Previous(GrowthRate); r.Value != 0.01 {
		t.Errorf("previous gr %v, want 0.01", r.Value)
	}
	if r, _ := f.cache.Previous(OD); r.Channels["2"] != 0.05 {
		t.Errorf("previous od %v, want {2: 0.05}", r.Channels)
	}
	if got := strings.Join(live, " "); got != "growth_rate=0.01 growth_rate=0.02 od=0.05 od=0.06" {
		t.Errorf("live updates: %s", got)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		k    Kind
		in   string
		want float64
		err  bool
	}{
		{GrowthRate, `{"growth_rate": 0.1, "timestamp": "2026-01-01T00:00:00.000Z"}`, 0.1, false},
		{Temperature, `{"temperature": 31.5, "timestamp": "2026-01-01T00:00:00+00:00"}`, 31.5, false},
		{OD, `{"timestamp": "2026-01-01T00:00:00Z", "ods": {"3": {"od": 0.3}, "2": {"od": 0.2}}}`, 0.2, false},
		{GrowthRate, `{"growth_rate": 0.1}`, 0, true},
		{GrowthRate, `{"timestamp": "2026-01-01T00:00:00Z"}`, 0, true},
		{GrowthRate, `{"growth_rate": 0.1, "timestamp": "yesterday"}`, 0, true},
		{OD, `{"timestamp": "2026-01-01T00:00:00Z", "ods": {}}`, 0, true},
		{ODFused, `[1]`, 0, true},
	} {
		r, err := parse(tc.k, []byte(tc.in))
		if (err != nil) != tc.err || (!tc.err && r.Value != tc.want) {
			t.Errorf("parse(%s, %s) = %v, %v", tc.k, tc.in, r, err)
		}
	}
}

func TestKindNames(t *testing.T) {
	for _, k := range Kinds() {
		if p, ok := ParseKind(k.String()); !ok || p != k {
			t.Errorf("ParseKind(%s) = %v %v", k, p, ok)
		}
	}
	if _, ok := ParseKind("garbage"); ok {
		t.Error("ParseKind(garbage) ok")
	}
}

// The liquid model's retained values reach every automation; a cleared or
// malformed value leaves the last good one.
func TestLiquidValues(t *testing.T) {
	f := newFixture(t, map[string]string{"bioreactor/current_volume_ml": "14.5"})
	f.settle()
	if v, ok := f.cache.Liquid("current_volume_ml"); !ok || v != 14.5 {
		t.Fatalf("current_volume_ml = %v, %v; want the retained 14.5", v, ok)
	}
	if _, ok := f.cache.Liquid("alt_media_fraction"); ok {
		t.Fatal("alt_media_fraction before any was published")
	}
	f.publish("bioreactor/alt_media_fraction", "0.25", true)
	f.publish("bioreactor/current_volume_ml", "", true)
	f.publish("bioreactor/current_volume_ml", "NaN", false)
	f.settle()
	if v, _ := f.cache.Liquid("alt_media_fraction"); v != 0.25 {
		t.Errorf("alt_media_fraction = %v, want 0.25", v)
	}
	if v, _ := f.cache.Liquid("current_volume_ml"); v != 14.5 {
		t.Errorf("current_volume_ml = %v after a cleared and a NaN value, want 14.5 kept", v)
	}
}

// A broker may deliver a subscription's retained copy after a live reading
// (mochi sends retained messages after the SUBACK, beside other clients'
// messages): the older, retained reading does not replace the live one.
func TestRetainedCopyAfterALiveReadingIsIgnored(t *testing.T) {
	f := newFixture(t, nil)
	f.publish("growth_rate_calculating/growth_rate", gr(0.02, epoch.Add(time.Minute)), false)
	f.settle()
	f.cache.put(GrowthRate, pubsub.Message{Topic: "pioreactor/u1/e1/growth_rate_calculating/growth_rate",
		Payload: []byte(gr(0.01, epoch)), Retained: true})
	if r, _ := f.cache.Peek(GrowthRate); r.Value != 0.02 {
		t.Errorf("latest gr %v, want the live 0.02", r.Value)
	}
	if _, ok := f.cache.Previous(GrowthRate); ok {
		t.Errorf("the retained copy became the previous reading")
	}
}
