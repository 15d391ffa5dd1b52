package hat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Layout is the hardware of one unit: its HAT version's tables and its
// model's, layered as upstream layers its YAML files.
type Layout struct {
	Major, Minor int
	PWM          PWMLayout
	// ADC maps upstream's entry names ("pd1".."pd4", "aux", "version") to
	// their chip.
	ADC  map[string]ADCEntry
	DAC  DACLayout
	Temp TempLayout
	GPIO GPIOLayout
	// Sources lists, per mod, where its values came from ("HAT 1.2
	// defaults", a file path), for errors and logs.
	Sources map[string][]string
}

// PWMLayout is pwm.yaml.
type PWMLayout struct {
	// Controller is "rpi_gpio" (the Pi's pins; the only one pio drives).
	Controller string `yaml:"controller"`
	// HeaterChannel is the heater's PWM channel ("5").
	HeaterChannel string `yaml:"heater_pwm_channel"`
	// Pins maps PWM channel to GPIO pin (BCM).
	Pins map[int]int    `yaml:"-"`
	Raw  map[string]int `yaml:"pwm_to_pin"`
}

// ADCEntry is one entry of adc.yaml.
type ADCEntry struct {
	Driver  string `yaml:"driver"` // ads1115, ads1114 or pico
	Address Addr   `yaml:"address"`
	Channel int    `yaml:"channel"`
}

// DACLayout is dac.yaml: the LED driver's address, and optionally its
// driver (dac43608 or pico; empty follows the HAT version, §1.4 item 6).
type DACLayout struct {
	Address Addr   `yaml:"address"`
	Driver  string `yaml:"driver"`
}

// TempLayout is temp.yaml.
type TempLayout struct {
	Address Addr `yaml:"address"`
}

// GPIOLayout is gpio.yaml.
type GPIOLayout struct {
	StatusLED int `yaml:"pcb_led_pin"`
	Button    int `yaml:"pcb_button_pin"`
	Hall      int `yaml:"hall_sensor_pin"`
	SDA       int `yaml:"sda_pin"`
	SCL       int `yaml:"scl_pin"`
}

// Addr is an I²C address, written in YAML as a number (0x48, 72) or a
// string ("0x48").
type Addr uint16

// UnmarshalYAML reads a 7-bit address.
func (a *Addr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("an I²C address must be a number, like 0x48")
	}
	v, err := strconv.ParseUint(strings.TrimSpace(n.Value), 0, 16)
	if err != nil {
		return fmt.Errorf("I²C address %q is not a number, like 0x48", n.Value)
	}
	if v > 0x7F {
		return fmt.Errorf("I²C address 0x%02X is above the 7-bit maximum 0x7F", v)
	}
	*a = Addr(v)
	return nil
}

func (a Addr) String() string { return fmt.Sprintf("0x%02X", uint16(a)) }

// LEDDriver is the LED driver of the layout: dac.yaml's driver, else
// upstream's rule: DAC43608 on HAT versions up to 1.0, the RP2040 after.
func (l Layout) LEDDriver() string {
	if l.DAC.Driver != "" {
		return l.DAC.Driver
	}
	if l.Major == 0 || l.Major == 1 && l.Minor == 0 {
		return "dac43608"
	}
	return "pico"
}

// ParseModYAML reads one of upstream's hardware YAML files: a mapping
// (empty for an empty file), with every key as text so that `1: 17` and
// `"1": 17` are the same key.
func ParseModYAML(data []byte) (map[string]any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	if v == nil {
		return table{}, nil
	}
	t, ok := normalize(v).(table)
	if !ok {
		return nil, fmt.Errorf("want a mapping of keys to values, got %T", v)
	}
	return t, nil
}

// normalize turns every mapping into a table with string keys.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(table, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(table, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	}
	return v
}

// LoadLayout builds the layout of HAT major.minor and model (name and
// version; empty name: none) for each mod as upstream does, with pio's
// built-in tables under each layer:
//
//	HAT defaults < <dir>/hats/<M.N>/<mod>.yaml < model defaults < <dir>/models/<name>/<version>/<mod>.yaml
//
// dir is upstream's hardware directory (~/.pioreactor/hardware); "" or a
// missing file adds nothing. Errors name the files.
func LoadLayout(dir string, major, minor int, model, modelVersion string) (Layout, error) {
	l := Layout{Major: major, Minor: minor, Sources: map[string][]string{}}
	var errs []error
	for _, mod := range Mods {
		merged, sources, err := layerMod(dir, major, minor, model, modelVersion, mod)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.Sources[mod] = sources
		if err := decodeMod(&l, mod, merged); err != nil {
			errs = append(errs, fmt.Errorf("hardware %s (%s): %w", mod, strings.Join(sources, " < "), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Layout{}, err
	}
	return l, nil
}

// layerMod merges the layers of one mod.
func layerMod(dir string, major, minor int, model, modelVersion, mod string) (table, []string, error) {
	merged := table{}
	var sources []string
	hatDef, modelDef := defaultsFor(major, minor, model, modelVersion, mod)
	add := func(t table, source string) {
		if t != nil {
			deepMerge(merged, t)
			sources = append(sources, source)
		}
	}
	add(hatDef, fmt.Sprintf("HAT %d.%d defaults", major, minor))
	if dir != "" {
		t, path, err := readModFile(filepath.Join(dir, "hats", versionKey(major, minor), mod+".yaml"))
		if err != nil {
			return nil, nil, err
		}
		add(t, path)
	}
	if model != "" {
		add(modelDef, fmt.Sprintf("%s %s defaults", model, modelVersion))
		if dir != "" {
			t, path, err := readModFile(filepath.Join(dir, "models", model, modelVersion, mod+".yaml"))
			if err != nil {
				return nil, nil, err
			}
			add(t, path)
		}
	}
	if len(sources) == 0 {
		where := ""
		if dir != "" {
			where = fmt.Sprintf(" and no %s", filepath.Join(dir, "hats", versionKey(major, minor), mod+".yaml"))
		}
		return nil, nil, fmt.Errorf("hardware %s: no built-in table for HAT %d.%d (known: %s)%s", mod, major, minor, knownList(), where)
	}
	return merged, sources, nil
}

// readModFile reads one YAML file; a missing one is nil.
func readModFile(path string) (table, string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("hardware file: %w", err)
	}
	t, err := ParseModYAML(data)
	if err != nil {
		return nil, path, fmt.Errorf("hardware file %s: %w", path, err)
	}
	return t, path, nil
}

// required lists the keys each mod must have after layering.
var required = map[string][]string{
	"pwm":  {"heater_pwm_channel", "pwm_to_pin"},
	"dac":  {"address"},
	"temp": {"address"},
	"gpio": {"pcb_led_pin", "pcb_button_pin", "hall_sensor_pin"},
}

// decodeMod checks a merged mod and stores it in l.
func decodeMod(l *Layout, mod string, merged table) error {
	var missing []string
	for _, k := range required[mod] {
		if _, ok := merged[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	data, err := yaml.Marshal(merged)
	if err != nil {
		return err
	}
	switch mod {
	case "pwm":
		err = yaml.Unmarshal(data, &l.PWM)
		if err == nil {
			err = l.PWM.check()
		}
	case "adc":
		l.ADC = map[string]ADCEntry{}
		err = yaml.Unmarshal(data, &l.ADC)
		if err == nil {
			err = checkADC(l.ADC)
		}
	case "dac":
		err = yaml.Unmarshal(data, &l.DAC)
		if err == nil && l.DAC.Driver != "" && l.DAC.Driver != "dac43608" && l.DAC.Driver != "pico" {
			err = fmt.Errorf("driver %q is not one of dac43608, pico", l.DAC.Driver)
		}
	case "temp":
		err = yaml.Unmarshal(data, &l.Temp)
	case "gpio":
		err = yaml.Unmarshal(data, &l.GPIO)
		if err == nil {
			err = l.GPIO.check()
		}
	}
	return err
}

// maxGPIO is the highest BCM pin on the Pi's header.
const maxGPIO = 27

func (p *PWMLayout) check() error {
	switch p.Controller {
	case "", "rpi_gpio":
	case "hat_mcu":
		// Upstream accepts it and ignores it; pio says so (quirk 9).
		return errors.New(`controller "hat_mcu" (PWM from the HAT's microcontroller) is not implemented; use rpi_gpio`)
	default:
		return fmt.Errorf("controller %q is not one of rpi_gpio, hat_mcu", p.Controller)
	}
	if len(p.Raw) == 0 {
		return errors.New("pwm_to_pin is empty")
	}
	p.Pins = map[int]int{}
	for _, k := range sortedKeys(p.Raw) {
		ch, err := strconv.Atoi(k)
		if err != nil || ch < 1 || ch > 9 {
			return fmt.Errorf("pwm_to_pin: channel %q is not a number from 1 to 9", k)
		}
		pin := p.Raw[k]
		if pin < 0 || pin > maxGPIO {
			return fmt.Errorf("pwm_to_pin: channel %d on GPIO%d, above the maximum GPIO%d", ch, pin, maxGPIO)
		}
		p.Pins[ch] = pin
	}
	if _, ok := p.Raw[p.HeaterChannel]; !ok {
		return fmt.Errorf("heater_pwm_channel %q is not a channel of pwm_to_pin (%s)", p.HeaterChannel, pwmChannelList(p.Pins))
	}
	return nil
}

// adcInputs is how many inputs each ADC driver has.
var adcInputs = map[string]int{"ads1115": 4, "ads1114": 1, "pico": 4}

func checkADC(entries map[string]ADCEntry) error {
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := entries[n]
		inputs, ok := adcInputs[e.Driver]
		if !ok {
			return fmt.Errorf("%s: driver %q is not one of ads1114, ads1115, pico", n, e.Driver)
		}
		if e.Channel < 0 || e.Channel >= inputs {
			return fmt.Errorf("%s: channel %d of %s is not one of 0 to %d", n, e.Channel, e.Driver, inputs-1)
		}
		if e.Address == 0 {
			return fmt.Errorf("%s: no address", n)
		}
	}
	return nil
}

func (g GPIOLayout) check() error {
	for _, p := range []struct {
		key string
		pin int
	}{{"pcb_led_pin", g.StatusLED}, {"pcb_button_pin", g.Button}, {"hall_sensor_pin", g.Hall}, {"sda_pin", g.SDA}, {"scl_pin", g.SCL}} {
		if p.pin < 0 || p.pin > maxGPIO {
			return fmt.Errorf("%s: GPIO%d is not one of GPIO0 to GPIO%d", p.key, p.pin, maxGPIO)
		}
	}
	return nil
}

// PhotodiodeEntry is the adc entry of photodiode channel 1 to 4 ("pdN").
func (l Layout) PhotodiodeEntry(channel int) (ADCEntry, bool) {
	e, ok := l.ADC["pd"+strconv.Itoa(channel)]
	return e, ok
}
