package selftest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/pubsub"
)

// Channels of the default [PWM].
const (
	stirringCh = 1
	mediaCh    = 2
	heatingCh  = 5
)

func TestAFaultFailsExactlyItsCheck(t *testing.T) {
	tests := []struct {
		name  string
		board func(r *sim.Reactor) hw.Board
		fail  []string // the checks that fail
		want  string   // in the first failing check's message
	}{
		{"a heater that does nothing", func(r *sim.Reactor) hw.Board {
			return &faultBoard{Reactor: r, dead: map[int]bool{heatingCh: true}}
		}, []string{"heater"}, "the thermometer rose only"},
		{"a thermometer that errors", func(r *sim.Reactor) hw.Board {
			return &faultBoard{Reactor: r, thermometer: func(th hw.Thermometer) hw.Thermometer { return &brokenThermometer{Thermometer: th, n: 0} }}
		}, []string{"heater"}, "TMP1075 at 0x4f: remote I/O error"},
		{"a thermometer that errors while heating", func(r *sim.Reactor) hw.Board {
			return &faultBoard{Reactor: r, thermometer: func(th hw.Thermometer) hw.Thermometer { return &brokenThermometer{Thermometer: th, n: 1} }}
		}, []string{"heater"}, "remote I/O error"},
		{"a thermometer driver that panics while heating", func(r *sim.Reactor) hw.Board {
			return &faultBoard{Reactor: r, thermometer: func(th hw.Thermometer) hw.Thermometer {
				return &brokenThermometer{Thermometer: th, n: 1, panic: true}
			}}
		}, []string{"heater"}, "panic: thermometer driver bug"},
		{"a stirrer that does not turn", func(r *sim.Reactor) hw.Board {
			return &faultBoard{Reactor: r, dead: map[int]bool{stirringCh: true}}
		}, []string{"stirring"}, "RPM does not follow the duty (correlation NaN"},
		{"a media pump that does not pump", func(r *sim.Reactor) hw.Board {
			return &faultBoard{Reactor: r, dead: map[int]bool{mediaCh: true}}
		}, []string{"pumps"}, "media moved 0.000 mL in 1s at 100 %, want at least 0.1 mL"},
		{"light leaking into the photodiodes", func(r *sim.Reactor) hw.Board {
			return &faultBoard{Reactor: r, darkVolts: 0.03}
		}, []string{"photodiodes_dark"}, "photodiode 1 (REF) reads 0.03"},
		{"a board without sensors", func(r *sim.Reactor) hw.Board { return bareBoard{r} },
			[]string{"photodiodes_dark", "reference_photodiode", "leds", "stirring", "heater"}, "simulated reactor has no sensors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, reactor := run(t, SimOptions{Seed: 1, Board: tt.board}, 0)
			var failed []string
			for _, r := range rep.Results {
				if !r.Passed {
					failed = append(failed, r.Name)
				}
			}
			if strings.Join(failed, " ") != strings.Join(tt.fail, " ") {
				t.Fatalf("failed %v, want %v: %+v", failed, tt.fail, rep.Results)
			}
			if msg := results(rep)[tt.fail[0]].Message; !strings.Contains(msg, tt.want) {
				t.Errorf("%s says %q, want it to say %q", tt.fail[0], msg, tt.want)
			}
			if rep.Passed || rep.Failed() != len(tt.fail) {
				t.Errorf("report passed %v with %d failed, want failed with %d", rep.Passed, rep.Failed(), len(tt.fail))
			}
			assertAllOff(t, reactor)
		})
	}
}

// Every check leaves its outputs at 0 when the context ends in it: the
// times fall in each check on the simulator (the heater runs from about 39 s
// to 49 s).
func TestCancelLeavesEverythingOff(t *testing.T) {
	for _, at := range []time.Duration{300 * time.Millisecond, 2 * time.Second, 4500 * time.Millisecond, 7 * time.Second, 12 * time.Second, 30 * time.Second, 42 * time.Second, 48 * time.Second} {
		rep, reactor := run(t, SimOptions{Seed: 1}, at)
		if rep.Passed {
			t.Errorf("cancelled at %v: every check passed", at)
		}
		last := rep.Results[len(rep.Results)-1]
		if last.Passed || !strings.Contains(last.Message, "context canceled") {
			t.Errorf("cancelled at %v: the last check says %q, want it not run", at, last.Message)
		}
		assertAllOff(t, reactor)
	}
}

func TestHeaterRefusesAHotPCB(t *testing.T) {
	hot := func(r *sim.Reactor) hw.Board {
		return &faultBoard{Reactor: r, thermometer: func(th hw.Thermometer) hw.Thermometer { return fixedThermometer{th, 55} }}
	}
	rep, reactor := run(t, SimOptions{Seed: 1, Board: hot, Options: Options{Only: []string{"heater"}}}, 0)
	if r := rep.Results[0]; r.Passed || !strings.Contains(r.Message, "the heating PCB is at 55.00 °C, at or above 50 °C") {
		t.Errorf("heater: %+v", r)
	}
	for _, c := range reactor.DutyTrace() {
		if c.Channel == heatingCh {
			t.Errorf("the heater was driven: %+v", c)
		}
	}
}

func TestHeaterStopsAtTheMaximum(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxCelsius, lim.MinRiseCelsius = 23, 10
	rep, reactor := run(t, SimOptions{Seed: 1, Options: Options{Only: []string{"heater"}, Limits: &lim}}, 0)
	if r := rep.Results[0]; r.Passed || !strings.Contains(r.Message, "at or above 23 °C: stopped heating") {
		t.Errorf("heater: %+v", r)
	}
	assertAllOff(t, reactor)
}

type fixedThermometer struct {
	hw.Thermometer
	c float64
}

func (f fixedThermometer) Celsius(context.Context) (float64, error) { return f.c, nil }

func TestOnlyRunsTheNamedChecks(t *testing.T) {
	rep, _ := run(t, SimOptions{Seed: 1, Options: Options{Only: []string{"leds", "pwm_outputs"}}}, 0)
	if len(rep.Results) != 2 || rep.Results[0].Name != "leds" || rep.Results[1].Name != "pwm_outputs" {
		t.Errorf("results %+v, want leds then pwm_outputs", rep.Results)
	}
	_, err := Simulate(context.Background(), SimOptions{Options: Options{Only: []string{"heaters"}}})
	if err == nil || !strings.Contains(err.Error(), `no check is named "heaters" (the checks: pwm_outputs, pumps,`) {
		t.Errorf("unknown check: %v", err)
	}
}

func TestResultsArePublishedRetained(t *testing.T) {
	broker := pubsub.NewMemory()
	dead := func(r *sim.Reactor) hw.Board { return &faultBoard{Reactor: r, dead: map[int]bool{heatingCh: true}} }
	if _, err := Simulate(context.Background(), SimOptions{Seed: 1, Unit: "u1", Broker: broker, Board: dead}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"pwm_outputs": "1", "stirring": "1", "heater": "0", "all_tests_passed": "0"} {
		m, ok := broker.Retained("pioreactor/u1/$experiment/self_test/" + name)
		if !ok || string(m.Payload) != want {
			t.Errorf("self_test/%s: %q (retained %v), want %q", name, m.Payload, ok, want)
		}
	}
}

func TestSameSeedSameReport(t *testing.T) {
	a, err := Simulate(context.Background(), SimOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Simulate(context.Background(), SimOptions{Seed: 7})
	for i := range a.Results {
		if a.Results[i] != b.Results[i] {
			t.Errorf("two runs of seed 7 differ: %+v and %+v", a.Results[i], b.Results[i])
		}
	}
}
