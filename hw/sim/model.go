package sim

import (
	"time"

	"github.com/piolab/pio/config"
)

// Model is the physics of the simulated reactor besides its pumps: the
// culture, the temperatures, the stirrer and the photodiodes. Each field is
// a key of [simulation] (docs/simulation.md); DefaultModel has the values of
// config.Defaults. A zero field is taken as it is: zero noise is no noise,
// zero lag no lag.
type Model struct {
	// Culture.
	LagHours               float64 // Baranyi lag, hours (0: none)
	AltMediaInhibition     float64 // growth × max(0, 1 − k·alt_media_fraction)
	GrowthTemperatureQ10   float64 // growth × q10^((T−ref)/10); 1 or 0: off
	GrowthReferenceCelsius float64

	// Temperatures.
	RoomCelsius           float64
	VialHeaterGainCelsius float64       // vial's steady rise over room at 100 % heater
	VialTimeConstant      time.Duration // vial's relaxation
	PCBHeaterGainCelsius  float64       // PCB's steady rise over the vial at 100 % heater
	PCBTimeConstant       time.Duration // PCB's relaxation toward the vial; shorter than the vial's
	ThermometerNoise      float64       // standard deviation, °C
	ThermometerResolution float64       // °C per step (0: none)

	// Stirring.
	StirringDeadZone      float64       // duty %, below which the stirrer stands still
	StirringRPMPerPercent float64       // RPM per % of duty above the dead zone
	StirringTimeConstant  time.Duration // 0: the RPM follows the duty at once

	// Photodiodes, volts at IR intensity 100 %.
	SignalVoltsPerOD    float64 // 90° signal per OD, before saturation
	SignalSaturationOD  float64 // signal ∝ OD/(1 + OD/saturation)
	ReferenceVolts      float64
	DarkVolts           float64 // offset of every channel
	SignalNoiseVolts    float64 // standard deviation per sample
	ReferenceNoiseVolts float64
	LEDDriftFraction    float64       // relative amplitude of the IR LED's slow drift
	LEDDriftPeriod      time.Duration // its period
	MainsRippleVolts    float64       // amplitude of the ripple on every channel
	MainsHz             float64
}

// DefaultModel is the model of config.Defaults.
func DefaultModel() Model { return modelOf(configDefaults().Simulation) }

// modelOf converts [simulation] to a Model.
func modelOf(s config.SimulationOptions) Model {
	return Model{
		LagHours: s.LagHours, AltMediaInhibition: s.AltMediaInhibition,
		GrowthTemperatureQ10: s.GrowthTemperatureQ10, GrowthReferenceCelsius: s.GrowthReferenceCelsius,
		RoomCelsius: s.RoomCelsius, VialHeaterGainCelsius: s.VialHeaterGainCelsius, VialTimeConstant: s.VialTimeConstant,
		PCBHeaterGainCelsius: s.PCBHeaterGainCelsius, PCBTimeConstant: s.PCBTimeConstant,
		ThermometerNoise: s.ThermometerNoise, ThermometerResolution: s.ThermometerResolution,
		StirringDeadZone: s.StirringDeadZone, StirringRPMPerPercent: s.StirringRPMPerPercent, StirringTimeConstant: s.StirringTimeConstant,
		SignalVoltsPerOD: s.SignalVoltsPerOD, SignalSaturationOD: s.SignalSaturationOD, ReferenceVolts: s.ReferenceVolts,
		DarkVolts: s.DarkVolts, SignalNoiseVolts: s.SignalNoiseVolts, ReferenceNoiseVolts: s.ReferenceNoiseVolts,
		LEDDriftFraction: s.LEDDriftFraction, LEDDriftPeriod: s.LEDDriftPeriod,
		MainsRippleVolts: s.MainsRippleVolts, MainsHz: s.MainsHz,
	}
}

// Ideal returns m without noise, drift, ripple or lag, and with a
// thermometer of unlimited resolution: for tests that want exact values.
func (m Model) Ideal() Model {
	m.LagHours = 0
	m.ThermometerNoise, m.ThermometerResolution = 0, 0
	m.SignalNoiseVolts, m.ReferenceNoiseVolts = 0, 0
	m.LEDDriftFraction, m.MainsRippleVolts = 0, 0
	return m
}
