package config

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Section reads the typed values of one section for the package that owns
// it (a job reads [stirring.config] itself), with the same rules and errors
// as Options: a missing or empty key takes its value from Defaults, and a bad
// value is an *Error naming file, line, section and key. Errors are
// collected; Err joins them. A zero value is returned for a bad key.
type Section struct {
	r    *optionReader
	name string
}

// Section returns a reader of section name.
func (c *Config) Section(name string) *Section {
	return &Section{r: &optionReader{c: c}, name: name}
}

// Has reports whether key has a value in a file or in Defaults.
func (s *Section) Has(key string) bool {
	if v, ok := s.r.c.Get(s.name, key); ok && v != "" {
		return true
	}
	d, ok := defaultTable()[s.name][key]
	return ok && d.value != ""
}

// String returns the key's value as written.
func (s *Section) String(key string) string { return s.r.get(s.name, key).value }

// Float reads a finite number for which ok holds (nil: any); want
// describes what ok accepts ("a positive number").
func (s *Section) Float(key string, ok func(float64) bool, want string) float64 {
	if ok == nil {
		ok = func(float64) bool { return true }
		if want == "" {
			want = "a number"
		}
	}
	return s.r.number(s.name, key, ok, want)
}

// Seconds reads a number of seconds for which ok holds as a Duration.
func (s *Section) Seconds(key string, ok func(float64) bool, want string) time.Duration {
	return s.r.duration(s.name, key, time.Second, 0, ok, want)
}

// Int reads a whole number within [min, max].
func (s *Section) Int(key string, min, max int) int {
	st := s.r.get(s.name, key)
	n, err := strconv.Atoi(strings.TrimSpace(st.value))
	if err != nil || n < min || n > max {
		s.r.fail(st, s.name, key, "want a whole number from %d to %d, got %s", min, max, quote(st.value))
		return 0
	}
	return n
}

// Bool reads a boolean as upstream's configparser does: 1/yes/true/on and
// 0/no/false/off, in any case.
func (s *Section) Bool(key string) bool {
	st := s.r.get(s.name, key)
	switch strings.ToLower(strings.TrimSpace(st.value)) {
	case "1", "yes", "true", "on":
		return true
	case "0", "no", "false", "off":
		return false
	}
	s.r.fail(st, s.name, key, "want true or false (1/0, yes/no, on/off), got %s", quote(st.value))
	return false
}

// OneOf reads a value that must be one of choices.
func (s *Section) OneOf(key string, choices ...string) string {
	st := s.r.get(s.name, key)
	for _, c := range choices {
		if st.value == c {
			return c
		}
	}
	s.r.fail(st, s.name, key, "want one of %s, got %s", strings.Join(choices, ", "), quote(st.value))
	return ""
}

// Fail records an error about key, for checks that involve several keys.
func (s *Section) Fail(key, format string, args ...any) {
	s.r.fail(s.r.get(s.name, key), s.name, key, format, args...)
}

// Keys lists the section's keys that have a value, from files and Defaults,
// sorted.
func (s *Section) Keys() []string { return s.r.c.keys(s.name) }

// Err joins the errors of every value read so far (nil: all good).
func (s *Section) Err() error {
	sortErrors(s.r.errs)
	return errors.Join(s.r.errs...)
}

// Positive and NonNegative are the usual checks for Float and Seconds.
func Positive(f float64) bool    { return f > 0 }
func NonNegative(f float64) bool { return f >= 0 }

// Within returns a check for lo <= f <= hi.
func Within(lo, hi float64) func(float64) bool {
	return func(f float64) bool { return f >= lo && f <= hi }
}

// keys lists a section's keys with a value, in files or Defaults, sorted.
func (c *Config) keys(section string) []string {
	seen := map[string]bool{}
	var out []string
	for _, table := range []map[string]map[string]setting{c.sections, defaultTable()} {
		for k, v := range table[section] {
			if v.value != "" && !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// OwnedSections are the sections that Options does not read: the package
// named reads each through Section, and its tests check it reads every key
// of Defaults in it.
var OwnedSections = map[string]string{
	"leds":                              "leds",
	"monitor.config":                    "runtime (the monitor)",
	"hardware":                          "unit (the board)",
	"scripts.hardware":                  "scripthw",
	"scripts.http":                      "scriptnet",
	"scripts.mqtt":                      "scriptnet",
	"od_config.photodiode_channel":      "odreading",
	"od_reading.config":                 "odreading",
	"growth_rate_calculating.config":    "growthrate",
	"stirring.config":                   "stirring",
	"stirring.pid":                      "stirring",
	"temperature_automation.thermostat": "temperature",
	"dosing_automation.turbidostat":     "stdlib (turbidostat.star) through the config builtin",
	"dosing_automation.pid_morbidostat": "stdlib (pid_morbidostat.star) through the config builtin",
}

// List splits a comma-separated value ("6, 7", "lab/#,pioreactor/+/+/logs/#")
// into its entries, without spaces and empty entries: the form of every
// list a section's key holds.
func List(value string) []string {
	var out []string
	for _, e := range strings.Split(value, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
