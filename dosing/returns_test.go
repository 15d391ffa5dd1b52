package dosing

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// returnsProgram's add_acid_to_bioreactor runs the acid pump for what it is
// asked (or not), then returns what ret says.
type returnsProgram struct {
	fakeProgram
	pump bool
	ret  func(asked, pumped float64) (float64, error)
}

func (p *returnsProgram) PumpFunc(a *Automation, name string) (PumpFunc, bool) {
	if name != "acid" {
		return nil, false
	}
	return func(ctx context.Context, ml float64) (float64, error) {
		pumped := 0.0
		if p.pump {
			var err error
			if pumped, err = a.Pump(ctx, "salty_media", &ml, nil); err != nil {
				return pumped, err
			}
		}
		return p.ret(ml, pumped)
	}, true
}

// The rules of a pump function's return value, with the volume the liquid
// model books (by dosing events) and the waste that follows.
func TestPumpFunctionReturnRules(t *testing.T) {
	tests := []struct {
		name      string
		pump      bool
		ret       func(asked, pumped float64) (float64, error)
		wantErr   string
		wantAcid  float64 // mL booked as acid (its pumps' events + the rest)
		wantWaste float64 // mL of waste reported
	}{
		{"returns what it moved", true, func(a, p float64) (float64, error) { return p, nil }, "", 1, 1},
		{"returns None after pumping", true, func(a, p float64) (float64, error) { return 0, ErrReturnedNone }, "", 1, 1},
		{"an external pump returns the volume", false, func(a, p float64) (float64, error) { return a, nil }, "", 1, 1},
		{"claims ten times what it moved", false, func(a, p float64) (float64, error) { return 10 * a, nil }, "returned 10.0 mL when it was asked for 1.0 mL", 0, 0},
		{"claims more after pumping", true, func(a, p float64) (float64, error) { return 10 * a, nil }, "only the 1.0 mL its pumps reported is booked", 1, 1},
		{"returns NaN", false, func(a, p float64) (float64, error) { return math.NaN(), nil }, "must return the mL it moved", 0, 0},
		{"fails after pumping", true, func(a, p float64) (float64, error) { return 0, errors.New("valve stuck") }, "valve stuck", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if _, err := runtime.StartMonitor(h.env); err != nil {
				t.Fatal(err)
			}
			a := h.start(&returnsProgram{pump: tt.pump, ret: tt.ret})
			res, err := h.exec(a, 1, []payload.Dose{{Key: "acid_ml", ML: 1}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			acid := sum(h.eventVolumes("add_salty_media")) + sum(h.eventVolumes("add_acid"))
			if math.Abs(acid-tt.wantAcid) > 1e-9 {
				t.Errorf("booked %v mL of acid, want %v", acid, tt.wantAcid)
			}
			if got := sum(h.eventVolumes("remove_waste")); math.Abs(got-tt.wantWaste*3) > 1e-9 {
				t.Errorf("removed %v mL of waste, want %v (what went in, and the extra waste)", got, tt.wantWaste*3)
			}
			if err == nil && math.Abs(res.Get("acid_ml")-tt.wantAcid) > 1e-9 {
				t.Errorf("execute_io_action reported %v mL of acid, want %v", res.Get("acid_ml"), tt.wantAcid)
			}
		})
	}
}

// unwiredProgram's acid function drives a pump that has no PWM channel.
type unwiredProgram struct{ fakeProgram }

func (p *unwiredProgram) PumpFunc(a *Automation, name string) (PumpFunc, bool) {
	if name != "acid" {
		return nil, false
	}
	return func(ctx context.Context, ml float64) (float64, error) {
		return a.Pump(ctx, "vinegar", &ml, nil)
	}, true
}

// An extra pump with no [PWM] channel fails after media went in: the waste
// for that media is still removed, every run, so the vial does not fill.
func TestFailedDoseStillRemovesWaste(t *testing.T) {
	h := newHarness(t)
	if _, err := runtime.StartMonitor(h.env); err != nil {
		t.Fatal(err)
	}
	a := h.start(&unwiredProgram{})
	for run := 0; run < 3; run++ {
		_, err := h.exec(a, 2, []payload.Dose{{Key: "media_ml", ML: 1}, {Key: "acid_ml", ML: 1}})
		if err == nil || !strings.Contains(err.Error(), `no PWM channel is assigned to "vinegar"`) {
			t.Fatalf("run %d: error %v", run, err)
		}
	}
	// max_subdose 1 splits each run in halves; the first half fails after
	// 0.5 mL of media, and the second never runs.
	if got := sum(h.eventVolumes("add_media")); math.Abs(got-1.5) > 1e-9 {
		t.Errorf("media %v mL, want 1.5", got)
	}
	if got := sum(h.eventVolumes("remove_waste")); math.Abs(got-4.5) > 1e-9 {
		t.Errorf("waste %v mL, want 4.5 (0.5 mL a run and twice that extra)", got)
	}
	if v := a.CurrentVolume(); math.Abs(v-14) > 1e-9 {
		t.Errorf("volume %v mL after three failed runs, want 14", v)
	}
	if !h.logged("WARNING", "execute_io_action failed after 0.5 mL went in") {
		t.Error("no warning about the failed dose and its waste")
	}
}

// A pump an automation asks for beyond the dose limits is refused before its
// action announces itself: no $state, no event.
func TestRefusedAutomationPumpPublishesNothing(t *testing.T) {
	h := newHarness(t)
	huge := func(ctx context.Context, a *Automation) (*payload.Event, error) {
		_, err := a.Pump(ctx, "media", ptr(1e10), nil)
		return nil, err
	}
	a := h.start(&fakeProgram{exec: huge})
	if err := h.run(a, context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.Errors != 1 || !h.logged("ERROR", "ml=10000000000.0 is more than one dose may move") {
		t.Errorf("errors %d; want the refusal logged once", a.Errors)
	}
	if got := h.payloads("pioreactor/unit1/exp1/add_media/$state"); len(got) != 0 {
		t.Errorf("add_media/$state %v for a refused pump, want nothing", got)
	}
	if len(h.dosingEvents()) != 0 {
		t.Error("a refused pump published dosing events")
	}
}
