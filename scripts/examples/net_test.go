package examples_test

// The network examples, daily_summary.star and forward_warnings.star, run
// as custom jobs on a unit on the virtual clock and the in-memory broker,
// against a local HTTP server: the test plays the unit's other jobs by
// publishing their readings, logs and dosing events, and checks what
// arrived at the server and on the broker.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/customjob"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/script"
)

var netEpoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// netUnit is unit u1 running one custom job in experiment e1.
type netUnit struct {
	t      *testing.T
	clk    *sched.Virtual
	broker *pubsub.Memory
	ctl    pubsub.Client
	job    *customjob.Job

	mu   sync.Mutex
	logs []string // "LEVEL: message" of the job
	msgs []pubsub.Message
}

// startNetJob starts file as a custom job with the config lines given
// ("section key value") and settings.
func startNetJob(t *testing.T, file string, configLines []string, settings map[string]string) *netUnit {
	t.Helper()
	cfg := config.New()
	for _, l := range configLines {
		p := strings.SplitN(l, " ", 3)
		cfg.Set(p[0], p[1], p[2])
	}
	u := &netUnit{t: t, clk: sched.NewVirtual(netEpoch), broker: pubsub.NewMemory()}
	u.broker.Tap = func(_ string, m pubsub.Message) {
		u.mu.Lock()
		u.msgs = append(u.msgs, m)
		u.mu.Unlock()
	}
	env := &runtime.Env{
		Unit: "u1", Experiment: "e1", Sched: u.clk, Config: cfg,
		Board:   sim.New(u.clk, sim.Options{Devices: map[int]string{2: "media", 4: "waste"}, PumpMLPerSecond: 1}),
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return u.broker.Connect(o), nil },
		Liquid:  liquid.NewMemStore(),
	}
	prog, err := script.LoadJobFile(file, "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	u.job, err = customjob.Start(env, customjob.Options{Program: prog, Overrides: settings})
	if err != nil {
		t.Fatal(err)
	}
	u.job.Log.OnRecord = func(level, msg string) {
		u.mu.Lock()
		u.logs = append(u.logs, level+": "+msg)
		u.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	u.clk.Go("job", func() {
		defer close(done)
		if err := u.job.Run(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() {
		cancel()
		u.clk.Run(context.Background())
		<-done
	})
	u.ctl = u.broker.Connect(pubsub.Options{ClientID: "test"})
	u.until(0)
	return u
}

// until runs the unit until d after the epoch.
func (u *netUnit) until(d time.Duration) { u.clk.RunUntil(context.Background(), netEpoch.Add(d)) }

// at publishes payload on pioreactor/u1/e1/<rel> at d after the epoch.
func (u *netUnit) at(d time.Duration, rel, payload string) {
	u.clk.At(netEpoch.Add(d), func() {
		if err := u.ctl.Publish("pioreactor/u1/e1/"+rel, []byte(payload), 1, false); err != nil {
			u.t.Error(err)
		}
	})
}

func (u *netUnit) logged() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.logs...)
}

func (u *netUnit) payloads(topic string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, m := range u.msgs {
		if m.Topic == topic {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

// endpoint is a local HTTP server that keeps the JSON bodies posted to it
// and answers with the status fail returns (200 if nil).
type endpoint struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	fail   func(n int) int
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		defer e.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		status := 200
		if e.fail != nil {
			status = e.fail(len(e.bodies))
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("posted %q: %v", b, err)
		}
		e.bodies = append(e.bodies, m)
		w.WriteHeader(status)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) host() string {
	u, _ := url.Parse(e.URL)
	return u.Host
}

func (e *endpoint) posted() []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]map[string]any(nil), e.bodies...)
}

func odsPayload(od float64) string {
	return fmt.Sprintf(`{"timestamp": "t", "ods": {"2": {"od": %v, "angle": "90", "channel": "2"}}}`, od)
}

func dosingEvent(event string, ml float64) string {
	return fmt.Sprintf(`{"volume_change": %v, "event": %q, "source_of_event": "dosing_automation:chemostat", "timestamp": "t"}`, ml, event)
}

func TestDailySummaryPostsEachDay(t *testing.T) {
	ep := newEndpoint(t)
	ep.fail = func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable // the second day's post fails
		}
		return http.StatusOK
	}
	u := startNetJob(t, "daily_summary.star", []string{"scripts.http allowed_hosts " + ep.host()},
		map[string]string{"url": ep.URL + "/summaries"})
	h := time.Hour
	u.at(1*h, "od_reading/ods", odsPayload(0.1))
	u.at(2*h, "od_reading/ods", odsPayload(0.3))
	u.at(3*h, "od_reading/ods", odsPayload(0.2))
	u.at(3*h, "growth_rate_calculating/growth_rate", `{"growth_rate": 0.3, "timestamp": "t"}`)
	u.at(4*h, "growth_rate_calculating/growth_rate", `{"growth_rate": 0.2, "timestamp": "t"}`)
	u.at(4*h, "growth_rate_calculating/od_filtered", `{"od_filtered": 1.5, "timestamp": "t"}`)
	u.at(5*h, "bioreactor/current_volume_ml", "14.0")
	for i := 0; i < 3; i++ {
		u.at(time.Duration(6+i)*h, "dosing_events", dosingEvent("add_media", 0.5))
		u.at(time.Duration(6+i)*h, "dosing_events", dosingEvent("remove_waste", 1.5))
	}
	u.at(30*h, "dosing_events", dosingEvent("add_media", 0.25)) // day 2
	u.until(72*h + time.Second)

	got := ep.posted()
	if len(got) != 3 {
		t.Fatalf("posted %d summaries in 3 days, want 3: %v", len(got), got)
	}
	day := 86400.0
	start := float64(netEpoch.Unix())
	want := map[string]any{
		"unit": "u1", "experiment": "e1", "period_start": start, "period_end": start + day,
		"od":            map[string]any{"2": map[string]any{"last": 0.2, "min": 0.1, "max": 0.3}},
		"normalized_od": 1.5, "growth_rate": map[string]any{"last": 0.2, "max": 0.3},
		"volume_ml": 14.0, "alt_media_fraction": nil,
		"dosing_ml": map[string]any{"add_media": 1.5, "remove_waste": 4.5}, "dosing_events": 6.0,
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("day 1:\n got %v\nwant %v", got[0], want)
	}
	// Day 2's post failed: day 3 carries its totals, from the same start.
	if got[1]["dosing_events"] != 1.0 || got[2]["dosing_events"] != 1.0 || got[2]["period_start"] != start+day || got[2]["period_end"] != start+3*day {
		t.Errorf("days 2 and 3: %v\n%v", got[1], got[2])
	}
	var warnings []string
	for _, l := range u.logged() {
		if strings.HasPrefix(l, "WARNING: ") || strings.HasPrefix(l, "ERROR: ") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "the summary was not posted to "+ep.URL+"/summaries: status 503") {
		t.Errorf("warnings %q, want the failed post of day 2", warnings)
	}
	if s := u.payloads("pioreactor/u1/e1/daily_summary/summary"); len(s) != 3 || !strings.Contains(s[0], `"dosing_ml":{"add_media":1.5,"remove_waste":4.5}`) {
		t.Errorf("published summaries %q", s)
	}
}

// Without the host in [scripts.http] allowed_hosts nothing is posted: each
// run fails with the key that would grant it, and the job goes on.
func TestDailySummaryRefusedHost(t *testing.T) {
	ep := newEndpoint(t)
	u := startNetJob(t, "daily_summary.star", nil, map[string]string{"url": ep.URL, "interval": "3600"})
	u.until(3*time.Hour + time.Second)
	if got := ep.posted(); len(got) != 0 {
		t.Errorf("posted %v", got)
	}
	errs := 0
	for _, l := range u.logged() {
		if strings.HasPrefix(l, "ERROR: ") {
			errs++
			if want := "add " + ep.host() + " to [scripts.http] allowed_hosts"; !strings.Contains(l, want) {
				t.Errorf("%s\nwant it to say %q", l, want)
			}
		}
	}
	if errs != 3 || u.job.State() != runtime.Ready {
		t.Errorf("%d errors, state %s; want 3 and ready", errs, u.job.State())
	}
}

func logRecord(level, source, msg string) string {
	return fmt.Sprintf(`{"message": %q, "level": %q, "task": %q, "source": %q, "timestamp": "2026-03-01T00:00:00.000Z"}`, msg, level, source, source)
}

func TestForwardWarnings(t *testing.T) {
	ep := newEndpoint(t)
	u := startNetJob(t, "forward_warnings.star",
		[]string{"scripts.http allowed_hosts " + ep.host(), "scripts.mqtt publish lab/alerts/#"},
		map[string]string{"url": ep.URL + "/hook", "topic": "lab/alerts/u1"})
	m := time.Minute
	u.at(1*m, "logs/dosing_automation/info", logRecord("INFO", "dosing_automation", "dosed 0.5 mL"))
	u.at(2*m, "logs/dosing_automation/warning", logRecord("WARNING", "dosing_automation", "the vial is at max fill"))
	u.at(3*m, "logs/od_reading/error", logRecord("ERROR", "od_reading", "the ADC did not answer"))
	u.at(4*m, "logs/forward_warnings/warning", logRecord("WARNING", "forward_warnings", "its own"))
	u.until(10 * m)

	want := []map[string]any{
		{"unit": "u1", "experiment": "e1", "level": "WARNING", "source": "dosing_automation", "message": "the vial is at max fill", "timestamp": "2026-03-01T00:00:00.000Z"},
		{"unit": "u1", "experiment": "e1", "level": "ERROR", "source": "od_reading", "message": "the ADC did not answer", "timestamp": "2026-03-01T00:00:00.000Z"},
	}
	if got := ep.posted(); !reflect.DeepEqual(got, want) {
		t.Errorf("posted\n %v\nwant %v", got, want)
	}
	feed := u.payloads("lab/alerts/u1")
	if len(feed) != 2 || !strings.Contains(feed[0], `"message":"the vial is at max fill"`) || !strings.Contains(feed[1], `"level":"ERROR"`) {
		t.Errorf("published on lab/alerts/u1: %q", feed)
	}
	if got := u.payloads("pioreactor/u1/e1/forward_warnings/forwarded"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("forwarded %q", got)
	}
}

// Without a [scripts.mqtt] publish grant the topic is refused, naming the
// key; the job logs the error (which it does not forward) and goes on.
func TestForwardWarningsRefusedTopic(t *testing.T) {
	u := startNetJob(t, "forward_warnings.star", nil, map[string]string{"topic": "lab/alerts/u1"})
	u.at(time.Minute, "logs/stirring/warning", logRecord("WARNING", "stirring", "RPM off target"))
	u.at(2*time.Minute, "logs/stirring/error", logRecord("ERROR", "stirring", "stalled"))
	u.until(5 * time.Minute)
	if got := u.payloads("lab/alerts/u1"); len(got) != 0 {
		t.Errorf("published %q", got)
	}
	var errs []string
	for _, l := range u.logged() {
		if strings.HasPrefix(l, "ERROR: ") {
			errs = append(errs, l)
		}
	}
	want := `publish to "lab/alerts/u1": not granted (outside pioreactor/u1/e1/forward_warnings/); add lab/alerts/u1 to [scripts.mqtt] publish`
	if len(errs) != 2 || !strings.Contains(errs[0], want) {
		t.Errorf("errors %q\nwant 2 with %q", errs, want)
	}
	if u.job.State() != runtime.Ready {
		t.Errorf("state %s", u.job.State())
	}
}
