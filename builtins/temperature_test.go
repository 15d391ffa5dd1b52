package builtins

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
)

// fakeTempHost is a temperature automation for the builtins' tests.
type fakeTempHost struct {
	dc     float64
	held   bool
	latest *float64
	logs   []string
}

func (h *fakeTempHost) Unit() string                         { return "u" }
func (h *fakeTempHost) Experiment() string                   { return "e" }
func (h *fakeTempHost) Now() time.Time                       { return time.Unix(0, 0) }
func (h *fakeTempHost) Sleep(context.Context, float64) error { return nil }
func (h *fakeTempHost) Setting(string) (any, bool)           { return nil, false }
func (h *fakeTempHost) Log(level, msg string) error {
	h.logs = append(h.logs, level+": "+msg)
	return nil
}
func (h *fakeTempHost) HeaterDutyCycle() float64             { return h.dc }
func (h *fakeTempHost) MaxTargetTemperature() float64        { return 78 }
func (h *fakeTempHost) UpdateHeaterWithDelta(d float64) bool { return h.UpdateHeater(h.dc + d) }
func (h *fakeTempHost) LatestTemperature() (float64, bool) {
	if h.latest == nil {
		return 0, false
	}
	return *h.latest, true
}
func (h *fakeTempHost) UpdateHeater(dc float64) bool {
	if h.held {
		return false
	}
	h.dc = min(100, max(0, dc))
	return true
}

// runTemp runs src's execute() with the temperature builtins on h.
func runTemp(t *testing.T, h *fakeTempHost, src string) (starlark.Value, error) {
	t.Helper()
	u := Common("u", "e")
	for k, v := range Temperature() {
		u[k] = v
	}
	th := &starlark.Thread{Name: "test"}
	g, err := starlark.ExecFile(th, "t.star", src, u)
	if err != nil {
		return nil, err
	}
	SetHost(th, h)
	return starlark.Call(th, g["execute"], nil, nil)
}

func TestTemperatureBuiltinsDocExamples(t *testing.T) {
	t35 := 41.0
	for _, tc := range []struct {
		name, src string
		host      fakeTempHost
		wantDC    float64
		want      string
	}{
		{"update_heater", "def execute():\n    if not update_heater(25):\n        log.info(\"the heater is held by an inference\")\n", fakeTempHost{}, 25, "None"},
		{"update_heater held", "def execute():\n    if not update_heater(25):\n        log.info(\"the heater is held by an inference\")\n", fakeTempHost{held: true}, 0, "None"},
		{"update_heater_with_delta", "def execute():\n    update_heater_with_delta(-5)   # 30 → 25\n", fakeTempHost{dc: 30}, 25, "None"},
		{"heater_duty_cycle", "def execute():\n    return \"heater at %s %%\" % heater_duty_cycle()\n", fakeTempHost{dc: 12.5}, 12.5, `"heater at 12.5 %"`},
		{"latest_temperature", "def execute():\n    if latest_temperature() > 40:\n        update_heater(0)\n", fakeTempHost{dc: 30, latest: &t35}, 0, "None"},
		{"max_target_temperature", "def check_target(value):\n    return min(value, max_target_temperature())\ndef execute():\n    return check_target(85)\n", fakeTempHost{}, 0, "78.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.host
			v, err := runTemp(t, &h, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if h.dc != tc.wantDC || v.String() != tc.want {
				t.Errorf("dc %v, returned %s; want %v, %s", h.dc, v, tc.wantDC, tc.want)
			}
			if tc.host.held && (len(h.logs) != 1 || !strings.Contains(h.logs[0], "held")) {
				t.Errorf("logs %v", h.logs)
			}
		})
	}
}

func TestTemperatureBuiltinErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"def execute():\n    update_heater(\"hot\")\n", "update_heater: dc: got string, want a number (percent)"},
		{"def execute():\n    update_heater(float(\"nan\"))\n", "update_heater: dc must be a finite number"},
		{"def execute():\n    update_heater_with_delta()\n", "update_heater_with_delta: missing argument for delta"},
		{"def execute():\n    latest_temperature()\n", "latest_temperature: the job has not measured a temperature yet"},
		{"update_heater(3)\ndef execute():\n    pass\n", "update_heater: only available while the automation runs"},
	} {
		_, err := runTemp(t, &fakeTempHost{}, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want %q", tc.src, err, tc.want)
		}
	}
	// A host of another family.
	th := &starlark.Thread{}
	SetHost(th, dosingOnly{})
	_, err := starlark.Call(th, Temperature()["heater_duty_cycle"], nil, nil)
	if err == nil || !strings.Contains(err.Error(), "only temperature automations drive the heater") {
		t.Errorf("heater_duty_cycle on a dosing host: %v", err)
	}
}

type dosingOnly struct{ fakeTempHostless }

type fakeTempHostless struct{}

func (fakeTempHostless) Unit() string                         { return "u" }
func (fakeTempHostless) Experiment() string                   { return "e" }
func (fakeTempHostless) Now() time.Time                       { return time.Unix(0, 0) }
func (fakeTempHostless) Sleep(context.Context, float64) error { return nil }
func (fakeTempHostless) Setting(string) (any, bool)           { return nil, false }
func (fakeTempHostless) Log(string, string) error             { return nil }
