package simulate

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// Summary reports a finished simulation.
type Summary struct {
	Automation string
	// AutomationJob is the job the automation ran as (dosing_automation,
	// temperature_automation, led_automation).
	AutomationJob string
	Simulated     time.Duration
	Wall          time.Duration
	Messages      int
	// CustomJob is a script that declares job_name: it runs as its own
	// job and has no execute_io_action.
	CustomJob bool
	// Doses counts the execute_io_action calls that completed
	// (IOActions.Completed); every pump run is in Pumps.
	Doses int
	// Errors counts the runs of the script (execute(), a message handler)
	// that failed; Failures are the first 5, with their messages.
	Errors   int
	Failures []Failure
	// ErrorMessages are the automation's first 5 ERROR log lines: failures,
	// and stops such as an overflow.
	ErrorMessages []string
	IOActions     IOActions
	// Pumps are the pump runs, by action, and the volumes booked under each
	// dosing event; sorted by action, then event.
	Pumps []PumpRuns
	// EventML sums dosing_events volume_change per event name.
	EventML map[string]float64
	// States is the time the automation spent in each state, in the order
	// it first entered them; Sleeps are the times it fell asleep.
	States []StateTime
	Sleeps []Sleep
	// FinalState is the automation's last $state.
	FinalState string
	// Model is the liquid model at the end; Reactor, the simulated truth;
	// Liquid, what explains the difference.
	// Readings are the range of each reading the unit published (OD,
	// normalized OD, growth rate, temperature, volume, alt-media fraction).
	Readings []Range
	// Jobs is the time each job of the unit spent in each state.
	Jobs []JobTime
	// Series is the run's time series, if Options.Series asked for them.
	Series  *Series
	Model   liquid.State
	Reactor sim.State
	Liquid  LiquidCheck
}

// Failure is a failed run of the script: when, and its error.
type Failure struct {
	At      time.Duration // virtual time since the start
	Message string
}

// IOActions count execute_io_action calls: started, and of those, completed,
// failed (the call's error failed its run of the script) and interrupted
// (the job stopped, or the simulation ended, during the call).
type IOActions struct {
	Started, Completed, Failed, Interrupted int
}

// StateTime is the time spent in one state of the automation.
type StateTime struct {
	State string
	Time  time.Duration
}

// Sleep is a time the automation fell asleep, with the warning or error
// logged at that moment (an overflow stop), if any.
type Sleep struct {
	At     time.Duration
	Reason string
}

// PumpRuns are the runs of one pump, and the volume the liquid model was
// told of under its dosing event. A row with no Device is volume booked
// under an event no pump of that name ran for (a program pump function that
// ran another pump, or none).
type PumpRuns struct {
	Action string // add_media, add_alt_media, remove_waste, pump_<device>
	Device string // the [PWM] device
	Event  string // add_<device> or remove_waste
	// Runs is how often the pump was switched on; OnSeconds its time on,
	// weighted by duty (seconds at 100 %).
	Runs      int
	OnSeconds float64
	// BookedML is the dosing_events volume under Event: what the model counts.
	BookedML float64
	// PumpedML is what the simulated pump truly moved at its true flow: for
	// the waste pump, liquid and air (it takes only liquid above the efflux
	// tube).
	PumpedML float64
	// Calibration is the calibration the pump ran with (at the end).
	Calibration     string
	CalibratedSlope float64 // mL/s
}

// TrueMLPerSecond is the simulated pump's true flow at 100 % duty.
func (p PumpRuns) TrueMLPerSecond() float64 {
	if p.OnSeconds <= 0 {
		return 0
	}
	return p.PumpedML / p.OnSeconds
}

// LiquidCheck explains why the liquid model and the simulated vial differ.
// The model books the calibrated volume of every dosing event; the simulated
// pumps move their true flow, which differs from nominal by
// [simulation] pump_flow_spread (drawn per pump from the seed), so the vial
// drifts from the model as liquid goes in. The waste pump then takes only
// liquid above the efflux tube in both, the vial spills above its capacity,
// and nothing evaporates (the simulated reactor has no evaporation).
type LiquidCheck struct {
	ModelStart, VialStart float64 // mL
	// InflowBookedML sums the add_* dosing events; InflowPumpedML what the
	// simulated inflow pumps truly moved.
	InflowBookedML, InflowPumpedML float64
	SpilledML                      float64 // over the vial's capacity
	// DroppedEvents the model refused; ModelSets, values set on the model
	// after dosing began (corrections by hand).
	DroppedEvents, ModelSets int
	EffluxML, CapacityML     float64
	PumpMLPerSecond          float64 // [simulation] pump_ml_per_second
	FlowSpread               float64 // [simulation] pump_flow_spread
}

// Terms splits vial − model into: the difference they started with; what
// the inflow pumps truly moved beyond what was booked; liquid spilled over
// the top (negative); and the rest, which is waste removal (the waste pump's
// true flow, the efflux tube), dropped events and corrections.
func (l LiquidCheck) Terms(model, vial float64) (start, inflow, spilled, rest float64) {
	start = l.VialStart - l.ModelStart
	inflow = l.InflowPumpedML - l.InflowBookedML
	spilled = -l.SpilledML
	rest = vial - model - start - inflow - spilled
	return
}

func (l *LiquidCheck) fill(s *Summary, o config.Options) {
	for e, ml := range s.EventML {
		if strings.HasPrefix(e, "add_") {
			l.InflowBookedML += ml
		}
	}
	for dev, ml := range s.Reactor.MovedML {
		if dev != "waste" {
			l.InflowPumpedML += ml
		}
	}
	l.SpilledML = s.Reactor.OverflowML
	l.EffluxML = o.Bioreactor.EffluxTubeVolumeML
	l.CapacityML = o.Bioreactor.Model.CapacityML
	l.PumpMLPerSecond = o.Simulation.PumpMLPerSecond
	l.FlowSpread = o.Simulation.PumpFlowSpread
}

// pumpRows joins the pump runs the reactor saw with the volumes booked on
// dosing_events: a device's row holds its own event's volume; events no
// pump of their name ran for get rows of their own.
func pumpRows(t *tally, s *Summary, env *runtime.Env) []PumpRuns {
	var rows []PumpRuns
	booked := map[string]bool{}
	for dev, p := range t.pumps {
		r := PumpRuns{Action: runtime.ActionName(dev), Device: dev, Event: runtime.EventName(dev),
			Runs: p.runs, OnSeconds: p.dutySecs, PumpedML: s.Reactor.MovedML[dev]}
		r.BookedML, booked[r.Event] = s.EventML[r.Event], true
		if cal, err := env.PumpCalibration(dev); err == nil {
			r.Calibration, r.CalibratedSlope = cal.Name, cal.Slope
		}
		rows = append(rows, r)
	}
	for e, ml := range s.EventML {
		if !booked[e] {
			rows = append(rows, PumpRuns{Event: e, BookedML: ml})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Action != rows[j].Action {
			return rows[i].Action < rows[j].Action
		}
		return rows[i].Event < rows[j].Event
	})
	return rows
}

// Err is the script's failures as one error, nil if it never failed:
// "the script failed 48 times in 24h of simulated time (first at 0h00m02s:
// bad.star:3:11: ...)".
func (s *Summary) Err() error {
	if s.Errors == 0 {
		return nil
	}
	times := "times"
	if s.Errors == 1 {
		times = "time"
	}
	first := ""
	if len(s.Failures) > 0 {
		f := s.Failures[0]
		first = fmt.Sprintf(" (first at %s: %s)", strings.TrimSpace(Elapsed(f.At)), f.Message)
	}
	return fmt.Errorf("the script failed %d %s in %s of simulated time%s", s.Errors, times, shortDuration(s.Simulated), first)
}

// shortDuration is d without zero minutes and seconds: 24h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Print writes the summary for people.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "simulated %v of %s in %v (%d MQTT messages)\n", s.Simulated, s.Automation, s.Wall.Round(time.Millisecond), s.Messages)
	io := s.IOActions
	fmt.Fprintf(w, "script errors: %d", s.Errors)
	if !s.CustomJob {
		fmt.Fprintf(w, "   execute_io_action calls: %d started, %d completed, %d failed", io.Started, io.Completed, io.Failed)
	}
	if io.Interrupted > 0 {
		fmt.Fprintf(w, ", %d interrupted", io.Interrupted)
	}
	fmt.Fprintln(w)
	s.printReadings(w)
	s.printPumps(w)
	s.printStates(w)
	s.printJobs(w, s.AutomationJob)
	s.printLiquid(w)
	shown := map[string]bool{}
	for _, sl := range s.Sleeps {
		shown[sl.Reason] = true
	}
	// Failures with the same message on one line, in order of first failure.
	var msgs []string
	at := map[string][]string{}
	for _, f := range s.Failures {
		if at[f.Message] == nil {
			msgs = append(msgs, f.Message)
		}
		at[f.Message] = append(at[f.Message], strings.TrimSpace(Elapsed(f.At)))
		shown[f.Message] = true
	}
	for _, m := range msgs {
		more := ""
		if len(msgs) == 1 && s.Errors > len(s.Failures) {
			more = ", ..."
		}
		fmt.Fprintf(w, "  failed at %s%s: %s\n", strings.Join(at[m], ", "), more, m)
	}
	for _, e := range s.ErrorMessages {
		if !shown[e] {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
	}
}

func (s *Summary) printPumps(w io.Writer) {
	if len(s.Pumps) == 0 {
		fmt.Fprintln(w, "pump runs: none")
		return
	}
	fmt.Fprintln(w, "pump runs, by action (booked: on dosing_events, what the liquid model counts; pumped: what the simulated pump truly moved):")
	width := 0
	for _, p := range s.Pumps {
		width = max(width, len(p.Action), len(p.Event))
	}
	for _, p := range s.Pumps {
		if p.Device == "" {
			fmt.Fprintf(w, "  %-*s  %8s  booked %9.3f mL  by a pump function, with no pump of this name\n", width, p.Event, "no runs", p.BookedML)
			continue
		}
		fmt.Fprintf(w, "  %-*s  %4d %s  booked %9.3f mL  pumped %9.3f mL", width, p.Action, p.Runs, plural(p.Runs, "run ", "runs"), p.BookedML, p.PumpedML)
		if f := p.TrueMLPerSecond(); f > 0 {
			fmt.Fprintf(w, " at %.4f mL/s", f)
			if p.Calibration != "" {
				fmt.Fprintf(w, " (calibration %s: %.4f mL/s)", p.Calibration, p.CalibratedSlope)
			}
		}
		fmt.Fprintln(w)
	}
}

// plural is one or many, by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (s *Summary) printStates(w io.Writer) {
	parts := stateParts(s.States)
	what := "automation"
	if s.CustomJob {
		what = "custom job " + s.AutomationJob + ","
	}
	fmt.Fprintf(w, "%s time in each state: %s; final state: %s\n", what, strings.Join(parts, ", "), s.FinalState)
	for i, sl := range s.Sleeps {
		if i == maxMessages {
			fmt.Fprintf(w, "  ... and %d more times asleep\n", len(s.Sleeps)-i)
			break
		}
		fmt.Fprintf(w, "  asleep from %s", strings.TrimSpace(Elapsed(sl.At)))
		if sl.Reason != "" {
			fmt.Fprintf(w, ": %s", sl.Reason)
		}
		fmt.Fprintln(w)
	}
}

// ml formats a signed volume difference.
func ml(v float64) string { return fmt.Sprintf("%+.3f mL", v) }

func (s *Summary) printLiquid(w io.Writer) {
	l := s.Liquid
	model, vial := s.Model.CurrentVolumeML, s.Reactor.VolumeML
	fmt.Fprintf(w, "liquid model: volume %.3f mL, alt-media fraction %.4f; simulated vial: %.3f mL, alt-media fraction %.4f, OD %.3f, growing at %.3f/h, %.2f °C\n",
		model, s.Model.AltMediaFraction, vial, s.Reactor.AltMediaFraction, s.Reactor.OD, s.Reactor.GrowthRate, s.Reactor.Celsius)
	if s.Reactor.OverflowML > 0 {
		fmt.Fprintf(w, "  the simulated vial OVERFLOWED: %.3f mL spilled over its %s mL\n", s.Reactor.OverflowML, payload.PyFloat(l.CapacityML))
	}
	const tiny = 0.0005
	diff := vial - model
	if math.Abs(diff) < tiny {
		fmt.Fprintln(w, "  the vial and the model agree on the volume (to 0.001 mL)")
	} else {
		more := "more"
		if diff < 0 {
			more = "less"
		}
		fmt.Fprintf(w, "  the vial holds %.3f mL %s than the model (nothing evaporates in the simulation):\n", math.Abs(diff), more)
		start, inflow, spilled, rest := l.Terms(model, vial)
		if math.Abs(start) >= tiny {
			fmt.Fprintf(w, "    %s  they started apart: model %.3f mL, vial %.3f mL\n", ml(start), l.ModelStart, l.VialStart)
		}
		if math.Abs(inflow) >= tiny {
			fmt.Fprintf(w, "    %s  the inflow pumps truly moved %.3f mL where %.3f mL was booked: a simulated pump's true flow differs from the calibration it doses by ([simulation] pump_flow_spread = %s around pump_ml_per_second = %s, drawn per pump from the seed)\n",
				ml(inflow), l.InflowPumpedML, l.InflowBookedML, payload.PyFloat(l.FlowSpread), payload.PyFloat(l.PumpMLPerSecond))
		}
		if math.Abs(spilled) >= tiny {
			fmt.Fprintf(w, "    %s  spilled over the top of the vial\n", ml(spilled))
		}
		if math.Abs(rest) >= tiny {
			fmt.Fprintf(w, "    %s  waste removal: the waste pump's true flow differs from its calibration, and it takes only liquid above the efflux tube (%s mL)", ml(rest), payload.PyFloat(l.EffluxML))
			if l.DroppedEvents > 0 {
				fmt.Fprintf(w, "; the model also dropped %d dosing %s (see the warnings)", l.DroppedEvents, plural(l.DroppedEvents, "event", "events"))
			}
			if l.ModelSets > 0 {
				fmt.Fprintf(w, "; the model's volume was also set %d %s after dosing began", l.ModelSets, plural(l.ModelSets, "time", "times"))
			}
			fmt.Fprintln(w)
		}
	}
	var others []string
	for e := range s.EventML {
		if strings.HasPrefix(e, "add_") && e != "add_media" && e != "add_alt_media" {
			others = append(others, e)
		}
	}
	if sort.Strings(others); len(others) > 0 && math.Abs(s.Model.AltMediaFraction-s.Reactor.AltMediaFraction) >= 0.0001 {
		fmt.Fprintf(w, "  the model's alt-media fraction, as upstream's, leaves out %s; in the vial they dilute the alt-media\n", strings.Join(others, ", "))
	}
}

// stateParts says how long each state lasted, in whole seconds that add up
// to the whole run: each state shows the difference of the truncated
// running totals.
func stateParts(states []StateTime) []string {
	parts := make([]string, 0, len(states))
	var total, shown time.Duration
	for _, st := range states {
		total += st.Time
		d := total.Truncate(time.Second) - shown
		shown += d
		if d > 0 {
			parts = append(parts, st.State+" "+strings.TrimSpace(Elapsed(d)))
		}
	}
	return parts
}
