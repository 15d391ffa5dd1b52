package control

import (
	"encoding/json"
	"math"
	"testing"
)

func lim(f float64) *float64 { return &f }

func TestPIDUpstreamNumbers(t *testing.T) {
	type step struct{ input, dt, want float64 }
	for _, tc := range []struct {
		name  string
		cfg   PIDConfig
		steps []step
	}{
		{"thermostat", PIDConfig{Kp: 2.6, Ki: 0, Kd: 4.6, Setpoint: 35, Min: lim(-25), Max: lim(25)},
			[]step{{30, 1, 13.0}, {31, 1, 5.8}}},
		{"morbidostat", PIDConfig{Kp: -5, Setpoint: 0.09, Min: lim(0), Max: lim(1)},
			[]step{{0.08, 1, 0.0}, {0.2, 1, 0.55}}},
		// The raw error sum is clamped to the limits: 10 → 1, then 1−10 → 0.
		{"anti-windup", PIDConfig{Ki: 1, Setpoint: 10, Min: lim(0), Max: lim(1)},
			[]step{{0, 1, 1}, {20, 1, 0}}},
		{"unbounded", PIDConfig{Ki: 1, Setpoint: 10},
			[]step{{0, 1, 10}, {0, 2, 30}, {20, 1, 20}}},
		{"only a lower limit", PIDConfig{Kp: 1, Setpoint: 0, Min: lim(-1)},
			[]step{{5, 1, -1}, {-5, 1, 5}}},
		{"derivative on the measurement", PIDConfig{Kd: 1, Setpoint: 100},
			[]step{{10, 1, 0}, {14, 2, -2}, {14, 1, 0}}},
		// d = 0.5·d + 0.5·d_prev: −4 → −2, then 0 → −1.
		{"derivative smoothing", PIDConfig{Kd: 1, DerivativeSmoothing: 0.5},
			[]step{{0, 1, 0}, {4, 1, -2}, {4, 1, -1}}},
		{"a dt of 0 adds no error and no derivative", PIDConfig{Kp: 1, Ki: 1, Kd: 1, Setpoint: 1},
			[]step{{0, 0, 1}, {0, 1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPID(tc.cfg)
			for i, s := range tc.steps {
				if got := p.Update(s.input, s.dt); math.Abs(got-s.want) > 1e-12 {
					t.Errorf("update %d: Update(%v, %v) = %v; want %v", i+1, s.input, s.dt, got, s.want)
				}
			}
		})
	}
}

func TestPIDThermostatAsPython(t *testing.T) {
	// Python computes 2.6*4 + 0.0*0.0 + 4.6*-1.0 = 5.800000000000001; so does
	// the PID, term by term in the same order.
	p := NewPID(PIDConfig{Kp: 2.6, Kd: 4.6, Setpoint: 35, Min: lim(-25), Max: lim(25)})
	if got := p.Update(30, 1); got != 13.0 {
		t.Errorf("Update(30) = %v; want 13.0", got)
	}
	if got := p.Update(31, 1); got != 5.800000000000001 {
		t.Errorf("Update(31) = %v; want 5.800000000000001", got)
	}
}

func TestPIDResetKeepsLastInput(t *testing.T) {
	p := NewPID(PIDConfig{Ki: 1, Kd: 1, Setpoint: 10})
	p.Update(4, 1) // error_sum 6
	p.Reset()
	if p.ErrorSum() != 0 {
		t.Errorf("ErrorSum after Reset = %v; want 0", p.ErrorSum())
	}
	// The derivative is still taken against 4: −(6−4) = −2; error_sum 4.
	if got := p.Update(6, 1); got != 4-2 {
		t.Errorf("Update after Reset = %v; want 2 (integral 4, derivative -2)", got)
	}
}

func TestPIDSetpoint(t *testing.T) {
	p := NewPID(PIDConfig{Kp: 1, Setpoint: 5})
	p.SetSetpoint(8)
	if p.Setpoint() != 8 {
		t.Fatalf("Setpoint() = %v; want 8", p.Setpoint())
	}
	if got := p.Update(6, 1); got != 2 {
		t.Errorf("Update(6) = %v; want 2", got)
	}
}

func TestPIDStatsJSON(t *testing.T) {
	p := NewPID(PIDConfig{Kp: 2.6, Kd: 4.6, Setpoint: 35, Min: lim(-25), Max: lim(25),
		JobName: "temperature_automation", TargetName: "temperature"})
	b, err := json.Marshal(p.Stats())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"setpoint":35.0,"output_limits_lb":-25.0,"output_limits_ub":25.0,"Kd":4.6,"Ki":0.0,"Kp":2.6,` +
		`"integral":0.0,"proportional":0.0,"derivative":0.0,"latest_input":null,"latest_output":null,` +
		`"job_name":"temperature_automation","target_name":"temperature"}`
	if string(b) != want {
		t.Errorf("stats before any update:\n got %s\nwant %s", b, want)
	}
	p.Update(30, 1)
	p.Update(31, 1)
	b, _ = json.Marshal(p.Stats())
	want = `{"setpoint":35.0,"output_limits_lb":-25.0,"output_limits_ub":25.0,"Kd":4.6,"Ki":0.0,"Kp":2.6,` +
		`"integral":0.0,"proportional":10.4,"derivative":-4.6,"latest_input":31.0,"latest_output":5.800000000000001,` +
		`"job_name":"temperature_automation","target_name":"temperature"}`
	if string(b) != want {
		t.Errorf("stats after two updates:\n got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(NewPID(PIDConfig{Ki: 1, TargetName: "x"}).Stats())
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["output_limits_lb"] != nil || m["output_limits_ub"] != nil {
		t.Errorf("unbounded limits: %s; want null", b)
	}
}

func TestEMA(t *testing.T) {
	e, err := NewEMA(0.3)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Latest(); ok {
		t.Error("Latest of an empty EMA reports a value")
	}
	if got := e.Update(5.0); got != 5.0 {
		t.Errorf("first Update(5) = %v; want 5", got)
	}
	if got := e.Update(10); math.Abs(got-(0.7*10+0.3*5)) > 1e-12 {
		t.Errorf("Update(10) = %v; want %v", got, 0.7*10+0.3*5)
	}
	if v, ok := e.Latest(); !ok || math.Abs(v-8.5) > 1e-12 {
		t.Errorf("Latest() = %v, %v; want 8.5, true", v, ok)
	}
	e.Clear()
	if _, ok := e.Latest(); ok {
		t.Error("Latest after Clear reports a value")
	}
	if got := e.Update(2); got != 2 {
		t.Errorf("Update after Clear = %v; want 2", got)
	}

	latestOnly, _ := NewEMA(0)
	latestOnly.Update(1)
	if got := latestOnly.Update(7); got != 7 {
		t.Errorf("alpha 0: Update(7) = %v; want 7", got)
	}
}

func TestNewEMARefusesAlphaOutside01(t *testing.T) {
	for _, a := range []float64{-0.1, 1.1, 2.0, math.NaN()} {
		if _, err := NewEMA(a); err == nil {
			t.Errorf("NewEMA(%v) succeeded; want an error", a)
		}
	}
	for _, a := range []float64{0, 0.5, 1} {
		if _, err := NewEMA(a); err != nil {
			t.Errorf("NewEMA(%v): %v", a, err)
		}
	}
}
