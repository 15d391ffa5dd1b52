package builtins

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/readings"
)

// ReadingsHost is a Host whose job keeps the readings of other jobs (OD,
// growth rate, temperature): every automation family's host implements it.
type ReadingsHost interface {
	Readings() *readings.Cache
}

// Readings returns the builtins that read other jobs' latest readings,
// granted to every family (Common).
func Readings() starlark.StringDict {
	return starlark.StringDict{
		"latest_od":            starlark.NewBuiltin("latest_od", latestOD),
		"latest_normalized_od": latestValue("latest_normalized_od", readings.NormalizedOD),
		"latest_growth_rate":   latestValue("latest_growth_rate", readings.GrowthRate),
		"latest_od_fused":      latestValue("latest_od_fused", readings.ODFused),
		"latest_temperature":   latestValue("latest_temperature", readings.Temperature),
		"latest_biomass":       starlark.NewBuiltin("latest_biomass", latestBiomass),
	}
}

// latest reads kind k for builtin b, with upstream's rules (package
// readings): a missing or stale reading is an error, which ends the run in
// ErrorOccurred.
func latest(th *starlark.Thread, b *starlark.Builtin, k readings.Kind) (readings.Reading, error) {
	if err := refuseBlocking(th, b); err != nil {
		return readings.Reading{}, err
	}
	h, ctx, err := host(th, b)
	if err != nil {
		return readings.Reading{}, err
	}
	rh, ok := h.(ReadingsHost)
	if !ok || rh.Readings() == nil {
		return readings.Reading{}, fmt.Errorf("%s: this automation has no readings", b.Name())
	}
	r, err := rh.Readings().Latest(ctx, k)
	if err != nil {
		if strings.HasPrefix(err.Error(), b.Name()+" ") {
			return readings.Reading{}, err // it names the builtin already
		}
		return readings.Reading{}, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return r, nil
}

// latest_normalized_od(), latest_growth_rate(), latest_od_fused(),
// latest_temperature() -> float: the latest reading, at most 5 minutes old.
func latestValue(name string, k readings.Kind) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
			return nil, err
		}
		r, err := latest(th, b, k)
		if err != nil {
			return nil, err
		}
		return starlark.Float(r.Value), nil
	})
}

// latest_od() -> dict: the latest raw OD by channel, {"2": 0.41}.
func latestOD(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	r, err := latest(th, b, readings.OD)
	if err != nil {
		return nil, err
	}
	return channelDict(r.Channels), nil
}

func channelDict(m map[string]float64) *starlark.Dict {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := starlark.NewDict(len(keys))
	for _, k := range keys {
		d.SetKey(starlark.String(k), starlark.Float(m[k]))
	}
	return d
}

// latest_biomass(signal, channel=None) -> float: the latest value of a
// biomass signal: "normalized_od", "od_fused", or "od" (which needs the
// channel, "1".."4").
func latestBiomass(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var signal string
	var channel starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "signal", &signal, "channel?", &channel); err != nil {
		return nil, err
	}
	var k readings.Kind
	switch signal {
	case "normalized_od":
		k = readings.NormalizedOD
	case "od_fused":
		k = readings.ODFused
	case "od":
		k = readings.OD
	default:
		return nil, fmt.Errorf("%s: signal %q: want normalized_od, od_fused or od", b.Name(), signal)
	}
	var ch string
	if k == readings.OD {
		switch c := channel.(type) {
		case starlark.String:
			ch = string(c)
		case starlark.Int:
			ch = c.String()
		default:
			return nil, fmt.Errorf("%s: signal od needs a channel (\"1\" to \"4\"), got %s", b.Name(), channel)
		}
	}
	r, err := latest(th, b, k)
	if err != nil {
		return nil, err
	}
	if k != readings.OD {
		return starlark.Float(r.Value), nil
	}
	v, ok := r.Channels[ch]
	if !ok {
		have := make([]string, 0, len(r.Channels))
		for c := range r.Channels {
			have = append(have, c)
		}
		sort.Strings(have)
		return nil, fmt.Errorf("%s: od_reading publishes no channel %q (channels: %v)", b.Name(), ch, have)
	}
	return starlark.Float(v), nil
}
