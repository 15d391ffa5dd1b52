package sim

import (
	"sync"

	"github.com/piolab/pio/config"
)

// FromConfig returns the options of the simulated reactor a configuration
// describes: its pumps ([PWM], [simulation]) and its vial ([bioreactor]).
func FromConfig(o config.Options, seed int64) Options {
	devices := make(map[int]string, len(o.PWM))
	for ch, dev := range o.PWM {
		devices[ch] = dev
	}
	return Options{
		Seed: seed, Devices: devices,
		PumpMLPerSecond: o.Simulation.PumpMLPerSecond, FlowSpread: o.Simulation.PumpFlowSpread,
		VolumeML: o.Bioreactor.InitialVolumeML, EffluxML: o.Bioreactor.EffluxTubeVolumeML,
		CapacityML: o.Bioreactor.Model.CapacityML,
	}
}

var (
	defaultsOnce sync.Once
	defaults     config.Options
)

// configDefaults are the options of config.Defaults, which always parse.
func configDefaults() config.Options {
	defaultsOnce.Do(func() {
		var err error
		if defaults, err = config.New().Options(); err != nil {
			panic("config.Defaults does not parse: " + err.Error())
		}
	})
	return defaults
}
