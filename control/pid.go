package control

import (
	"math"

	"github.com/piolab/pio/payload"
)

// PIDConfig sets up a PID. Min and Max are the output limits (nil: unbounded
// on that side); they also bound the accumulated error (the anti-windup).
type PIDConfig struct {
	Kp, Ki, Kd float64
	Setpoint   float64
	Min, Max   *float64
	// DerivativeSmoothing s in [0, 1] smooths the derivative term:
	// d = (1−s)·d + s·d_prev (0: no smoothing).
	DerivativeSmoothing float64
	// JobName and TargetName label the stats (pid_log/<TargetName>).
	JobName, TargetName string
}

// PID is upstream's PID controller (utils/streaming_calculations.py):
//
//   - error = setpoint − input;
//   - error_sum += error·dt, then error_sum itself is clamped to the output
//     limits (the anti-windup: the raw sum, not Ki·error_sum);
//   - derivative = −(input − last_input)/dt, on the measurement, 0 on the
//     first update, then smoothed: d = (1−s)·d + s·d_prev;
//   - output = Kp·error + Ki·error_sum + Kd·d, clamped to the output limits.
//
// Reset clears the error sum and the derivative but keeps the last input, so
// the next derivative is still taken against it, as upstream does.
type PID struct {
	cfg PIDConfig

	errorSum       float64
	derivativePrev float64
	lastError      float64
	lastDerivative float64
	lastInput      float64
	lastOutput     float64
	hasInput       bool
	hasOutput      bool
}

// NewPID returns a PID that has seen no input.
func NewPID(cfg PIDConfig) *PID {
	return &PID{cfg: cfg}
}

// Update feeds one measurement taken dt (in the caller's unit of time,
// usually 1) after the previous one and returns the clamped output. A dt
// that is not positive adds nothing to the error sum and gives a zero
// derivative (no time has passed).
func (p *PID) Update(input, dt float64) float64 {
	c := &p.cfg
	e := c.Setpoint - input
	var d float64
	if dt > 0 {
		p.errorSum = clamp(p.errorSum+e*dt, c.Min, c.Max)
		if p.hasInput {
			d = -(input - p.lastInput) / dt
		}
	}
	d = (1-c.DerivativeSmoothing)*d + c.DerivativeSmoothing*p.derivativePrev
	out := clamp(c.Kp*e+c.Ki*p.errorSum+c.Kd*d, c.Min, c.Max)

	p.lastError, p.lastDerivative, p.derivativePrev = e, d, d
	p.lastInput, p.hasInput = input, true
	p.lastOutput, p.hasOutput = out, true
	return out
}

// SetSetpoint changes the setpoint and nothing else.
func (p *PID) SetSetpoint(v float64) { p.cfg.Setpoint = v }

// Setpoint is the current setpoint.
func (p *PID) Setpoint() float64 { return p.cfg.Setpoint }

// Reset clears the error sum, the last error and the derivative. The last
// input stays (upstream's reset keeps it too).
func (p *PID) Reset() {
	p.errorSum, p.derivativePrev = 0, 0
	p.lastError, p.lastDerivative = 0, 0
}

// ErrorSum is the accumulated (clamped) error.
func (p *PID) ErrorSum() float64 { return p.errorSum }

// PIDStats is the payload of pid_log/<target_name>, with upstream's fields
// in upstream's order; limits, input and output not known are null.
type PIDStats struct {
	Setpoint       payload.Float  `json:"setpoint"`
	OutputLimitsLB *payload.Float `json:"output_limits_lb"`
	OutputLimitsUB *payload.Float `json:"output_limits_ub"`
	Kd             payload.Float  `json:"Kd"`
	Ki             payload.Float  `json:"Ki"`
	Kp             payload.Float  `json:"Kp"`
	Integral       payload.Float  `json:"integral"`
	Proportional   payload.Float  `json:"proportional"`
	Derivative     payload.Float  `json:"derivative"`
	LatestInput    *payload.Float `json:"latest_input"`
	LatestOutput   *payload.Float `json:"latest_output"`
	JobName        string         `json:"job_name"`
	TargetName     string         `json:"target_name"`
}

// Stats returns the terms of the last update: integral Ki·error_sum,
// proportional Kp·error, derivative Kd·d.
func (p *PID) Stats() PIDStats {
	c := &p.cfg
	s := PIDStats{
		Setpoint:       payload.Float(c.Setpoint),
		OutputLimitsLB: floatPtr(c.Min),
		OutputLimitsUB: floatPtr(c.Max),
		Kd:             payload.Float(c.Kd),
		Ki:             payload.Float(c.Ki),
		Kp:             payload.Float(c.Kp),
		Integral:       payload.Float(c.Ki * p.errorSum),
		Proportional:   payload.Float(c.Kp * p.lastError),
		Derivative:     payload.Float(c.Kd * p.lastDerivative),
		JobName:        c.JobName,
		TargetName:     c.TargetName,
	}
	if p.hasInput {
		in := payload.Float(p.lastInput)
		s.LatestInput = &in
	}
	if p.hasOutput {
		out := payload.Float(p.lastOutput)
		s.LatestOutput = &out
	}
	return s
}

func floatPtr(f *float64) *payload.Float {
	if f == nil {
		return nil
	}
	v := payload.Float(*f)
	return &v
}

// clamp bounds x by the limits that are set. NaN stays NaN.
func clamp(x float64, lo, hi *float64) float64 {
	if lo != nil {
		x = math.Max(x, *lo)
	}
	if hi != nil {
		x = math.Min(x, *hi)
	}
	return x
}
