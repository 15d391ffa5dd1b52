package sim

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/piolab/pio/config"
)

// FromConfig returns the options of the simulated reactor a configuration
// describes: its pumps ([PWM]), its vial ([bioreactor]) and its model
// ([simulation]). The photodiodes and the IR LED take their defaults (1 is
// REF, 2 is 90°, the IR LED on A); FromConfigFile reads them too.
func FromConfig(o config.Options, seed int64) Options {
	devices := make(map[int]string, len(o.PWM))
	for ch, dev := range o.PWM {
		devices[ch] = dev
	}
	s := o.Simulation
	m := modelOf(s)
	return Options{
		Seed: seed, Devices: devices,
		PumpMLPerSecond: s.PumpMLPerSecond, FlowSpread: s.PumpFlowSpread,
		VolumeML: o.Bioreactor.InitialVolumeML, EffluxML: o.Bioreactor.EffluxTubeVolumeML,
		CapacityML: o.Bioreactor.Model.CapacityML,
		OD:         s.InitialOD, GrowthPerHour: s.GrowthRatePerHour, MaxOD: s.MaxOD,
		Model: &m,
	}
}

// FromConfigFile is FromConfig of cfg's options, with the photodiode
// channels of [od_config.photodiode_channel] and the IR LED's channel, the
// one labelled IR in [leds]. A channel a file sets to nothing is unused,
// even where Defaults give it a role.
func FromConfigFile(cfg *config.Config, seed int64) (Options, error) {
	o, err := cfg.Options()
	if err != nil {
		return Options{}, err
	}
	opts := FromConfig(o, seed)
	var errs []error
	const pdSec = "od_config.photodiode_channel"
	pds := cfg.Section(pdSec)
	opts.Photodiodes = map[int]string{}
	refs := 0
	for ch := 1; ch <= 4; ch++ {
		key := strconv.Itoa(ch)
		role, inFile := cfg.Get(pdSec, key)
		if !inFile {
			role = pds.String(key)
		}
		if err := checkRole(ch, role); err != nil {
			errs = append(errs, fmt.Errorf("[%s] %s: %w", pdSec, key, err))
			continue
		}
		if role == "REF" {
			refs++
		}
		if role != "" {
			opts.Photodiodes[ch] = role
		}
	}
	if refs > 1 {
		errs = append(errs, fmt.Errorf("[%s]: %d channels are REF, want at most one", pdSec, refs))
	}
	leds := cfg.Section("leds")
	for _, c := range ledChannels {
		if v, inFile := cfg.Get("leds", c); v == "IR" || (!inFile && leds.String(c) == "IR") {
			opts.IRChannel = c
			break
		}
	}
	if opts.IRChannel == "" {
		errs = append(errs, errors.New("[leds]: no channel (A to D) is labelled IR"))
	}
	if err := errors.Join(pds.Err(), leds.Err()); err != nil {
		errs = append(errs, err)
	}
	return opts, errors.Join(errs...)
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
