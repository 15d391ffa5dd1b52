package hat

import (
	"fmt"
	"sort"
	"strings"
)

// The hardware tables of the OS image (§1.4 item 5 of the hardware
// reference) as pio's built-in defaults: upstream has no defaults and fails
// without the image's files; pio reads the same files on top of these
// (defaults_yaml.go), so a fresh install on a known HAT works and an edited file
// still wins. Each table is one of upstream's "mods" (pwm, adc, dac, temp,
// gpio) in the shape of its YAML file.

// Mods are upstream's hardware YAML files, in the order they are read.
var Mods = []string{"pwm", "adc", "dac", "temp", "gpio"}

type table = map[string]any

func adcEntry(driver string, addr, channel int) table {
	return table{"driver": driver, "address": addr, "channel": channel}
}

var (
	hatPWM   = table{"controller": "rpi_gpio", "heater_pwm_channel": "5", "pwm_to_pin": table{"1": 17, "2": 13, "3": 16, "4": 12, "5": 18}}
	alphaPWM = table{"controller": "rpi_gpio", "heater_pwm_channel": "5", "pwm_to_pin": table{"1": 6, "2": 13, "3": 16, "4": 12, "5": 18}}
	ads1115  = table{
		"aux": adcEntry("ads1115", 0x48, 3), "version": adcEntry("ads1115", 0x48, 2),
		"pd1": adcEntry("ads1115", 0x48, 1), "pd2": adcEntry("ads1115", 0x48, 0),
	}
	alphaADS1115 = table{
		"aux": adcEntry("ads1115", 0x48, 3), "version": adcEntry("ads1115", 0x48, 2),
		"pd1": adcEntry("ads1115", 0x48, 0), "pd2": adcEntry("ads1115", 0x48, 1),
	}
	pico = table{
		"aux": adcEntry("pico", 0x2C, 1), "version": adcEntry("pico", 0x2C, 0),
		"pd1": adcEntry("pico", 0x2C, 2), "pd2": adcEntry("pico", 0x2C, 3),
	}
	temp     = table{"address": 0x4F}
	gpioHAT1 = table{"pcb_led_pin": 23, "pcb_button_pin": 24, "hall_sensor_pin": 25, "sda_pin": 2, "scl_pin": 3}
	gpioHAT2 = table{"pcb_led_pin": 23, "pcb_button_pin": 4, "hall_sensor_pin": 21, "sda_pin": 2, "scl_pin": 3}
)

// hatDefaults are the tables of hats/<M.N>/<mod>.yaml. 0.1 (the prototype)
// is from the hard-coded constants of upstream's first mono-repo commit.
var hatDefaults = map[string]map[string]table{
	"0.1": {"pwm": alphaPWM, "adc": alphaADS1115, "dac": {"address": 0x49}, "temp": temp, "gpio": gpioHAT1},
	"1.0": {"pwm": hatPWM, "adc": ads1115, "dac": {"address": 0x49}, "temp": temp, "gpio": gpioHAT1},
	"1.1": {"pwm": hatPWM, "adc": pico, "dac": {"address": 0x2C}, "temp": temp, "gpio": gpioHAT2},
	"1.2": {"pwm": hatPWM, "adc": pico, "dac": {"address": 0x2C}, "temp": temp, "gpio": gpioHAT2},
}

// modelDefaults are the tables of models/<name>/<version>/<mod>.yaml: the
// v1.5 optics put each photodiode on its own ADS1114. (pioreactor_40ml 1.5
// is the newest image file; an earlier one had pd1 at 0x48, pd2 at 0x49.)
var modelDefaults = map[string]map[string]table{
	"pioreactor_20ml/1.5": {"adc": {"pd1": adcEntry("ads1114", 0x49, 0), "pd2": adcEntry("ads1114", 0x4A, 0)}},
	"pioreactor_40ml/1.5": {"adc": {"pd1": adcEntry("ads1114", 0x49, 0), "pd2": adcEntry("ads1114", 0x4A, 0)}},
	"pioreactor_20ml_XR/1.5": {"adc": {
		"pd1": adcEntry("ads1114", 0x49, 0), "pd2": adcEntry("ads1114", 0x4A, 0),
		"pd3": adcEntry("ads1114", 0x4B, 0), "pd4": adcEntry("ads1114", 0x48, 0),
	}},
	"pioreactor_40ml_XR/1.5": {"adc": {
		"pd1": adcEntry("ads1114", 0x49, 0), "pd2": adcEntry("ads1114", 0x4A, 0),
		"pd3": adcEntry("ads1114", 0x4B, 0), "pd4": adcEntry("ads1114", 0x48, 0),
	}},
}

// KnownHATs lists the HAT versions with built-in tables ("0.1", "1.0", ...).
func KnownHATs() []string {
	return sortedKeys(hatDefaults)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deepCopy copies a table and every table inside it, so merging never
// changes the defaults.
func deepCopy(t table) table {
	out := make(table, len(t))
	for k, v := range t {
		if sub, ok := v.(table); ok {
			v = deepCopy(sub)
		}
		out[k] = v
	}
	return out
}

// deepMerge writes over into dst as upstream's layering does: tables are
// merged key by key, anything else in over replaces what dst has.
func deepMerge(dst, over table) {
	for k, v := range over {
		sub, isTable := v.(table)
		old, oldIsTable := dst[k].(table)
		if isTable && oldIsTable {
			deepMerge(old, sub)
			continue
		}
		if isTable {
			v = deepCopy(sub)
		}
		dst[k] = v
	}
}

// versionKey is "M.N".
func versionKey(major, minor int) string { return fmt.Sprintf("%d.%d", major, minor) }

// knownList is "0.1, 1.0, 1.1, 1.2".
func knownList() string { return strings.Join(KnownHATs(), ", ") }

// defaultsFor returns copies of the built-in tables of a HAT version and a
// model ("" for none) for mod; either may be nil.
func defaultsFor(major, minor int, model, modelVersion, mod string) (hatTable, modelTable table) {
	if t, ok := hatDefaults[versionKey(major, minor)][mod]; ok {
		hatTable = deepCopy(t)
	}
	if t, ok := modelDefaults[model+"/"+modelVersion][mod]; ok {
		modelTable = deepCopy(t)
	}
	return hatTable, modelTable
}
