package temperature

import "github.com/piolab/pio/config"

// ThermostatSection is the configuration section of the thermostat's gains.
const ThermostatSection = "temperature_automation.thermostat"

// Gains are a PID's gains.
type Gains struct{ Kp, Ki, Kd float64 }

// ThermostatGains reads [temperature_automation.thermostat] Kp, Ki and Kd.
// A bad value is an error naming its file and line.
func ThermostatGains(cfg *config.Config) (Gains, error) {
	sec := cfg.Section(ThermostatSection)
	g := Gains{
		Kp: sec.Float("Kp", nil, "a number"),
		Ki: sec.Float("Ki", nil, "a number"),
		Kd: sec.Float("Kd", nil, "a number"),
	}
	return g, sec.Err()
}
