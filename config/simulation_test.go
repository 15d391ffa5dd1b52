package config

import (
	"errors"
	"testing"
	"time"
)

var defaultSimulation = SimulationOptions{
	PumpMLPerSecond: 0.5, PumpFlowSpread: 0.02,
	InitialOD: 0.05, GrowthRatePerHour: 0.3, MaxOD: 2.5, LagHours: 1, AltMediaInhibition: 1.5,
	GrowthTemperatureQ10: 1, GrowthReferenceCelsius: 30,
	RoomCelsius: 22, VialHeaterGainCelsius: 60, VialTimeConstant: 15 * time.Minute,
	PCBHeaterGainCelsius: 55, PCBTimeConstant: 67500 * time.Millisecond,
	ThermometerNoise: 0.02, ThermometerResolution: 0.0625,
	StirringDeadZone: 10, StirringRPMPerPercent: 25, StirringTimeConstant: 1500 * time.Millisecond,
	SignalVoltsPerOD: 0.8, SignalSaturationOD: 8, ReferenceVolts: 0.25, DarkVolts: 0.002,
	SignalNoiseVolts: 0.001, ReferenceNoiseVolts: 0.0003,
	LEDDriftFraction: 0.01, LEDDriftPeriod: 12 * time.Hour,
	MainsRippleVolts: 0.0005, MainsHz: 60,
}

// Each bad [simulation] value is refused with file, line, key and what is
// wanted; several keys are checked together.
func TestSimulationBadValues(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		text string // config.ini; the bad key is on line 2 unless the want says otherwise
		want string
	}{
		{"[simulation]\ninitial_od=0", `config.ini:2: [simulation] initial_od: want an OD more than 0, at most 100, got "0"`},
		{"[simulation]\ninitial_od=3", `config.ini:2: [simulation] initial_od: want an OD below max_od (2.5), got "3"`},
		{"[simulation]\ninitial_od=0.05\nmax_od=0.01", `config.ini:2: [simulation] initial_od: want an OD below max_od (0.01), got "0.05"`},
		{"[simulation]\ngrowth_rate_per_hour=-0.1", `config.ini:2: [simulation] growth_rate_per_hour: want a growth rate per hour more than 0, at most 10, got "-0.1"`},
		{"[simulation]\nlag_hours=101", `config.ini:2: [simulation] lag_hours: want a number of hours from 0 to 100, got "101"`},
		{"[simulation]\nalt_media_inhibition=-1", `config.ini:2: [simulation] alt_media_inhibition: want a number from 0 to 100, got "-1"`},
		{"[simulation]\ngrowth_temperature_q10=0", `config.ini:2: [simulation] growth_temperature_q10: want a number from 0.5 to 10 (1: growth does not depend on temperature), got "0"`},
		{"[simulation]\nroom_celsius=hot", `config.ini:2: [simulation] room_celsius: want a temperature from -20 to 60 °C, got "hot"`},
		{"[simulation]\nvial_time_constant_minutes=0", `config.ini:2: [simulation] vial_time_constant_minutes: want a number of minutes more than 0, at most 1440, got "0"`},
		{"[simulation]\npcb_time_constant_seconds=900", `config.ini:2: [simulation] pcb_time_constant_seconds: want less than vial_time_constant_minutes (15m0s: the PCB is the smaller mass), got "900"`},
		{"[simulation]\nthermometer_resolution_celsius=2", `config.ini:2: [simulation] thermometer_resolution_celsius: want a number of °C from 0 to 1 (0: none), got "2"`},
		{"[simulation]\nstirring_dead_zone_percent=101", `config.ini:2: [simulation] stirring_dead_zone_percent: want a duty cycle from 0 to 100 %, got "101"`},
		{"[simulation]\nstirring_time_constant_seconds=-1", `config.ini:2: [simulation] stirring_time_constant_seconds: want a number of seconds from 0 to 60, got "-1"`},
		{"[simulation]\nsignal_volts_per_od=0", `config.ini:2: [simulation] signal_volts_per_od: want a number of volts per OD from 0.001 to 10, got "0"`},
		{"[simulation]\nsignal_saturation_od=0", `config.ini:2: [simulation] signal_saturation_od: want an OD more than 0, at most 1000, got "0"`},
		{"[simulation]\nreference_volts=3.3", `config.ini:2: [simulation] reference_volts: want a number of volts from 0 to 3, got "3.3"`},
		{"[simulation]\nsignal_noise_volts=-0.001", `config.ini:2: [simulation] signal_noise_volts: want a number of volts from 0 to 3, got "-0.001"`},
		{"[simulation]\nled_drift_fraction=0.6", `config.ini:2: [simulation] led_drift_fraction: want a fraction from 0 to 0.5, got "0.6"`},
		{"[simulation]\nled_drift_period_hours=0", `config.ini:2: [simulation] led_drift_period_hours: want a number of hours more than 0, got "0"`},
		{"[simulation]\nmains_hz=55", `config.ini:2: [simulation] mains_hz: want 50 or 60, got "55"`},
	} {
		write(t, ".", "config.ini", tc.text+"\n")
		c, err := Load("config.ini")
		if err != nil {
			t.Errorf("Load(%q): %v", tc.text, err)
			continue
		}
		_, err = c.Options()
		var ce *Error
		if err == nil || err.Error() != tc.want || !errors.As(err, &ce) {
			t.Errorf("Options(%q)\n got %v\nwant %s", tc.text, err, tc.want)
		}
	}
}

func TestSimulationGoodValues(t *testing.T) {
	c := New()
	for _, kv := range [][2]string{
		{"lag_hours", "0"}, {"alt_media_inhibition", "0"}, {"stirring_time_constant_seconds", "0"},
		{"thermometer_resolution_celsius", "0"}, {"mains_hz", "50"}, {"vial_time_constant_minutes", "0.5"},
		{"pcb_time_constant_seconds", "29"}, {"initial_od", "0.5"}, {"max_od", "0.6"},
	} {
		c.Set("simulation", kv[0], kv[1])
	}
	o, err := c.Options()
	if err != nil {
		t.Fatal(err)
	}
	s := o.Simulation
	if s.LagHours != 0 || s.StirringTimeConstant != 0 || s.MainsHz != 50 || s.VialTimeConstant != 30*time.Second ||
		s.PCBTimeConstant != 29*time.Second || s.InitialOD != 0.5 || s.MaxOD != 0.6 {
		t.Errorf("%+v", s)
	}
}
