package stirring

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// odReading announces a running od_reading: readings every interval from
// first, as od_reading's retained topics say.
func (h *harness) odReading(first time.Time, interval float64) {
	od := "pioreactor/unit1/exp1/od_reading/"
	h.retain(od+"$state", "ready")
	h.retain(od+"interval", strconv.FormatFloat(interval, 'f', -1, 64))
	h.retain(od+"first_od_obs_time", strconv.FormatFloat(float64(first.UnixNano())/1e9, 'f', -1, 64))
}

func TestDodgingAroundODReadings(t *testing.T) {
	h := newHarness(t, true, "stirring.config pre_delay_duration 0.25", "stirring.config post_delay_duration 0.25")
	first := epoch.Add(10 * time.Second)
	h.odReading(first, 5)
	h.start(Options{EnableDodgingOD: bptr(true)})
	if got := h.last("currently_dodging_od"); got != "True" {
		t.Errorf("currently_dodging_od = %q; want True", got)
	}
	if got := h.last("target_rpm_during_od_reading"); got != "0.0" {
		t.Errorf("target_rpm_during_od_reading = %q; want 0.0", got)
	}
	if got := h.last("target_rpm_outside_od_reading"); got != "500.0" {
		t.Errorf("target_rpm_outside_od_reading = %q; want 500.0", got)
	}
	h.until(2 * time.Minute)
	if h.ran {
		t.Fatalf("Run ended: %v", h.err)
	}
	for k := 2; k < 20; k++ {
		reading := first.Add(time.Duration(k) * 5 * time.Second)
		for _, d := range []time.Duration{-200 * time.Millisecond, 0, 900 * time.Millisecond} {
			if got := h.board.dutyAtTime(reading.Add(d)); got != 0 {
				t.Errorf("reading %d: duty %v from the reading = %v; want 0", k, d, got)
			}
		}
		if got := h.board.dutyAtTime(reading.Add(3 * time.Second)); got < 25 {
			t.Errorf("reading %d: duty 3 s after = %v; want the stirrer on (about 30)", k, got)
		}
	}
	var seen500 bool
	for _, v := range h.measured() {
		seen500 = seen500 || v == 500
	}
	if !seen500 {
		t.Errorf("no measurement at 500 RPM between readings: %v", h.measured())
	}

	// Disabled: the stirrer runs through the readings.
	h.send(h.topic("enable_dodging_od/set"), "false")
	h.until(4 * time.Minute)
	if got := h.last("currently_dodging_od"); got != "False" {
		t.Errorf("currently_dodging_od after disabling = %q; want False", got)
	}
	if got := h.last("target_rpm_during_od_reading"); got != "" {
		t.Errorf("target_rpm_during_od_reading after disabling = %q; want cleared", got)
	}
	for k := 40; k < 45; k++ {
		if got := h.board.dutyAtTime(first.Add(time.Duration(k) * 5 * time.Second)); got < 25 {
			t.Errorf("dodging disabled: duty at reading %d = %v; want about 30", k, got)
		}
	}

	// Enabled again, then od_reading stops: back to continuous.
	h.send(h.topic("enable_dodging_od/set"), "true")
	h.until(5 * time.Minute)
	if got := h.last("currently_dodging_od"); got != "True" {
		t.Errorf("currently_dodging_od after enabling = %q; want True", got)
	}
	h.retain("pioreactor/unit1/exp1/od_reading/$state", "disconnected")
	h.until(6 * time.Minute)
	if got := h.last("currently_dodging_od"); got != "False" {
		t.Errorf("currently_dodging_od after od_reading stopped = %q; want False", got)
	}
	for k := 64; k < 70; k++ {
		if got := h.board.dutyAtTime(first.Add(time.Duration(k) * 5 * time.Second)); got < 25 {
			t.Errorf("od_reading stopped: duty at %d = %v; want about 30", k, got)
		}
	}
	h.stop()
	h.assertOff()
}

func TestDodgingNeedsODReading(t *testing.T) {
	h := newHarness(t, true, "stirring.config pre_delay_duration 0.25", "stirring.config post_delay_duration 0.25")
	h.start(Options{EnableDodgingOD: bptr(true)})
	h.until(time.Minute)
	if got := h.last("currently_dodging_od"); got != "False" {
		t.Errorf("currently_dodging_od without od_reading = %q; want False", got)
	}
	if d := h.board.duty(); d != 30 {
		t.Errorf("duty without od_reading = %v; want 30", d)
	}
	h.stop()
}

func TestDodgingWithoutRPMSensorStopsAndRestarts(t *testing.T) {
	h := newHarness(t, false)
	first := epoch.Add(10 * time.Second)
	h.odReading(first, 10)
	h.start(Options{EnableDodgingOD: bptr(true)})
	h.until(2 * time.Minute)
	for k := 2; k < 10; k++ {
		reading := first.Add(time.Duration(k) * 10 * time.Second)
		if got := h.board.dutyAtTime(reading); got != 0 {
			t.Errorf("reading %d: duty %v; want 0", k, got)
		}
		if got := h.board.dutyAtTime(reading.Add(5 * time.Second)); got != 30 {
			t.Errorf("reading %d: duty 5 s after = %v; want 30", k, got)
		}
	}
	h.stop()
	h.assertOff()
}

func TestDodgingThatCannotFitEndsTheJob(t *testing.T) {
	// The shipped delays (1.5 s + 0.25 s) leave no time in a 5 s interval
	// for the after-reading action (a 0.35 s kick, 0.15 s, two 1.2 s polls).
	h := newHarness(t, true)
	h.odReading(epoch.Add(10*time.Second), 5)
	h.start(Options{EnableDodgingOD: bptr(true)})
	h.until(time.Minute)
	if !h.ran || h.err == nil || !strings.Contains(h.err.Error(), "dodging OD readings") {
		t.Fatalf("Run ended %v with %v; want a dodging timing error", h.ran, h.err)
	}
	h.assertOff()

	// Delays that cannot fit at all are refused when dodging starts.
	h = newHarness(t, true, "stirring.config pre_delay_duration 2", "stirring.config post_delay_duration 2")
	h.odReading(epoch.Add(10*time.Second), 5)
	h.start(Options{EnableDodgingOD: bptr(true)})
	h.until(time.Minute)
	if !h.ran || h.err == nil || !strings.Contains(h.err.Error(), "must be below od_reading's interval") {
		t.Fatalf("Run ended %v with %v; want the delays refused", h.ran, h.err)
	}
	h.assertOff()
}
