package config

import (
	"fmt"
	"time"

	"github.com/piolab/pio/calibration"
)

// simulation reads [simulation], the simulated reactor's model.
func (r *optionReader) simulation() SimulationOptions {
	const sec = "simulation"
	var s SimulationOptions
	num := func(key string, lo, hi float64, want string) float64 {
		return r.number(sec, key, func(f float64) bool { return f >= lo && f <= hi }, want)
	}
	above := func(key string, lo, hi float64, want string) float64 {
		return r.number(sec, key, func(f float64) bool { return f > lo && f <= hi }, want)
	}

	s.PumpMLPerSecond = num("pump_ml_per_second", calibration.MinSlope, calibration.MaxSlope,
		fmt.Sprintf("a number of mL/s from %v to %v (the range of a pump calibration: it is the simulated pumps' factory calibration)", calibration.MinSlope, calibration.MaxSlope))
	s.PumpFlowSpread = r.number(sec, "pump_flow_spread",
		func(f float64) bool { return f >= 0 && f < 1 }, "a number from 0 up to (not including) 1")

	s.MaxOD = above("max_od", 0, 100, "an OD more than 0, at most 100")
	s.InitialOD = above("initial_od", 0, 100, "an OD more than 0, at most 100")
	if s.MaxOD > 0 && s.InitialOD >= s.MaxOD {
		st := r.get(sec, "initial_od")
		r.fail(st, sec, "initial_od", "want an OD below max_od (%g), got %s", s.MaxOD, quote(st.value))
		s.InitialOD = 0
	}
	s.GrowthRatePerHour = above("growth_rate_per_hour", 0, 10, "a growth rate per hour more than 0, at most 10")
	s.LagHours = num("lag_hours", 0, 100, "a number of hours from 0 to 100")
	s.AltMediaInhibition = num("alt_media_inhibition", 0, 100, "a number from 0 to 100")
	s.GrowthTemperatureQ10 = num("growth_temperature_q10", 0.5, 10, "a number from 0.5 to 10 (1: growth does not depend on temperature)")
	s.GrowthReferenceCelsius = num("growth_reference_celsius", -20, 100, "a temperature from -20 to 100 °C")

	s.RoomCelsius = num("room_celsius", -20, 60, "a temperature from -20 to 60 °C")
	s.VialHeaterGainCelsius = num("vial_heater_gain_celsius", 0, 100, "a number of °C from 0 to 100")
	s.VialTimeConstant = r.duration(sec, "vial_time_constant_minutes", time.Minute, time.Second,
		func(f float64) bool { return f > 0 && f <= 1440 }, "a number of minutes more than 0, at most 1440")
	s.PCBHeaterGainCelsius = num("pcb_heater_gain_celsius", 0, 200, "a number of °C from 0 to 200")
	s.PCBTimeConstant = r.duration(sec, "pcb_time_constant_seconds", time.Second, time.Millisecond,
		func(f float64) bool { return f > 0 && f <= 86400 }, "a number of seconds more than 0")
	if s.VialTimeConstant > 0 && s.PCBTimeConstant >= s.VialTimeConstant {
		st := r.get(sec, "pcb_time_constant_seconds")
		r.fail(st, sec, "pcb_time_constant_seconds", "want less than vial_time_constant_minutes (%v: the PCB is the smaller mass), got %s",
			s.VialTimeConstant, quote(st.value))
		s.PCBTimeConstant = 0
	}
	s.ThermometerNoise = num("thermometer_noise_celsius", 0, 5, "a number of °C from 0 to 5")
	s.ThermometerResolution = num("thermometer_resolution_celsius", 0, 1, "a number of °C from 0 to 1 (0: none)")

	s.StirringDeadZone = num("stirring_dead_zone_percent", 0, 100, "a duty cycle from 0 to 100 %")
	s.StirringRPMPerPercent = num("stirring_rpm_per_percent", 0, 1000, "a number of RPM per % from 0 to 1000")
	s.StirringTimeConstant = r.duration(sec, "stirring_time_constant_seconds", time.Second, 0,
		func(f float64) bool { return f >= 0 && f <= 60 }, "a number of seconds from 0 to 60")

	volts := func(key string) float64 { return num(key, 0, 3, "a number of volts from 0 to 3") }
	s.SignalVoltsPerOD = num("signal_volts_per_od", 0.001, 10, "a number of volts per OD from 0.001 to 10")
	s.SignalSaturationOD = above("signal_saturation_od", 0, 1000, "an OD more than 0, at most 1000")
	s.ReferenceVolts = volts("reference_volts")
	s.DarkVolts = volts("dark_volts")
	s.SignalNoiseVolts = volts("signal_noise_volts")
	s.ReferenceNoiseVolts = volts("reference_noise_volts")
	s.LEDDriftFraction = num("led_drift_fraction", 0, 0.5, "a fraction from 0 to 0.5")
	s.LEDDriftPeriod = r.duration(sec, "led_drift_period_hours", time.Hour, time.Second,
		func(f float64) bool { return f > 0 && f <= 1e5 }, "a number of hours more than 0")
	s.MainsRippleVolts = num("mains_ripple_volts", 0, 1, "a number of volts from 0 to 1")
	s.MainsHz = r.number(sec, "mains_hz", func(f float64) bool { return f == 50 || f == 60 }, "50 or 60")
	return s
}
