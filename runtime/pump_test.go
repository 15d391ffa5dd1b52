package runtime

import (
	"context"
	"errors"
	"github.com/piolab/pio/pubsub/pubsubtest"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/calibration"
)

// pump runs req as a manual pump job (pio run add_media) on an actor.
func (h *harness) pump(ctx context.Context, req PumpRequest) (float64, error) {
	if req.Device == "" {
		req.Device = "media"
	}
	var moved float64
	var err error
	h.do(func() {
		p, e := StartPumpAction(h.env, req)
		if e != nil {
			err = e
			return
		}
		p.Log.OnRecord = h.logf
		err = p.Run(ctx)
		moved = p.Moved
	})
	return moved, err
}

func floatsEqual(a, b []float64) bool { return pubsubtest.VolumesEqual(a, b) }

// The event tables of upstream's test_pumps.py, at 1 mL/s.
func TestPumpEventTicks(t *testing.T) {
	tests := []struct {
		name      string
		ml        float64
		slope     float64
		interrupt time.Duration // 0: none
		want      []float64
		ret       float64
	}{
		{"finishes between ticks", 0.8, 1, 0, []float64{0.5, 0.3}, 0.8},
		{"exact boundary has no terminal event", 1.0, 1, 0, []float64{0.5, 0.5}, 1.0},
		{"interrupted at 0.25 s", 1.0, 1, 250 * time.Millisecond, []float64{0.5, -0.25}, 0.25},
		{"tiny volume at 20 mL/s", 0.01, 20, 0, []float64{0.01}, 0.01},
		{"zero volume never runs", 0, 1, 0, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.factory = func(d string) (calibration.Pump, bool) {
				return calibration.Pump{Name: "t", Device: d, Slope: tt.slope, Hz: 100, DC: 60}, true
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.interrupt > 0 {
				h.clk.At(epoch.Add(tt.interrupt), func() {
					h.publish("pioreactor/unit1/exp1/add_media/$state/set", "disconnected")
				})
			}
			got, err := h.pump(ctx, PumpRequest{ML: ptr(tt.ml), SourceOfEvent: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tt.ret) > 1e-12 {
				t.Errorf("returned %v, want %v", got, tt.ret)
			}
			ev := h.eventVolumes("add_media")
			if !floatsEqual(ev, tt.want) {
				t.Errorf("events %v, want %v", ev, tt.want)
			}
			if math.Abs(sum(ev)-got) > 1e-12 {
				t.Errorf("events sum to %v but the pump returned %v", sum(ev), got)
			}
			for _, d := range h.reactor.DutyTrace() {
				if d.Channel == 2 && d.Duty != 0 && d.Duty != 60 {
					t.Errorf("unexpected duty %v", d.Duty)
				}
			}
			if tr := h.reactor.DutyTrace(); len(tr) > 0 && tr[len(tr)-1].Duty != 0 {
				t.Errorf("pump left on: %+v", tr[len(tr)-1])
			}
		})
	}
}

func TestPumpPublishedTotalIsExact(t *testing.T) {
	h := newHarness(t)
	for _, device := range []string{"media", "waste"} {
		got, err := h.pump(context.Background(), PumpRequest{Device: device, ML: ptr(5.12314)})
		if err != nil {
			t.Fatal(err)
		}
		ev := h.eventVolumes(ActionName(device))
		if got != 5.12314 || sum(ev) != 5.12314 {
			t.Errorf("%s: returned %v, events sum %v; want exactly 5.12314", device, got, sum(ev))
		}
	}
}

func TestPumpOnTimeAndState(t *testing.T) {
	h := newHarness(t)
	if _, err := h.pump(context.Background(), PumpRequest{Duration: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	tr := h.reactor.DutyTrace()
	if len(tr) != 2 || tr[0].Duty != 60 || tr[1].Duty != 0 || tr[1].At.Sub(tr[0].At) != 2*time.Second {
		t.Errorf("duty trace %+v, want 60 %% for exactly 2 s", tr)
	}
	if got := h.payloads("pioreactor/unit1/exp1/add_media/$state"); len(got) != 3 || got[0] != "init" || got[1] != "ready" || got[2] != "disconnected" {
		t.Errorf("$state = %v, want [init ready disconnected]", got)
	}
	if st := h.reactor.State(); math.Abs(st.MovedML["media"]-1.2) > 1e-9 {
		t.Errorf("simulated pump moved %v mL at 60 %% of 1 mL/s for 2 s, want 1.2", st.MovedML["media"])
	}
}

func TestPumpContinuouslyStopsOnRequest(t *testing.T) {
	h := newHarness(t)
	h.clk.At(epoch.Add(1500*time.Millisecond), func() {
		h.publish("pioreactor/$broadcast/$experiment/remove_waste/$state/set", "disconnected")
	})
	got, err := h.pump(context.Background(), PumpRequest{Device: "waste", Continuously: true})
	if err != nil {
		t.Fatal(err)
	}
	// The stop command was set before the pump's 1.5 s tick, so it wins the
	// tie: the last event books the rest.
	if ev := h.eventVolumes("remove_waste"); !floatsEqual(ev, []float64{0.5, 0.5, 0.5}) || got != 1.5 {
		t.Errorf("events %v, returned %v; want [0.5 0.5 0.5] and 1.5", ev, got)
	}
}

func TestPumpStopsWhenContextEnds(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	h.clk.At(epoch.Add(700*time.Millisecond), cancel)
	got, err := h.pump(ctx, PumpRequest{ML: ptr(10)})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-0.7) > 1e-9 {
		t.Errorf("returned %v, want 0.7", got)
	}
	if tr := h.reactor.DutyTrace(); tr[len(tr)-1].Duty != 0 || tr[len(tr)-1].At != epoch.Add(700*time.Millisecond) {
		t.Errorf("pump not off at the cancel: %+v", tr)
	}
}

func TestStopAllPumps(t *testing.T) {
	h := newHarness(t)
	h.clk.At(epoch.Add(time.Second), h.env.StopAllPumps)
	got, _ := h.pump(context.Background(), PumpRequest{Device: "waste", Continuously: true})
	if got != 1 {
		t.Errorf("returned %v, want 1 (stopped after 1 s)", got)
	}
}

func TestPumpRejectsBadRequests(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		req  PumpRequest
	}{
		{"no mode", PumpRequest{}},
		{"two modes", PumpRequest{ML: ptr(1), Duration: ptr(1)}},
		{"ml and continuously", PumpRequest{ML: ptr(1), Continuously: true}},
		{"negative ml", PumpRequest{ML: ptr(-1)}},
		{"negative duration", PumpRequest{Duration: ptr(-1)}},
		{"NaN ml", PumpRequest{ML: &nan}},
		{"infinite ml", PumpRequest{ML: &inf}},
		{"unwired device", PumpRequest{Device: "vinegar", ML: ptr(1)}},
	}
	for _, tt := range tests {
		h := newHarness(t)
		if _, err := h.pump(context.Background(), tt.req); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
		if n := len(h.reactor.DutyTrace()); n != 0 {
			t.Errorf("%s: the pump moved", tt.name)
		}
	}
}

func TestPumpNeedsCalibrationOnRealHardware(t *testing.T) {
	h := newHarness(t)
	h.env.Board = notSimulated{h.reactor}
	_, err := h.pump(context.Background(), PumpRequest{ML: ptr(1)})
	var ce *CalibrationError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a CalibrationError", err)
	}
	if want := "pio calibrations set --device media_pump"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the fixing command %q", err, want)
	}
	// By duration it runs, on upstream's placeholder calibration.
	if got, err := h.pump(context.Background(), PumpRequest{Duration: ptr(1)}); err != nil || math.Abs(got-0.0911) > 1e-12 {
		t.Errorf("by duration: %v, %v; want 0.0911 mL", got, err)
	}
	// An active calibration makes mL work.
	h.env.Calibrations = calibration.Store{Dir: t.TempDir()}
	if err := h.env.Calibrations.Save(calibration.Pump{Name: "c1", Device: "media_pump", Slope: 0.5, Hz: 250, DC: 100}); err != nil {
		t.Fatal(err)
	}
	if got, err := h.pump(context.Background(), PumpRequest{ML: ptr(1)}); err != nil || got != 1 {
		t.Errorf("with a calibration: %v, %v", got, err)
	}
}

func TestPumpBusyChannel(t *testing.T) {
	h := newHarness(t)
	out, err := h.reactor.Open(2, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := h.pump(context.Background(), PumpRequest{ML: ptr(1)}); err == nil {
		t.Error("a pump ran on a channel that is in use")
	}
}

func TestPumpPublishesPWMDutiesRetained(t *testing.T) {
	h := newHarness(t)
	if _, err := h.pump(context.Background(), PumpRequest{Device: "waste", Duration: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	const dc = "pioreactor/unit1/exp1/pwms/dc"
	got := h.published(dc)
	if len(got) != 2 || string(got[0].Payload) != `{"12": 60.0}` || string(got[1].Payload) != `{}` || !got[0].Retained || got[0].QoS != 0 {
		t.Fatalf("pwms/dc messages %v, want {\"12\": 60.0} then {} (GPIO pin of channel 4), retained, QoS 0", got)
	}
	if m, ok := h.broker.Retained(dc); !ok || string(m.Payload) != "{}" {
		t.Errorf("retained pwms/dc %q, want {}", m.Payload)
	}
}
