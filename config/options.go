package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Options is the configuration pio reads, typed and validated. Every field
// comes from a key in Defaults; a key that is missing or empty in the files
// takes its value from there.
type Options struct {
	Unit       UnitOptions       // [cluster.topology]
	Cluster    ClusterOptions    // [cluster.topology] leader_*, [ui], [cluster.daemon], [cluster.leader]
	MQTT       MQTTOptions       // [mqtt]
	PWM        map[int]string    // [PWM]: channel (1 to 9) -> device; unwired channels are absent
	Bioreactor BioreactorOptions // [bioreactor]
	Dosing     DosingOptions     // [dosing_automation.config]
	Storage    StorageOptions    // [storage]
	Simulation SimulationOptions // [simulation]
	Scripts    ScriptsOptions    // [scripts]
}

// UnitOptions is [cluster.topology].
type UnitOptions struct {
	Name       string // unit_name; empty means the machine's hostname
	Experiment string // experiment
}

// MQTTOptions is [mqtt].
type MQTTOptions struct {
	BrokerAddress string // broker_address as written; Addr uses the part before the first ";"
	BrokerPort    int    // broker_port, 1 to 65535
	Username      string // username; empty means none
	Password      string // password
}

// Addr is host:port of the broker.
func (m MQTTOptions) Addr() string {
	return joinHostPort(m.BrokerAddress, strconv.Itoa(m.BrokerPort))
}

// BioreactorOptions is [bioreactor]: the model, and the liquid model's state
// for an experiment nothing is known about yet.
type BioreactorOptions struct {
	Model                            Model   // model
	InitialVolumeML                  float64 // initial_volume_ml, 0 to Model.CapacityML
	EffluxTubeVolumeML               float64 // efflux_tube_volume_ml, 0 to Model.CapacityML
	InitialAltMediaFraction          float64 // initial_alt_media_fraction, 0 to 1
	InitialCumulativeMediaAddedML    float64 // initial_cumulative_media_added_ml, ≥ 0
	InitialCumulativeAltMediaAddedML float64 // initial_cumulative_alt_media_added_ml, ≥ 0
	InitialCumulativeWasteRemovedML  float64 // initial_cumulative_waste_removed_ml, ≥ 0
}

// DosingOptions is [dosing_automation.config].
type DosingOptions struct {
	PauseBetweenSubdoses   time.Duration // pause_between_subdoses_seconds, ≥ 0
	WasteRemovalMultiplier float64       // waste_removal_multiplier, ≥ 0
	MaxSubdoseML           float64       // max_subdose, > 0
	FirstRunDelay          time.Duration // first_run_delay_seconds, ≥ 0
	MaxScriptSteps         uint64        // max_script_steps, > 0
	MaxExecute             time.Duration // max_execute_minutes, at least MinMaxExecute
}

// MinMaxExecute is the shortest max_execute_minutes: one second (1/60 of a
// minute). A shorter limit stops every execute() before it can run a pump,
// and one below half a nanosecond would round to no time at all.
const MinMaxExecute = time.Second

// StorageOptions is [storage].
type StorageOptions struct {
	Home string // home; empty means $PIO_HOME, else ~/.pio
}

// SimulationOptions is [simulation]: the simulated reactor's model
// (config/simulation.go reads it; docs/simulation.md explains it).
type SimulationOptions struct {
	PumpMLPerSecond float64 // pump_ml_per_second, calibration.MinSlope to calibration.MaxSlope
	PumpFlowSpread  float64 // pump_flow_spread, 0 up to (not including) 1

	InitialOD              float64 // initial_od, more than 0, below MaxOD
	GrowthRatePerHour      float64 // growth_rate_per_hour, more than 0, at most 10
	MaxOD                  float64 // max_od, more than 0, at most 100
	LagHours               float64 // lag_hours, 0 to 100
	AltMediaInhibition     float64 // alt_media_inhibition, 0 to 100
	GrowthTemperatureQ10   float64 // growth_temperature_q10, 0.5 to 10 (1: off)
	GrowthReferenceCelsius float64 // growth_reference_celsius, -20 to 100

	RoomCelsius           float64       // room_celsius, -20 to 60
	VialHeaterGainCelsius float64       // vial_heater_gain_celsius, 0 to 100
	VialTimeConstant      time.Duration // vial_time_constant_minutes, more than 0, at most 1440
	PCBHeaterGainCelsius  float64       // pcb_heater_gain_celsius, 0 to 200
	PCBTimeConstant       time.Duration // pcb_time_constant_seconds, more than 0, below VialTimeConstant
	ThermometerNoise      float64       // thermometer_noise_celsius, 0 to 5
	ThermometerResolution float64       // thermometer_resolution_celsius, 0 to 1
	StirringDeadZone      float64       // stirring_dead_zone_percent, 0 to 100
	StirringRPMPerPercent float64       // stirring_rpm_per_percent, 0 to 1000
	StirringTimeConstant  time.Duration // stirring_time_constant_seconds, 0 to 60
	SignalVoltsPerOD      float64       // signal_volts_per_od, 0.001 to 10
	SignalSaturationOD    float64       // signal_saturation_od, more than 0
	ReferenceVolts        float64       // reference_volts, 0 to 3
	DarkVolts             float64       // dark_volts, 0 to 3
	SignalNoiseVolts      float64       // signal_noise_volts, 0 to 3
	ReferenceNoiseVolts   float64       // reference_noise_volts, 0 to 3
	LEDDriftFraction      float64       // led_drift_fraction, 0 to 0.5
	LEDDriftPeriod        time.Duration // led_drift_period_hours, more than 0
	MainsRippleVolts      float64       // mains_ripple_volts, 0 to 1
	MainsHz               float64       // mains_hz, 50 or 60
}

// ScriptsOptions is [scripts].
type ScriptsOptions struct {
	MemoryLimitMB uint64 // memory_limit_mb, MinMemoryLimitMB to MaxMemoryLimitMB
}

// The bounds of [scripts] memory_limit_mb: pio itself needs some memory
// beyond what it has when it starts, and MB must fit in bytes.
const (
	MinMemoryLimitMB = 32
	MaxMemoryLimitMB = 1 << 20
)

// PWMChannel returns the channel a device is wired to.
func (o Options) PWMChannel(device string) (int, bool) {
	for ch, dev := range o.PWM {
		if dev == device {
			return ch, true
		}
	}
	return 0, false
}

// Options parses and checks every key pio reads, once: the result is kept
// until Set changes the configuration. The error joins one *Error per bad
// value (use errors.As for the first), each naming file, line, section and
// key; Options are then still filled in where values were good. The PWM map
// is shared between callers: do not change it.
func (c *Config) Options() (Options, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parsed == nil {
		r := &optionReader{c: c}
		o := r.options()
		sortErrors(r.errs)
		c.parsed = &parsedOptions{o, errors.Join(r.errs...)}
	}
	return c.parsed.o, c.parsed.err
}

// options reads every key; r collects the errors.
func (r *optionReader) options() Options {
	c := r.c
	var o Options

	o.Unit.Name = r.topicLevel("cluster.topology", "unit_name")
	o.Unit.Experiment = r.topicLevel("cluster.topology", "experiment")
	o.Cluster = r.cluster()

	s := r.get("mqtt", "broker_address")
	if host, _, _ := strings.Cut(s.value, ";"); strings.TrimSpace(host) == "" || strings.IndexFunc(host, isSpace) >= 0 {
		r.fail(s, "mqtt", "broker_address", "want a host name or address, got %s", quote(s.value))
	}
	o.MQTT.BrokerAddress = s.value
	o.MQTT.BrokerPort = r.port("mqtt", "broker_port")
	o.MQTT.Username = r.get("mqtt", "username").value
	o.MQTT.Password = r.get("mqtt", "password").value

	r.read = append(r.read, [2]string{"PWM", ""}) // the whole section
	wires, errs := c.pwm()
	r.errs = append(r.errs, errs...)
	o.PWM = map[int]string{}
	for dev, ch := range wires {
		o.PWM[ch] = dev
	}

	const bio = "bioreactor"
	o.Bioreactor.Model, _ = r.model()
	capacity := math.Inf(1)
	if o.Bioreactor.Model.Name != "" {
		capacity = o.Bioreactor.Model.CapacityML
	}
	volume := func(key string) float64 {
		v := r.number(bio, key, nonNegative, "a non-negative number")
		if v > capacity {
			r.fail(r.get(bio, key), bio, key, "want at most the capacity of %s (%g mL), got %s",
				o.Bioreactor.Model.Name, capacity, quote(r.get(bio, key).value))
		}
		return v
	}
	o.Bioreactor.InitialVolumeML = volume("initial_volume_ml")
	o.Bioreactor.EffluxTubeVolumeML = volume("efflux_tube_volume_ml")
	o.Bioreactor.InitialAltMediaFraction = r.number(bio, "initial_alt_media_fraction",
		func(f float64) bool { return f >= 0 && f <= 1 }, "a number from 0 to 1")
	o.Bioreactor.InitialCumulativeMediaAddedML = r.number(bio, "initial_cumulative_media_added_ml", nonNegative, "a non-negative number")
	o.Bioreactor.InitialCumulativeAltMediaAddedML = r.number(bio, "initial_cumulative_alt_media_added_ml", nonNegative, "a non-negative number")
	o.Bioreactor.InitialCumulativeWasteRemovedML = r.number(bio, "initial_cumulative_waste_removed_ml", nonNegative, "a non-negative number")

	const dos = "dosing_automation.config"
	o.Dosing.PauseBetweenSubdoses = r.duration(dos, "pause_between_subdoses_seconds", time.Second, 0, nonNegative, "a non-negative number")
	o.Dosing.WasteRemovalMultiplier = r.number(dos, "waste_removal_multiplier", nonNegative, "a non-negative number")
	o.Dosing.MaxSubdoseML = r.number(dos, "max_subdose", positive, "a positive number")
	o.Dosing.FirstRunDelay = r.duration(dos, "first_run_delay_seconds", time.Second, 0, nonNegative, "a non-negative number")
	o.Dosing.MaxScriptSteps = r.count(dos, "max_script_steps")
	o.Dosing.MaxExecute = r.duration(dos, "max_execute_minutes", time.Minute, MinMaxExecute, positive, "a positive number")

	o.Storage.Home = r.get("storage", "home").value

	o.Simulation = r.simulation()

	s = r.get("scripts", "memory_limit_mb")
	if mb, err := strconv.ParseUint(s.value, 10, 64); err == nil && mb >= MinMemoryLimitMB && mb <= MaxMemoryLimitMB {
		o.Scripts.MemoryLimitMB = mb
	} else {
		r.fail(s, "scripts", "memory_limit_mb", "want a whole number of MB from %d to %d, got %s", MinMemoryLimitMB, MaxMemoryLimitMB, quote(s.value))
	}
	return o
}

func positive(f float64) bool    { return f > 0 }
func nonNegative(f float64) bool { return f >= 0 }

// optionReader reads typed values and collects their errors.
type optionReader struct {
	c    *Config
	errs []error
	read [][2]string // every key read, for tests; {"PWM", ""} is the whole section
}

// get returns a key's setting, falling back to Defaults.
func (r *optionReader) get(section, key string) setting {
	r.read = append(r.read, [2]string{section, key})
	return r.c.lookup(section, key)
}

func (r *optionReader) fail(s setting, section, key, format string, args ...any) {
	r.errs = append(r.errs, s.errorf(section, key, format, args...))
}

// number reads a finite number for which ok holds.
func (r *optionReader) number(section, key string, ok func(float64) bool, want string) float64 {
	s := r.get(section, key)
	f, good := parseFloat(s.value)
	if !good || !ok(f) {
		r.fail(s, section, key, "want %s, got %s", want, quote(s.value))
		return 0
	}
	return f
}

// duration reads a number of units as a Duration, refusing one that is
// shorter than min once rounded to nanoseconds (a key whose zero means
// "none" has min 0) or too long for a Duration.
func (r *optionReader) duration(section, key string, unit, min time.Duration, ok func(float64) bool, want string) time.Duration {
	f := r.number(section, key, ok, want)
	if !ok(f) {
		return 0 // refused by number
	}
	d := math.Round(f * float64(unit))
	switch s := r.get(section, key); {
	case d >= math.MaxInt64:
		r.fail(s, section, key, "want %s, got %s, which is too long", want, quote(s.value))
		return 0
	case time.Duration(d) < min:
		units := "seconds"
		if unit == time.Minute {
			units = "minutes"
		}
		r.fail(s, section, key, "want at least %s %s (%v), got %s, which is %v",
			strconv.FormatFloat(math.Ceil(min.Seconds()/unit.Seconds()*1e4)/1e4, 'f', -1, 64), units, min, quote(s.value), time.Duration(d))
		return 0
	}
	return time.Duration(d)
}

// count reads a positive integer; "1e8" is allowed, "1.5" is not.
func (r *optionReader) count(section, key string) uint64 {
	s := r.get(section, key)
	if n, err := strconv.ParseUint(s.value, 10, 64); err == nil && n > 0 {
		return n
	}
	f, ok := parseFloat(s.value)
	if !ok || f < 1 || f != math.Trunc(f) || f >= 1<<64 {
		r.fail(s, section, key, "want a positive integer, got %s", quote(s.value))
		return 0
	}
	return uint64(f)
}

// port reads a TCP port number.
func (r *optionReader) port(section, key string) int {
	s := r.get(section, key)
	n, err := strconv.Atoi(s.value)
	if err != nil || n < 1 || n > 65535 {
		r.fail(s, section, key, "want a port number from 1 to 65535, got %s", quote(s.value))
		return 0
	}
	return n
}

// topicLevel reads a name that becomes an MQTT topic level.
func (r *optionReader) topicLevel(section, key string) string {
	s := r.get(section, key)
	if strings.ContainsAny(s.value, "/+#\n") {
		r.fail(s, section, key, "want a name without /, +, # or line breaks (it is an MQTT topic level), got %s", quote(s.value))
	}
	return s.value
}

// model reads [bioreactor] model.
func (r *optionReader) model() (Model, bool) {
	r.read = append(r.read, [2]string{"bioreactor", "model"})
	m, err := r.c.Model()
	if err != nil {
		r.errs = append(r.errs, err)
		return Model{}, false
	}
	return m, true
}
