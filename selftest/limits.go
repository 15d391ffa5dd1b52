package selftest

import "time"

// Limits are what the checks do and what they accept. DefaultLimits are
// pio's; the zero value of a field is not a default, so start from
// DefaultLimits to change one.
type Limits struct {
	// ReadbackDuty is the duty (percent) each PWM output is set to and read
	// back at, for an instant.
	ReadbackDuty float64

	// PumpRun is how long each pump runs, at PumpDuty and PumpHz; it must
	// move at least MinPumpedML where the board can tell.
	PumpRun     time.Duration
	PumpDuty    float64
	PumpHz      float64
	MinPumpedML float64

	// Photodiodes: Samples readings SampleSpacing apart, after LEDSettle
	// for the optics to settle. With every LED off each channel's mean is
	// at most DarkMaxVolts; with the IR LED on REF is within
	// RefMinVolts..RefMaxVolts.
	Samples       int
	SampleSpacing time.Duration
	LEDSettle     time.Duration
	DarkMaxVolts  float64
	RefMinVolts   float64
	RefMaxVolts   float64

	// LEDs: each channel is set to LEDReadback and read back; the IR LED
	// steps through IRSteps (percent), and REF must rise at each step and
	// by at least IRMinRiseVolts over them.
	LEDReadback    float64
	IRSteps        []float64
	IRMinRiseVolts float64

	// Heater: at HeaterDuty (HeaterHz) for up to HeaterTime, the
	// thermometer must rise by MinRiseCelsius; it is read every
	// HeaterPoll. The check refuses to heat a PCB at MaxStartCelsius or
	// more, and stops heating at MaxCelsius.
	HeaterDuty      float64
	HeaterHz        float64
	HeaterTime      time.Duration
	HeaterPoll      time.Duration
	MinRiseCelsius  float64
	MaxStartCelsius float64
	MaxCelsius      float64

	// Stirring: the duties of StirDuties (falling), each after StirSettle
	// (the first after StirSpinUp), RPM measured over RPMWindow; RPM must
	// correlate with duty by MinCorrelation. Then the duty the fit gives
	// for [stirring.config] target_rpm must reach it within RPMTolerance
	// (a fraction).
	StirDuties     []float64
	StirSpinUp     time.Duration
	StirSettle     time.Duration
	RPMWindow      time.Duration
	MinCorrelation float64
	RPMTolerance   float64
}

// DefaultLimits are pio's limits. On hardware the whole self-test takes
// about two minutes, most of it the heater's.
func DefaultLimits() Limits {
	return Limits{
		ReadbackDuty: 10,

		PumpRun:     time.Second,
		PumpDuty:    100,
		PumpHz:      250,
		MinPumpedML: 0.1,

		Samples:       20,
		SampleSpacing: 10 * time.Millisecond,
		LEDSettle:     125 * time.Millisecond,
		DarkMaxVolts:  0.01,
		RefMinVolts:   0.02,
		RefMaxVolts:   0.256,

		LEDReadback:    50,
		IRSteps:        []float64{0, 20, 40, 60, 80},
		IRMinRiseVolts: 0.01,

		HeaterDuty:      25,
		HeaterHz:        16,
		HeaterTime:      60 * time.Second,
		HeaterPoll:      5 * time.Second,
		MinRiseCelsius:  1,
		MaxStartCelsius: 50,
		MaxCelsius:      60,

		StirDuties:     []float64{50, 40, 30, 20},
		StirSpinUp:     5 * time.Second,
		StirSettle:     3 * time.Second,
		RPMWindow:      3 * time.Second,
		MinCorrelation: 0.9,
		RPMTolerance:   0.15,
	}
}
