package simulate

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
)

func summaryText(s *Summary) string {
	var b strings.Builder
	s.Print(&b)
	return b.String()
}

func TestAFailingScriptIsAnError(t *testing.T) {
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/fails.star", For: 24 * time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err) // the simulation itself ran
	}
	if s.Errors != 48 {
		t.Fatalf("errors %d, want 48 (every 30 min for 24 h)", s.Errors)
	}
	want := "the script failed 48 times in 24h of simulated time (first at 0h00m02s: fails.star:6:11: floating-point division by zero)"
	if e := s.Err(); e == nil || e.Error() != want {
		t.Fatalf("Err() = %v\nwant %s", e, want)
	}
	if len(s.Failures) != 5 || s.Failures[1].At != 30*time.Minute+2*time.Second {
		t.Errorf("failures %+v", s.Failures)
	}
	if out := summaryText(s); !strings.Contains(out, "failed at 0h00m02s, 0h30m02s, 1h00m02s, 1h30m02s, 2h00m02s, ...: fails.star:6:11") {
		t.Errorf("summary:\n%s", out)
	}
	ok, _ := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: time.Hour, Seed: 1})
	if ok.Err() != nil {
		t.Errorf("a script that never failed: %v", ok.Err())
	}
	one, _ := Run(context.Background(), Options{Alone: true, Script: "testdata/fails.star", For: 10 * time.Minute, Seed: 1})
	if e := one.Err(); e == nil || !strings.HasPrefix(e.Error(), "the script failed 1 time in 10m of simulated time") {
		t.Errorf("Err() = %v", e)
	}
}

func TestEveryPumpRunIsCounted(t *testing.T) {
	// add_media outside execute_io_action: 21 runs of 1 mL, then a 22nd cut
	// short at max fill (36 mL), when the automation falls asleep.
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/feed_until_full.star", For: 24 * time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pumps) != 1 {
		t.Fatalf("pumps %+v", s.Pumps)
	}
	p := s.Pumps[0]
	if p.Action != "add_media" || p.Device != "media" || p.Event != "add_media" || p.Runs != 22 || math.Abs(p.BookedML-21.75) > 1e-9 {
		t.Errorf("add_media %+v", p)
	}
	if p.Calibration != "simulated" || p.CalibratedSlope != 0.5 {
		t.Errorf("calibration %q %v", p.Calibration, p.CalibratedSlope)
	}
	// The true flow of the media pump is the reactor's, not the calibration.
	if f := p.TrueMLPerSecond(); math.Abs(f-p.PumpedML/p.OnSeconds) > 1e-12 || f == 0.5 || math.Abs(f-0.5) > 0.05 {
		t.Errorf("true flow %v", f)
	}
	if math.Abs(p.OnSeconds*0.5-21.75) > 1e-6 {
		t.Errorf("on for %v s, want 43.5 s (21.75 mL at the calibrated 0.5 mL/s)", p.OnSeconds)
	}
	if s.IOActions != (IOActions{}) || s.Doses != 0 {
		t.Errorf("io actions %+v, doses %d", s.IOActions, s.Doses)
	}
	out := summaryText(s)
	for _, want := range []string{
		"execute_io_action calls: 0 started, 0 completed, 0 failed",
		"  add_media    22 runs  booked    21.750 mL  pumped    21.356 mL at 0.4909 mL/s (calibration simulated: 0.5000 mL/s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestExecuteIOActionCallsStartedAndFailed(t *testing.T) {
	// Odd runs complete; even runs ask for too little waste and fail.
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/too_little_waste.star", For: 2 * time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := (IOActions{Started: 4, Completed: 2, Failed: 2}); s.IOActions != want || s.Doses != 2 || s.Errors != 2 {
		t.Errorf("io actions %+v (want %+v), doses %d, errors %d", s.IOActions, want, s.Doses, s.Errors)
	}
	if out := summaryText(s); !strings.Contains(out, "script errors: 2   execute_io_action calls: 4 started, 2 completed, 2 failed") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestAnExecuteIOActionCutByTheEndIsInterrupted(t *testing.T) {
	// The chemostat's first call starts at 2 s; 3 s in, its media pump runs.
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 3 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := (IOActions{Started: 1, Interrupted: 1}); s.IOActions != want {
		t.Errorf("io actions %+v, want %+v", s.IOActions, want)
	}
}

func TestTimeInEachState(t *testing.T) {
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/feed_until_full.star", For: 24 * time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	got := map[string]time.Duration{}
	for _, st := range s.States {
		got[st.State] = st.Time
		total += st.Time
	}
	if total != 24*time.Hour {
		t.Errorf("states add up to %v: %+v", total, s.States)
	}
	// Asleep from the overflow stop at 10h30m03s to the end.
	if len(s.Sleeps) != 1 || s.Sleeps[0].At.Truncate(time.Second) != 10*time.Hour+30*time.Minute+3*time.Second ||
		!strings.HasPrefix(s.Sleeps[0].Reason, "Pausing all pumping since the vial is calculated to have a volume of 36.0 mL") {
		t.Fatalf("sleeps %+v", s.Sleeps)
	}
	if want := 24*time.Hour - s.Sleeps[0].At; got["sleeping"] != want || got["ready"] != s.Sleeps[0].At {
		t.Errorf("states %+v, want sleeping %v", s.States, want)
	}
	out := summaryText(s)
	for _, want := range []string{
		"automation time in each state: ready 10h30m03s, sleeping 13h29m57s; final state: disconnected",
		"  asleep from 10h30m03s: Pausing all pumping since",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestModelAndVialDifferenceIsExplained(t *testing.T) {
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/feed_until_full.star", For: 24 * time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	model, vial := s.Model.CurrentVolumeML, s.Reactor.VolumeML
	start, inflow, spilled, rest := s.Liquid.Terms(model, vial)
	if math.Abs(vial-model-(start+inflow+spilled+rest)) > 1e-9 {
		t.Fatal("the terms do not add up to the difference")
	}
	// No waste, no spill: all of the difference is the media pump's true
	// flow against its calibration.
	if math.Abs(inflow-(vial-model)) > 1e-9 || math.Abs(rest) > 1e-9 || start != 0 || spilled != 0 {
		t.Errorf("terms start %v inflow %v spilled %v rest %v; vial %v model %v", start, inflow, spilled, rest, vial, model)
	}
	out := summaryText(s)
	for _, want := range []string{
		"  the vial holds 0.394 mL less than the model (nothing evaporates in the simulation):",
		"    -0.394 mL  the inflow pumps truly moved 21.356 mL where 21.750 mL was booked",
		"[simulation] pump_flow_spread = 0.02 around pump_ml_per_second = 0.5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// With no spread the pumps move what their calibration says.
	cfg := config.New()
	cfg.Set("simulation", "pump_flow_spread", "0")
	s, err = Run(context.Background(), Options{Alone: true, Script: "testdata/feed_until_full.star", For: 24 * time.Hour, Seed: 1, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if out := summaryText(s); !strings.Contains(out, "the vial and the model agree on the volume") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestWasteAndSpillAreExplained(t *testing.T) {
	// A small vial that the chemostat's waste keeps at the efflux tube: the
	// media pump's error is taken away again by the waste pump.
	s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/chemostat.star", For: 24 * time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, inflow, _, rest := s.Liquid.Terms(s.Model.CurrentVolumeML, s.Reactor.VolumeML)
	if math.Abs(inflow) < 0.1 || math.Abs(inflow+rest) > 0.01 {
		t.Errorf("inflow %v, rest %v: the waste should take the media pump's error away", inflow, rest)
	}
	if out := summaryText(s); !strings.Contains(out, "  remove_waste   144 runs  booked   216.000 mL") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestACustomJobsSummarySpeaksOfAJob(t *testing.T) {
	s, err := Run(context.Background(), Options{Script: "../scripts/examples/culture_watch.star", For: time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := summaryText(s)
	for _, bad := range []string{"execute_io_action", "automation time in each state"} {
		if strings.Contains(out, bad) {
			t.Errorf("a custom job's summary speaks of %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"script errors: 0\n", "custom job culture_watch, time in each state: ready"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
