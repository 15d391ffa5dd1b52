package builtins

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// ConfigHost is a Host that reads the unit's configuration.
type ConfigHost interface {
	// ConfigValue returns a key's value as written (from the files, else
	// pio's defaults), and whether it has one.
	ConfigValue(section, key string) (string, bool)
}

// ScriptSections says which configuration sections a script may read: the
// automations' own sections and the photodiode layout. Others (the broker's
// credentials, storage paths) stay with pio.
func ScriptSections(section string) bool {
	for _, p := range []string{"dosing_automation.", "temperature_automation.", "led_automation."} {
		if strings.HasPrefix(section, p) {
			return true
		}
	}
	return section == "od_config.photodiode_channel"
}

// config_get(section, key, default=None) -> int, float, string or default:
// a value of the unit's config.ini (or pio's default for it), as a number
// when it reads as one, else as the string written; default when the key has
// no value. Only the sections ScriptSections allows.
func configGet(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var section, key string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "section", &section, "key", &key, "default?", &def); err != nil {
		return nil, err
	}
	if !ScriptSections(section) {
		return nil, fmt.Errorf("%s: scripts may read [dosing_automation.*], [temperature_automation.*], [led_automation.*] and [od_config.photodiode_channel], not [%s]", b.Name(), section)
	}
	h, _, err := host(th, b)
	if err != nil {
		return nil, err
	}
	ch, ok := h.(ConfigHost)
	if !ok {
		return nil, fmt.Errorf("%s: this automation has no configuration", b.Name())
	}
	v, ok := ch.ConfigValue(section, key)
	if !ok {
		return def, nil
	}
	return configValue(v), nil
}

// configValue is v as an int, a finite float, or the string itself.
func configValue(v string) starlark.Value {
	s := strings.TrimSpace(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return starlark.MakeInt64(n)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return starlark.Float(f)
	}
	return starlark.String(v)
}
