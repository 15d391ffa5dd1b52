package stirring

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMeasuredRPMPublished(t *testing.T) {
	h := newHarness(t, true) // initial_duty_cycle 30: 500 RPM at once
	h.start(Options{})
	if got := h.last("target_rpm"); got != "500.0" {
		t.Errorf("target_rpm = %q; want 500.0", got)
	}
	if h.board.opened != 1 {
		t.Errorf("opened PWM channel %d; want 1 ([PWM] 1=stirring)", h.board.opened)
	}
	h.until(time.Minute)
	m := h.measured()
	if len(m) < 2 {
		t.Fatalf("measured_rpm published %d times in a minute; want at least 2 (after 6 s, then every 23 s)", len(m))
	}
	for _, v := range m {
		if v != 500 {
			t.Errorf("measured_rpm %v; want 500", v)
		}
	}
	if got := h.last("duty_cycle"); got != "30.0" {
		t.Errorf("duty_cycle = %q; want 30.0", got)
	}
	if len(h.rec.Payloads("pioreactor/unit1/exp1/pid_log/rpm")) == 0 {
		t.Error("no pid_log/rpm published")
	}
	h.stop()
	h.assertOff()
}

func TestStartKicksFromZero(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{})
	h.until(2 * time.Second)
	if got := h.board.dutyAtTime(epoch); got != 100 {
		t.Errorf("duty at start = %v; want 100 (the kick)", got)
	}
	if got := h.board.dutyAtTime(epoch.Add(400 * time.Millisecond)); got != 100 {
		t.Errorf("duty at 0.4 s = %v; want 100", got)
	}
	if got := h.board.dutyAtTime(epoch.Add(600 * time.Millisecond)); got != 30 {
		t.Errorf("duty at 0.6 s = %v; want 30", got)
	}
	h.stop()
}

func TestConvergesToTarget(t *testing.T) {
	h := newHarness(t, true, "stirring.config initial_duty_cycle 15", "stirring.pid Kp 0.007")
	h.start(Options{})
	h.until(30 * time.Minute)
	m := h.measured()
	if len(m) < 50 {
		t.Fatalf("%d measurements in 30 min; want about 78", len(m))
	}
	if m[0] > 300 {
		t.Errorf("first measurement %v; want about 200 (duty 15)", m[0])
	}
	if last := m[len(m)-1]; math.Abs(last-500) > 10 {
		t.Errorf("measured_rpm after 30 min = %v; want 500 ± 10", last)
	}
	if d := h.board.duty(); math.Abs(d-30) > 0.5 {
		t.Errorf("duty after 30 min = %v; want about 30 (500 RPM)", d)
	}
	h.stop()
	h.assertOff()
}

func TestNoRPMSensor(t *testing.T) {
	h := newHarness(t, false)
	h.start(Options{DutyCycle: fptr(40)})
	h.until(time.Minute)
	if p := h.rec.Payloads(h.topic("measured_rpm")); len(p) != 0 {
		t.Errorf("measured_rpm published without a sensor: %v", p)
	}
	if p := h.rec.Payloads(h.topic("target_rpm")); len(p) != 0 {
		t.Errorf("target_rpm published without a sensor: %v", p)
	}
	if d := h.board.duty(); d != 40 {
		t.Errorf("duty = %v; want 40", d)
	}
	h.send(h.topic("target_rpm/set"), "300")
	if !h.rec.Logged("ERROR", "no RPM sensor") {
		t.Errorf("a target without a sensor was not refused: %v", h.rec.Logs())
	}
	h.send(h.topic("duty_cycle/set"), "55")
	h.until(2 * time.Minute)
	if d := h.board.duty(); d != 55 {
		t.Errorf("duty after /set 55 = %v; want 55", d)
	}
	h.stop()
	h.assertOff()
}

func TestUseRPMWithoutSensorIsAnError(t *testing.T) {
	for _, o := range []Options{{UseRPM: bptr(true)}, {MeasureRPMOnly: true}} {
		h := newHarness(t, false)
		_, err := Start(h.env, o)
		if err == nil || !strings.Contains(err.Error(), "fake board has no RPM sensor") {
			t.Errorf("Start(%+v) on a board without sensors: %v; want an error naming the missing RPM sensor", o, err)
		}
	}
}

func TestUseRPMFalseIgnoresTheSensor(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{UseRPM: bptr(false)})
	h.until(time.Minute)
	if len(h.measured()) != 0 || h.last("target_rpm") != "" {
		t.Error("use_rpm false still measures or targets")
	}
	h.stop()
}

func TestMeasureRPMOnly(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{MeasureRPMOnly: true, DutyCycle: fptr(100)})
	h.until(time.Minute)
	if got := h.last("target_rpm"); got != "" {
		t.Errorf("target_rpm = %q; want none", got)
	}
	m := h.measured()
	if len(m) == 0 || m[len(m)-1] != 1900 {
		t.Errorf("measured %v; want 1900 (duty 100)", m)
	}
	if d := h.board.duty(); d != 100 {
		t.Errorf("duty = %v; want 100 (unchanged)", d)
	}
	h.stop()
}

func TestSleepAndWake(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{})
	h.until(time.Minute)
	h.send(h.topic("$state/set"), "sleeping")
	if d := h.board.duty(); d != 0 {
		t.Errorf("duty while sleeping = %v; want 0", d)
	}
	if got := h.last("duty_cycle"); got != "0.0" {
		t.Errorf("duty_cycle while sleeping = %q; want 0.0", got)
	}
	if m := h.measured(); m[len(m)-1] != 0 {
		t.Errorf("measured_rpm on sleep = %v; want 0", m[len(m)-1])
	}
	n := len(h.measured())
	h.until(3 * time.Minute)
	if len(h.measured()) != n {
		t.Error("measured_rpm published while sleeping")
	}
	if d := h.board.duty(); d != 0 {
		t.Errorf("duty after 2 min of sleep = %v; want 0", d)
	}
	h.send(h.topic("$state/set"), "ready")
	wake := h.clk.Now()
	h.until(4 * time.Minute)
	if got := h.board.dutyAtTime(wake.Add(100 * time.Millisecond)); got != 100 {
		t.Errorf("duty just after waking = %v; want 100 (the kick)", got)
	}
	if d := h.board.duty(); d != 30 {
		t.Errorf("duty after waking = %v; want 30, as before sleeping", d)
	}
	if m := h.measured(); m[len(m)-1] != 500 {
		t.Errorf("measured after waking = %v; want 500", m[len(m)-1])
	}
	h.stop()
	h.assertOff()
}

func TestSetTargetRPM(t *testing.T) {
	h := newHarness(t, true, "stirring.pid Kp 0.01")
	h.start(Options{})
	h.until(time.Minute)
	h.send(h.topic("target_rpm/set"), "700")
	if got := h.last("target_rpm"); got != "700.0" {
		t.Errorf("target_rpm = %q; want 700.0", got)
	}
	h.until(30 * time.Minute)
	if m := h.measured(); math.Abs(m[len(m)-1]-700) > 10 {
		t.Errorf("measured after /set 700 = %v; want 700 ± 10", m[len(m)-1])
	}
	for _, bad := range []struct{ payload, log string }{
		{"-5", "target_rpm -5 is below 0"},
		{"abc", `want a number, got "abc"`},
		{"nan", "want a finite number"},
	} {
		h.send(h.topic("target_rpm/set"), bad.payload)
		if !h.rec.Logged("ERROR", bad.log) {
			t.Errorf("/set target_rpm %s: no error containing %q in %v", bad.payload, bad.log, h.rec.Logs())
		}
		if got := h.last("target_rpm"); got != "700.0" {
			t.Errorf("target_rpm after /set %s = %q; want 700.0 (unchanged)", bad.payload, got)
		}
	}
	h.send(h.topic("target_rpm/set"), "6000")
	if got := h.last("target_rpm"); got != "5000.0" {
		t.Errorf("target_rpm after /set 6000 = %q; want 5000.0 (clamped)", got)
	}
	if !h.rec.Logged("WARNING", "above the maximum 5000") {
		t.Error("no warning for a target above 5000")
	}
	h.send(h.topic("duty_cycle/set"), "101")
	if !h.rec.Logged("ERROR", "duty_cycle 101 is outside 0 to 100") {
		t.Errorf("/set duty_cycle 101 not refused: %v", h.rec.Logs())
	}
	h.stop()
	h.assertOff()
}

func TestSetTargetFromZeroKicks(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{})
	h.until(time.Minute)
	h.send(h.topic("target_rpm/set"), "0")
	h.until(2 * time.Minute)
	if d := h.board.duty(); d != 0 {
		t.Errorf("duty at target 0 = %v; want 0", d)
	}
	h.send(h.topic("target_rpm/set"), "500")
	at := h.clk.Now()
	h.until(3 * time.Minute)
	if got := h.board.dutyAtTime(at.Add(300 * time.Millisecond)); got != 100 {
		t.Errorf("duty 0.3 s after a target from 0 = %v; want 100 (the 0.35 s kick)", got)
	}
	if got := h.board.dutyAtTime(at.Add(time.Second)); got != 30 {
		t.Errorf("duty 1 s after = %v; want 30 (the last estimate)", got)
	}
	h.stop()
}

func TestSetTargetWhileSleepingOnlyChangesTheEstimate(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{})
	h.until(time.Minute)
	h.send(h.topic("$state/set"), "sleeping")
	n := len(h.board.history)
	h.send(h.topic("target_rpm/set"), "750")
	h.until(2 * time.Minute)
	if len(h.board.history) != n || h.board.duty() != 0 {
		t.Errorf("a target while sleeping wrote the duty: %v", h.board.history[n:])
	}
	if got := h.last("target_rpm"); got != "750.0" {
		t.Errorf("target_rpm = %q; want 750.0", got)
	}
	h.stop()
}

func TestStallIsKicked(t *testing.T) {
	h := newHarness(t, true)
	h.board.stalled = true
	h.start(Options{})
	h.until(10 * time.Second)
	if !h.rec.Logged("WARNING", "Stirring RPM is 0") {
		t.Fatalf("no stall warning: %v", h.rec.Logs())
	}
	if p := h.rec.Payloads("pioreactor/unit1/exp1/monitor/flicker_led_with_error_code"); len(p) == 0 || p[0] != "4" {
		t.Errorf("error code payloads %v; want 4", p)
	}
	// The first poll starts 6 s after the 0.5 s start kick and lasts 1.2 s;
	// then 0 %, 100 %, and
	// min(1.01·30, 60) = 30.3.
	kick := epoch.Add(6500*time.Millisecond + 1200*time.Millisecond)
	// The PID's update with the 0 measured follows at once: 30 + 0.005·500.
	var got []dutyAt
	for _, d := range h.board.history {
		if !d.at.Before(kick) {
			got = append(got, d)
		}
	}
	want := []dutyAt{{kick, 0}, {kick.Add(750 * time.Millisecond), 100}, {kick.Add(1500 * time.Millisecond), 30.3}, {kick.Add(1500 * time.Millisecond), 32.5}}
	if len(got) < len(want) {
		t.Fatalf("duties from the kick on: %v; want %v first", got, want)
	}
	for i, w := range want {
		if !got[i].at.Equal(w.at) || got[i].duty != w.duty {
			t.Errorf("duty %d of the kick: %v at %v; want %v at %v", i, got[i].duty, got[i].at.Sub(kick), w.duty, w.at.Sub(kick))
		}
	}
	h.stop()
	h.assertOff()
}

func TestRunEndsOnDisconnect(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{})
	h.until(7 * time.Second) // in the middle of a poll
	h.send(h.topic("$state/set"), "disconnected")
	h.until(8 * time.Second)
	h.assertOff()
	if h.err != nil {
		t.Errorf("Run: %v", h.err)
	}
	if got := h.last("target_rpm"); got != "" {
		t.Errorf("target_rpm after disconnect = %q; want cleared", got)
	}
}

func TestRunEndsOnCancelDuringTheKick(t *testing.T) {
	h := newHarness(t, true)
	h.start(Options{})
	if d := h.board.duty(); d != 100 {
		t.Fatalf("duty at start = %v; want 100", d)
	}
	h.stop()
	h.assertOff()
}

func TestRunOnAJobAlreadyDisconnected(t *testing.T) {
	h := newHarness(t, true)
	j, err := Start(h.env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.send(h.topic("$state/set"), "disconnected")
	h.job = j
	h.clk.Go("run", func() { h.err = j.Run(t.Context()); h.ran = true })
	h.until(time.Minute)
	h.assertOff()
}

func TestStartErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		o     Options
		want  string
	}{
		{"target above 5000", nil, Options{TargetRPM: fptr(6000)}, "stirring: target_rpm 6000 is above the maximum 5000"},
		{"negative target", nil, Options{TargetRPM: fptr(-1)}, "stirring: target_rpm -1 is below 0"},
		{"duty above 100", nil, Options{DutyCycle: fptr(120)}, "stirring: duty_cycle 120 is outside 0 to 100"},
		{"no stirring channel", []string{"PWM 1 "}, Options{}, "no [PWM] channel is labelled stirring"},
		{"bad config", []string{"stirring.config pwm_hz -3"}, Options{}, "pwm_hz"},
		{"measure only without RPM", nil, Options{MeasureRPMOnly: true, UseRPM: bptr(false)}, "measure_rpm_only needs the RPM sensor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, true, tc.lines...)
			_, err := Start(h.env, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start: %v; want an error containing %q", err, tc.want)
			}
			if p := h.rec.Payloads(h.topic("$state")); len(p) > 0 && tc.name != "no stirring channel" {
				t.Errorf("a refused start published $state %v", p)
			}
		})
	}
}
