package odreading

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/leds"
	"github.com/piolab/pio/payload"
)

func TestFirstReadingPayloads(t *testing.T) {
	h := newHarness(t)
	h.start(Options{})
	h.advance(2 * time.Second)
	ods := h.payloads("ods")
	if len(ods) != 1 {
		t.Fatalf("ods published %d times in the first 3 s, want 1: %q", len(ods), ods)
	}
	o := h.ods()[0]
	r, ok := o.ODs["2"]
	if !ok || len(o.ODs) != 1 {
		t.Fatalf("ods = %q, want channel 2 only (1 is REF)", ods[0])
	}
	// Signal 0.5·0.5·0.8 = 0.2 V, REF 0.25·0.8 = 0.2 V, its own scale (unity): od 0.2.
	if d := r.OD - 0.2; d > 1e-9 || d < -1e-9 {
		t.Errorf("od = %v, want 0.2", r.OD)
	}
	// Start-up's dark burst (39 × 21.25 ms), 0.125 s LED settle, a burst:
	// 1.7825 s, rounded to the millisecond.
	ts := "2026-01-01T00:00:01.783000Z"
	want := `{"timestamp":"` + ts + `","ods":{"2":{"calibrated":0,"timestamp":"` + ts +
		`","angle":"90","od":` + payload.PyFloat(r.OD) + `,"channel":"2","ir_led_intensity":80.0}}}`
	if ods[0] != want {
		t.Errorf("ods =\n%s\nwant\n%s", ods[0], want)
	}
	od2 := h.payloads("od2")
	wantRaw := `{"calibrated":0,"timestamp":"` + ts + `","angle":"90","od":` + payload.PyFloat(r.OD) + `,"channel":"2","ir_led_intensity":80.0}`
	if len(od2) != 1 || od2[0] != wantRaw {
		t.Errorf("od2 = %q, want [%s]", od2, wantRaw)
	}
	if p := h.payloads("od1"); len(p) != 0 {
		t.Errorf("od1 (REF) published: %q", p)
	}
	for setting, want := range map[string]string{
		"interval": "5.0", "ir_led_intensity": "80.0", "first_od_obs_time": "1767225600.8287501",
		"relative_intensity_of_ir_led": `{"relative_intensity_of_ir_led":1.0,"timestamp":"` + ts + `"}`,
		"$state":                       "ready",
	} {
		if got := h.payloads(setting); len(got) == 0 || got[len(got)-1] != want {
			t.Errorf("%s = %q, want last %q", setting, got, want)
		}
	}
	if m := h.rec.Published("pioreactor/unit1/exp1/od_reading/ods"); !m[0].Retained {
		t.Error("ods is not retained")
	}
	if h.board.led("A") != 0 {
		t.Errorf("IR LED at %v %% between readings, want 0", h.board.led("A"))
	}
	h.stop()
}

func TestCadenceIsFiveSeconds(t *testing.T) {
	h := newHarness(t)
	h.start(Options{})
	h.advance(time.Minute)
	ods := h.ods()
	if len(ods) != 12 { // done at 1.78 s, then every 5 s up to 61 s
		t.Fatalf("%d readings in a minute, want 12", len(ods))
	}
	for i := 1; i < len(ods); i++ {
		if d := ods[i].Timestamp.Sub(ods[i-1].Timestamp); d != 5*time.Second {
			t.Errorf("reading %d came %v after the previous one, want 5s", i, d)
		}
	}
	h.stop()
}

func lastOD(t *testing.T, h *harness, ch string) float64 {
	t.Helper()
	ods := h.ods()
	if len(ods) == 0 {
		t.Fatal("no reading published")
	}
	r, ok := ods[len(ods)-1].ODs[ch]
	if !ok {
		t.Fatalf("no channel %s in the last reading", ch)
	}
	return r.OD
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

// The IR LED ages to 60 % of its output: REF normalisation keeps the OD.
func TestREFNormalisationFollowsTheLED(t *testing.T) {
	for _, tc := range []struct {
		name        string
		config      []string
		before      float64 // od at the start
		after       float64 // od once the LED gives 60 %
		relIntesity float64 // relative_intensity_of_ir_led at the end
	}{
		{"unity", nil, 0.2, 0.2, 0.6},
		// classic divides by REF's volts: 0.2 V / 0.2 V, then 0.12 / 0.12.
		{"classic", []string{"od_reading.config ref_normalization classic"}, 1, 1, 0.12},
		{"no REF", []string{"od_config.photodiode_channel 1 "}, 0.2, 0.12, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.config...)
			h.start(Options{})
			h.advance(time.Second)
			if od := lastOD(t, h, "2"); !near(od, tc.before, 1e-9) {
				t.Errorf("od = %v before, want %v", od, tc.before)
			}
			h.board.set(func() { h.board.efficiency = 0.6 })
			h.advance(5 * time.Minute)
			if od := lastOD(t, h, "2"); !near(od, tc.after, 1e-6) {
				t.Errorf("od = %v after, want %v", od, tc.after)
			}
			rel := h.payloads("relative_intensity_of_ir_led")
			if tc.relIntesity == 0 {
				if len(rel) != 0 {
					t.Errorf("relative_intensity_of_ir_led published without REF: %q", rel)
				}
			} else if len(rel) == 0 {
				t.Error("relative_intensity_of_ir_led never published")
			}
			h.stop()
		})
	}
}

// Every fifth reading publishes relative_intensity_of_ir_led.
func TestRelativeIntensityOnOneReadingInFive(t *testing.T) {
	h := newHarness(t)
	h.start(Options{})
	h.advance(100 * time.Second)
	n, rel := len(h.ods()), len(h.payloads("relative_intensity_of_ir_led"))
	if n != 20 || rel != 4 {
		t.Errorf("%d readings and %d relative_intensity_of_ir_led, want 20 and 4", n, rel)
	}
	h.stop()
}

// The experiment's first REF reading is the scale of unity normalisation,
// kept in the cache across runs.
func TestUnityScaleIsKeptInTheCache(t *testing.T) {
	cache := NewMemCache()
	h := newHarness(t)
	h.start(Options{Cache: cache})
	h.advance(time.Second)
	h.stop()
	v, ok, _ := cache.Get(RefCache, "exp1")
	if f, err := strconv.ParseFloat(v, 64); !ok || err != nil || !near(f, 0.2, 1e-9) {
		t.Fatalf("cache %s = %q %v, want 0.2", RefCache, v, ok)
	}
	// The next run's LED gives half: the OD reads half, then recovers as
	// the reference EMA follows.
	h2 := newHarness(t)
	h2.board.efficiency = 0.5
	h2.start(Options{Cache: cache})
	h2.advance(time.Second)
	if od := lastOD(t, h2, "2"); !near(od, 0.2, 1e-9) {
		t.Errorf("od = %v, want 0.2 (0.1 V / relative intensity 0.5)", od)
	}
	h2.stop()
}

func TestNoisyREFPausesDosing(t *testing.T) {
	h := newHarness(t)
	h.board.refNoise = 0.2
	h.start(Options{})
	h.advance(time.Minute)
	if !h.logged("warning", "The reference PD is very noisy") {
		t.Errorf("no warning about the noisy REF; warnings: %q", h.logs("warning"))
	}
	got := h.rec.Payloads("pioreactor/unit1/exp1/dosing_automation/$state/set")
	if len(got) == 0 || got[0] != "sleeping" {
		t.Errorf("dosing_automation/$state/set = %q, want sleeping", got)
	}
	h.stop()
}

func TestQuietREFDoesNotPauseDosing(t *testing.T) {
	h := newHarness(t)
	h.board.refNoise = 0.002
	h.board.noise = 0.002
	h.start(Options{})
	h.advance(10 * time.Minute)
	if got := h.rec.Payloads("pioreactor/unit1/exp1/dosing_automation/$state/set"); len(got) != 0 {
		t.Errorf("dosing_automation/$state/set = %q with a quiet REF", got)
	}
	if n := len(h.ods()); n != 120 {
		t.Errorf("%d readings in 10 minutes, want 120", n)
	}
	h.stop()
}

func TestSleepingPausesReadings(t *testing.T) {
	h := newHarness(t)
	h.start(Options{})
	h.advance(9 * time.Second) // readings at 0.83 and 5.83 s
	h.set("$state", "sleeping")
	h.advance(30 * time.Second)
	if n := len(h.ods()); n != 2 {
		t.Errorf("%d readings after 30 s asleep, want the 2 taken before", n)
	}
	h.set("$state", "ready")
	h.advance(10 * time.Second)
	if n := len(h.ods()); n != 4 {
		t.Errorf("%d readings 10 s after waking, want 4", n)
	}
	h.stop()
}

func TestIntervalSet(t *testing.T) {
	h := newHarness(t)
	h.start(Options{})
	h.advance(time.Second)
	for _, bad := range []string{"0", "abc", "-5"} {
		h.set("interval", bad)
		if got := h.payloads("interval"); got[len(got)-1] != "5.0" {
			t.Errorf("after interval/set %q, interval = %q, want 5.0 kept", bad, got)
		}
	}
	errs := h.logs("error")
	if len(errs) != 3 || !h.logged("error", "interval 0.0 s: want more than 0") || !h.logged("error", `want a number, got "abc"`) {
		t.Errorf("errors = %q, want one per refused value", errs)
	}
	h.advance(20 * time.Second)
	if n := len(h.ods()); n != 5 {
		t.Errorf("%d readings in 21 s, want 5 (every 5 s)", n)
	}
	h.set("interval", "0.5")
	if !h.logged("warning", "interval above 1 second") {
		t.Errorf("no warning for an interval of 0.5 s; warnings %q", h.logs("warning"))
	}
	h.set("interval", "10")
	n := len(h.ods())
	h.advance(time.Minute)
	if got := len(h.ods()) - n; got != 6 {
		t.Errorf("%d readings in a minute at interval 10, want 6", got)
	}
	h.stop()
}

func TestIRIntensitySet(t *testing.T) {
	h := newHarness(t)
	h.start(Options{})
	h.advance(time.Second)
	h.set("ir_led_intensity", "101")
	h.set("ir_led_intensity", "40")
	h.advance(5 * time.Second)
	ods := h.ods()
	last := ods[len(ods)-1].ODs["2"]
	if last.IRLEDIntensity != 40 {
		t.Errorf("ir_led_intensity in the reading = %v, want 40", last.IRLEDIntensity)
	}
	if got := h.payloads("ir_led_intensity"); got[len(got)-1] != "40.0" || len(got) != 2 {
		t.Errorf("ir_led_intensity = %q, want 80.0 then 40.0 (101 refused)", got)
	}
	if !h.logged("error", "ir_led_intensity 101.0: want a percentage from 0 to 100") {
		t.Errorf("errors = %q", h.logs("error"))
	}
	h.stop()
}

func TestOverVoltageStopsTheJob(t *testing.T) {
	h := newHarness(t)
	h.board.set(func() { h.board.leds["B"] = 30 })
	h.start(Options{})
	h.advance(time.Second)
	h.board.set(func() { h.board.od = 7.9 }) // 0.5·7.9·0.8 = 3.16 V
	h.advance(30 * time.Second)              // the estimate's pull toward the previous one lags
	if !h.logged("warning", "above 3.0 V") || h.ended {
		t.Fatalf("at 3.17 V: warning %q, ended %v; want a warning and the job running", h.logs("warning"), h.ended)
	}
	h.board.set(func() { h.board.od = 9 }) // 3.6 V
	h.advance(30 * time.Second)
	if !h.ended || h.runErr == nil {
		t.Fatalf("at 3.6 V the job still runs (ended %v, err %v)", h.ended, h.runErr)
	}
	for _, ch := range ledChannels {
		if v := h.board.led(ch); v != 0 {
			t.Errorf("LED %s at %v %% after the over-voltage stop", ch, v)
		}
	}
	codes := h.rec.Payloads("pioreactor/unit1/$experiment/monitor/flicker_led_with_error_code")
	if len(codes) < 2 || codes[len(codes)-1] != "5" {
		t.Errorf("error codes %q, want 5 for the warnings and the stop", codes)
	}
	if st := h.payloads("$state"); st[len(st)-1] != "disconnected" {
		t.Errorf("$state = %q, want disconnected last", st)
	}
	h.clk.Run(t.Context())
}

// The IR LED is off and the other LEDs are back after Run returns, however
// it ends: a cancelled context mid-reading, or $state/set disconnected.
func TestIROffAfterRun(t *testing.T) {
	for _, how := range []string{"cancel", "disconnected"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t)
			h.board.set(func() { h.board.leds["B"] = 30 })
			h.start(Options{})
			h.advance(5*time.Second + 200*time.Millisecond) // mid-reading, at 5.95 s
			if h.board.led("A") != 80 || h.board.led("B") != 0 {
				t.Fatalf("mid-reading LEDs A=%v B=%v, want IR 80 and B off", h.board.led("A"), h.board.led("B"))
			}
			if how == "cancel" {
				h.cancel()
			} else {
				h.set("$state", "disconnected")
			}
			h.clk.Run(t.Context())
			if !h.ended || h.runErr != nil {
				t.Fatalf("Run ended %v with %v, want nil", h.ended, h.runErr)
			}
			if a, b := h.board.led("A"), h.board.led("B"); a != 0 || b != 30 {
				t.Errorf("after Run: LED A (IR) %v, B %v; want 0 and 30", a, b)
			}
			if st := h.payloads("$state"); st[len(st)-1] != "disconnected" {
				t.Errorf("$state = %q", st)
			}
			if ods := h.payloads("ods"); ods[len(ods)-1] != "" {
				t.Errorf("ods not cleared at the end: %q", ods[len(ods)-1])
			}
		})
	}
}

func TestBlankIsSubtracted(t *testing.T) {
	cache := NewMemCache()
	_ = cache.Set(BlankCache, "exp1", `{"2": 0.05}`)
	h := newHarness(t)
	h.start(Options{Cache: cache})
	h.advance(time.Second)
	if od := lastOD(t, h, "2"); !near(od, 0.15, 1e-9) {
		t.Errorf("od = %v, want 0.2 − blank 0.05", od)
	}
	h.stop()
}

func TestSnapshotTakesOneReading(t *testing.T) {
	h := newHarness(t)
	h.start(Options{Snapshot: true})
	h.clk.Run(t.Context())
	if !h.ended || h.runErr != nil {
		t.Fatalf("snapshot: ended %v, err %v", h.ended, h.runErr)
	}
	if n := len(h.ods()); n != 1 {
		t.Errorf("snapshot published %d readings, want 1", n)
	}
	if got := h.payloads("interval"); len(got) != 0 {
		t.Errorf("snapshot published interval %q", got)
	}
}

func TestOptionsOverrideConfig(t *testing.T) {
	h := newHarness(t)
	h.start(Options{Interval: ptr(2), IRLEDIntensity: ptr(50)})
	h.advance(10 * time.Second)
	ods := h.ods()
	if len(ods) != 5 || ods[0].ODs["2"].IRLEDIntensity != 50 {
		t.Errorf("%d readings in 11 s at intensity %v, want 5 at 50", len(ods), ods[0].ODs["2"].IRLEDIntensity)
	}
	h.stop()
	for _, o := range []Options{{Interval: ptr(0)}, {IRLEDIntensity: ptr(-1)}} {
		h := newHarness(t)
		if err := h.tryStart(o); err == nil {
			t.Errorf("Start(%+v) succeeded", o)
		}
	}
}

func TestAutoIRIntensity(t *testing.T) {
	h := newHarness(t, "od_reading.config ir_led_intensity auto")
	h.board.od = 2 // at 85 %: signal 0.85 V, REF 0.2125 V
	h.start(Options{})
	h.advance(time.Second)
	// min(85, 85·0.25/0.2125, 85·0.06/0.85) = 6, raised to the floor of 50.
	if got := h.payloads("ir_led_intensity"); len(got) != 1 || got[0] != "50.0" {
		t.Errorf("ir_led_intensity = %q, want 50.0", got)
	}
	h.stop()
}

func TestBoardWithoutSensors(t *testing.T) {
	h := newHarness(t)
	h.env.Board = bareBoard{}
	err := h.tryStart(Options{})
	if err == nil || !strings.Contains(err.Error(), "bare board has no sensors") {
		t.Errorf("Start on a board without sensors: %v", err)
	}
}

type bareBoard struct{}

func (bareBoard) Name() string          { return "bare board" }
func (bareBoard) Simulated() bool       { return true }
func (bareBoard) PWM() hw.PWMController { return nil }
func (bareBoard) HaltAll() error        { return nil }
func (bareBoard) Close() error          { return nil }

// During a reading the other LEDs are off and locked: a light program's
// change waits for the next time it runs. The IR LED's switching for each
// reading is quiet (upstream's verbose=False): no LED change events of
// od_reading, only the light program's.
func TestOtherLEDsLockedDuringAReading(t *testing.T) {
	h := newHarness(t)
	h.board.set(func() { h.board.leds["B"] = 30 })
	h.start(Options{})
	h.advance(5*time.Second + 200*time.Millisecond) // mid-reading
	c, err := leds.For(h.env)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := c.Set(t.Context(), map[string]float64{"B": 50}, "light")
	if applied || err != nil || h.board.led("B") != 0 {
		t.Errorf("Set B mid-reading: applied %v, err %v, B at %v; want refused, B off", applied, err, h.board.led("B"))
	}
	h.advance(time.Second)
	if b := h.board.led("B"); b != 30 {
		t.Errorf("B = %v after the reading, want 30 back", b)
	}
	if applied, _ := c.Set(t.Context(), map[string]float64{"B": 50}, "light"); !applied {
		t.Error("Set B between readings refused")
	}
	events := h.rec.Payloads("pioreactor/unit1/exp1/led_change_events")
	if len(events) != 1 || !strings.Contains(events[0], `"source_of_event":"light"`) {
		t.Errorf("led_change_events = %q, want the light program's change alone", events)
	}
	h.stop()
}
