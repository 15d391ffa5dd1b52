// Package config reads pio's configuration: an ini file in upstream
// Pioreactor's format and sections ([PWM], [bioreactor], [mqtt],
// [dosing_automation.config], ...), layered over built-in defaults.
//
// Keys are case-sensitive, as upstream's are. A later file wins per key, so a
// unit file (unit_config.ini) can override the shared one. The defaults are the
// text of Defaults, which is also the documentation of every key pio reads.
package config

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Defaults is the configuration pio uses when no file says otherwise.
const Defaults = `
[cluster.topology]
# the unit name; empty means this machine's hostname
unit_name=
experiment=exp0

[mqtt]
broker_address=127.0.0.1
broker_port=1883
username=
password=

[PWM]
# PWM channel -> device. Pumps look their channel up by device name.
1=stirring
2=media
3=alt_media
4=waste
5=heating
# channels 6 to 9 are an external PWM expansion for extra pumps (simulated
# unless a board provides them); the examples use these two:
6=salty_media
7=acid

[bioreactor]
# the model: pioreactor_20ml or pioreactor_40ml (capacity 20/40, max fill 18/36 mL)
model=pioreactor_40ml
initial_volume_ml=14
efflux_tube_volume_ml=14
initial_alt_media_fraction=0
initial_cumulative_media_added_ml=0
initial_cumulative_alt_media_added_ml=0
initial_cumulative_waste_removed_ml=0

[dosing_automation.config]
pause_between_subdoses_seconds=5.0
waste_removal_multiplier=2.0
max_subdose=1.0
# seconds between the job being ready and the first execute(), as upstream
first_run_delay_seconds=2.0
# pio's script guards: the Starlark steps one execute() may take, and the
# longest one execute() may run (minutes, on the runtime clock)
max_script_steps=100000000
max_execute_minutes=60

[storage]
# where pio keeps its state; empty means $PIO_HOME, else ~/.pio
home=

[simulation]
# true flow of the simulated pumps at 100 % duty, mL/s, and the spread
# (relative standard deviation) of each pump's flow across seeds
pump_ml_per_second=0.5
pump_flow_spread=0.02
`

// Config is a parsed configuration.
type Config struct {
	sections map[string]map[string]string
	sources  []string
}

// New returns the defaults.
func New() *Config {
	c := &Config{sections: map[string]map[string]string{}}
	if err := c.parse(strings.NewReader(Defaults), "defaults"); err != nil {
		panic(err)
	}
	return c
}

// Load returns the defaults overlaid with each file that exists, in order.
// A missing file is skipped; a malformed one is an error naming file and line.
func Load(paths ...string) (*Config, error) {
	c := New()
	for _, p := range paths {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		err = c.parse(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
		c.sources = append(c.sources, p)
	}
	return c, nil
}

// Sources lists the files that were read.
func (c *Config) Sources() []string { return c.sources }

func (c *Config) parse(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	section := ""
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return fmt.Errorf("%s:%d: section header without ]", name, n)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			if c.sections[section] == nil {
				c.sections[section] = map[string]string{}
			}
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return fmt.Errorf("%s:%d: want key=value, got %q", name, n, line)
		}
		if section == "" {
			return fmt.Errorf("%s:%d: key outside of a section", name, n)
		}
		key := strings.TrimSpace(line[:i])
		val := strings.TrimSpace(line[i+1:])
		if j := strings.Index(val, " #"); j >= 0 {
			val = strings.TrimSpace(val[:j])
		}
		c.sections[section][key] = val
	}
	return sc.Err()
}

// Set overrides one key (pio's --config-override).
func (c *Config) Set(section, key, value string) {
	if c.sections[section] == nil {
		c.sections[section] = map[string]string{}
	}
	c.sections[section][key] = value
}

// Get returns a key's value and whether it is set.
func (c *Config) Get(section, key string) (string, bool) {
	v, ok := c.sections[section][key]
	return v, ok
}

// String returns a key's value, or def when unset or empty.
func (c *Config) String(section, key, def string) string {
	if v, ok := c.Get(section, key); ok && v != "" {
		return v
	}
	return def
}

// Float returns a key as a finite number; an unset key gives def, a malformed
// one an error naming section and key.
func (c *Config) Float(section, key string, def float64) (float64, error) {
	v, ok := c.Get(section, key)
	if !ok || v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("config: [%s] %s: want a number, got %q", section, key, v)
	}
	return f, nil
}

// Section returns a copy of a section's keys and values.
func (c *Config) Section(name string) map[string]string {
	out := map[string]string{}
	for k, v := range c.sections[name] {
		out[k] = v
	}
	return out
}

// PWMChannel returns the PWM channel a device is wired to, from [PWM]
// (channel=device), the way upstream's derived PWM_reverse section does.
func (c *Config) PWMChannel(device string) (int, bool) {
	best := 0
	for ch, dev := range c.sections["PWM"] {
		if dev != device {
			continue
		}
		n, err := strconv.Atoi(ch)
		if err == nil && (best == 0 || n < best) {
			best = n
		}
	}
	return best, best != 0
}

// BrokerAddr is host:port of the MQTT broker.
func (c *Config) BrokerAddr() string {
	host := c.String("mqtt", "broker_address", "127.0.0.1")
	if i := strings.Index(host, ";"); i >= 0 {
		host = host[:i]
	}
	return host + ":" + c.String("mqtt", "broker_port", "1883")
}
