// Package config reads pio's configuration: ini files in upstream
// Pioreactor's format and sections ([PWM], [bioreactor], [mqtt],
// [dosing_automation.config], ...), layered over built-in defaults, and turns
// them into typed, validated Options.
//
// # Files and defaults
//
// Load reads the files in order (config.ini, then unit_config.ini); a later
// file wins per key. Under every file lies Defaults, whose text is both the
// documentation of every key pio reads and the only place their defaults are
// written: Options takes a missing or empty value from it. Sections and keys pio does not know are kept (upstream's files have
// many) and are no error. Config remembers where each value came from (a
// file's path and line, "defaults", or "override" for Set), and errors name
// it: config.ini:12: [dosing_automation.config] max_subdose: want a positive
// number, got "-1".
//
// # Syntax
//
// The files are read by the rules of Python's configparser as upstream sets
// it up (ConfigParser(strict=False, allow_no_value=True) with optionxform=str),
// through the ini.v1 package:
//
//   - Section names and keys are case-sensitive. configparser lowercases keys
//     by default, but upstream turns that off (optionxform = str) and relies
//     on it: [dosing_automation.pid_morbidostat] Kp, Ki, Kd.
//   - A key and its value are split at the first "=" or ":"; spaces around
//     both are dropped. A key with no delimiter at all has an empty value
//     (allow_no_value). Empty values are allowed.
//   - Lines whose first non-space character is "#" or ";" are comments, also
//     inside a continued value. Blank lines are ignored.
//   - A line indented deeper than its key continues the key's value; the
//     lines are trimmed and joined with "\n", blank lines within the value
//     are kept, trailing ones dropped.
//   - Inline comments are NOT stripped: in "max_subdose = 1.0 # mL" the value
//     is "1.0 # mL", as configparser (inline_comment_prefixes=None) and so
//     upstream read it. pio used to cut values at " #"; it no longer does, so
//     a file means the same to pio and to upstream. A number with a comment
//     behind it is then an error that says why, rather than a silently
//     different value.
//   - A repeated section continues the earlier one; a repeated key in one
//     file keeps its last value (strict=False).
//   - Lines are split at "\n", "\r\n" and "\r" (Python's universal newlines).
//
// Deviations from configparser, none of which upstream's files exercise:
// values are raw (no %(name)s interpolation, "%%" stays "%%"); [DEFAULT] is
// an ordinary section whose keys do not show through into other sections; a
// leading UTF-8 byte order mark is skipped (configparser fails on it);
// section names are trimmed ("[ mqtt ]" is [mqtt]); a line that starts with
// "[" but is no header, a key before the first section, an empty key, and
// keys that are "-" or start with a quote are errors naming file and line.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Defaults is the configuration pio uses when no file says otherwise. It is
// the only place pio's defaults are written: a key that is missing or empty
// in every file takes its value from here.
const Defaults = `
[cluster.topology]
# the unit name; empty means this machine's hostname
unit_name=
experiment=exp0
# the leader: the unit whose name is leader_hostname hosts the broker, the
# database and the HTTP API (pio leader); workers reach it at leader_address
leader_hostname=
leader_address=127.0.0.1

[ui]
# the leader's HTTP API (upstream's [ui] keys): its port and protocol, for
# the API itself and for every command that calls it (pio workers, pios);
# upstream serves port 80 through lighttpd, pio serves it itself on 8080
port=8080
proto=http

[cluster.daemon]
# a unit's daemon (pio daemon) stops every pump once the broker has been
# unreachable this long, in seconds
broker_lost_stop_seconds=30
# how long the leader, pios and pio run wait for a daemon's answer, seconds
request_timeout_seconds=10

[cluster.leader]
# the leader's SQLite database; empty means <home>/pio.sqlite
database=
# the address the API listens on; empty means all interfaces, port [ui] port
api_listen=

[cluster.security]
# the API token pio's cluster commands (pio workers, pio experiments, pios)
# send to the leader; the leader refuses any change without a valid one
api_token=
# (leader) the API tokens it accepts: a file of "name token" lines, the name
# being what the audit trail records; empty: changes through the API are refused
api_tokens_file=
# (leader) the MQTT users its embedded broker accepts: a file of
# "name password-sha256 role" lines (role: leader, unit or viewer; a unit's
# user is its name and writes only under pioreactor/<name>/; pio auth
# hash-password makes the hash; docs/cluster-security.md); empty: the broker
# accepts anyone, as upstream's does
broker_users_file=
# TLS for the leader's broker and API: its certificate and key (PEM); empty: none
tls_cert_file=
tls_key_file=
# the CA that signed the leader's certificate, for units and commands that
# connect with TLS; empty: the system's roots
tls_ca_file=

[mqtt]
# the broker's host; upstream allows "host;fallback" and pio, like upstream,
# uses the part before the first ";"
broker_address=127.0.0.1
broker_port=1883
username=
password=
# 1: connect to the broker with TLS ([cluster.security] tls_ca_file verifies it)
use_tls=0

[PWM]
# PWM channel (1 to 9) -> device. Pumps look their channel up by device name.
# A device may be on one channel only; an empty device leaves the channel
# unwired. A device a file wires to a channel is no longer on the channel
# these defaults give it.
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
# volumes in mL; initial_volume_ml and efflux_tube_volume_ml at most the capacity
initial_volume_ml=14
efflux_tube_volume_ml=14
# 0 to 1
initial_alt_media_fraction=0
initial_cumulative_media_added_ml=0
initial_cumulative_alt_media_added_ml=0
initial_cumulative_waste_removed_ml=0

[dosing_automation.config]
pause_between_subdoses_seconds=5.0
waste_removal_multiplier=2.0
# mL, more than 0
max_subdose=1.0
# seconds between the job being ready and the first execute(), as upstream
first_run_delay_seconds=2.0
# pio's script guards: the Starlark steps one execute() may take, and the
# longest one execute() may run (minutes, on the runtime clock; at least
# 0.0167, one second)
max_script_steps=100000000
max_execute_minutes=60

[leds]
# LED channel (A to D) -> label; od_reading drives the channel labelled IR,
# and a light program the others
A=IR
B=white_light
C=
D=

[od_config.photodiode_channel]
# photodiode channel (1 to 4) -> REF (the reference photodiode), an angle
# (45, 90, 135, 180), or empty (unused). At most one REF, at least one angle.
1=REF
2=90
3=
4=

[od_reading.config]
# readings per second, more than 0 (0.2: one every 5 s)
samples_per_second=0.2
# the IR LED's intensity in percent (0 to 100; above 90 warns), or auto
ir_led_intensity=80
# smoothing of the reference photodiode, 0 to 1
pd_reference_ema=0.75
# unity (divide by the experiment's first REF reading) or classic (by 1.0)
ref_normalization=unity
# subtract each channel's dark reading (IR off) taken at start
use_dark_offsets=true
# pull of each reading's estimate toward the previous one (0: none)
smoothing_penalizer=3.0
# turn the other LEDs off while a reading is taken
turn_off_leds_during_reading=true

[growth_rate_calculating.config]
# OD readings that set the normalisation (at least 1)
samples_for_od_statistics=10
# readings further than this many standard deviations are outliers (more than 2)
ekf_outlier_std_threshold=5.0

[stirring.config]
# the stirrer's target speed, RPM (0 to 5000)
target_rpm=500
# the duty cycle to start from, percent, without a stirring calibration
initial_duty_cycle=30
pwm_hz=200
# seconds between two corrections of the duty cycle
duration_between_updates_seconds=23
# stop stirring around each OD reading (od_reading must run)
enable_dodging_od=false
# seconds stirring stops before and resumes after each OD reading
pre_delay_duration=1.5
post_delay_duration=0.25
# RPM while an OD reading is taken, when dodging
target_rpm_during_od_reading=0

[stirring.pid]
Kp=0.005
Ki=0.0
Kd=0.0

[temperature_automation.thermostat]
Kp=2.6
Ki=0.0
Kd=4.6

[dosing_automation.turbidostat]
# auto, normalized_od, od_fused or od
biomass_signal=auto

[dosing_automation.pid_morbidostat]
Kp=1.0
Ki=0.0
Kd=0.0
minimum_dosing_volume_ml=0.1

[monitor.config]
# hours between the monitor's self-checks (disk space, CPU temperature,
# jobs lost); 0 checks once, at start
self_check_interval_hours=12

[hardware]
# The board that drives the unit: auto (the Pioreactor HAT when one is
# detected, else the simulated reactor, said once in the log), hat (the HAT;
# without one pio stops with the reason) or simulator
board=auto
# The unit's model, as upstream names it (pioreactor_20ml, pioreactor_40ml,
# pioreactor_20ml_XR, pioreactor_40ml_XR), and its version (1.0, 1.1, 1.5).
# Version 1.5 reads each photodiode from its own ADS1114; older models from
# the HAT's ADC. Upstream's default is pioreactor_40ml 1.5. Env MODEL_NAME and
# MODEL_VERSION override them. Files under <home>/hardware (hats/<M.N>/,
# models/<name>/<version>/, as upstream) change the built-in pin and chip
# tables.
model_name=pioreactor_40ml
model_version=1.5

[scripts.hardware]
# What automation scripts may open with the hw module
# (docs/hardware-scripts.md); empty grants nothing. Comma-separated lists:
# pwm: PWM channels (6, 7); gpio: BCM GPIO lines (26); i2c: 7-bit addresses
# on bus 1 (0x10) or <bus>:<address> (3:0x10); serial: ports (/dev/ttyACM0)
pwm=
gpio=
i2c=
serial=

[scripts.http]
# What scripts may reach with the http module (docs/script-network.md); empty
# grants nothing. allowed_hosts: comma-separated host names or addresses,
# each exact (no wildcards): "example.org" allows only the scheme's default
# port (80 for http, 443 for https), "example.org:8080" or
# "[2001:db8::1]:8080" that port
allowed_hosts=
# the longest a request may take, seconds (0.1 to 300); a script's own
# timeout= may only shorten it
timeout_seconds=10
# the largest response body a script may read, kB (1 to 16384)
max_response_kb=1024

[scripts.mqtt]
# MQTT topics scripts may use beyond their own (docs/script-network.md);
# empty grants nothing. Comma-separated topic filters, + for one level and #
# for the rest: publish (mqtt.publish), subscribe (handlers outside
# pioreactor/<unit>/<experiment>/), e.g. lab/alerts/#, pioreactor/+/+/od_reading/ods
publish=
subscribe=

[storage]
# where pio keeps its state; empty means $PIO_HOME, else ~/.pio
home=

[simulation]
# The simulated reactor of pio simulate (docs/simulation.md describes the
# model). True flow of the simulated pumps at 100 % duty, mL/s (0.001 to 10,
# as a pump calibration), and the spread (relative standard deviation) of
# each pump's flow across seeds, 0 up to 1
pump_ml_per_second=0.5
pump_flow_spread=0.02
# culture: the true OD at start (more than 0, below max_od), the maximum
# growth rate per hour (more than 0, at most 10), the carrying capacity as OD
# (more than 0, at most 100), and the lag phase in hours (0: none, at most 100)
initial_od=0.05
growth_rate_per_hour=0.3
max_od=2.5
lag_hours=1.0
# growth is multiplied by max(0, 1 - alt_media_inhibition * alt_media_fraction):
# 0 leaves alt-media harmless, 1.5 stops growth at a fraction of 2/3 (0 to 100)
alt_media_inhibition=1.5
# growth is multiplied by q10^((T_vial - reference)/10); 1 turns the
# temperature dependence off (0.5 to 10; reference -20 to 100 °C)
growth_temperature_q10=1.0
growth_reference_celsius=30
# vial temperature: it relaxes toward room + vial_heater_gain * duty/100 with
# time constant vial_time_constant_minutes (room -20 to 60 °C; gain 0 to 100
# °C; time constant more than 0, at most 1440)
room_celsius=22
vial_heater_gain_celsius=60
vial_time_constant_minutes=15
# the heating PCB, which carries the thermometer, relaxes toward
# T_vial + pcb_heater_gain * duty/100 with its own, shorter time constant
# (gain 0 to 200 °C; more than 0 s and less than the vial's)
pcb_heater_gain_celsius=55
pcb_time_constant_seconds=67.5
# the thermometer (a TMP1075): noise standard deviation and resolution, °C
# (noise 0 to 5; resolution 0, none, to 1)
thermometer_noise_celsius=0.02
thermometer_resolution_celsius=0.0625
# stirring: RPM = stirring_rpm_per_percent * (duty - dead zone) above the
# dead zone, reached with the time constant (dead zone 0 to 100 %; 0 to 1000
# RPM per %; 0 to 60 s, 0: at once)
stirring_dead_zone_percent=10
stirring_rpm_per_percent=25
stirring_time_constant_seconds=1.5
# photodiodes, volts at IR intensity 100 %: the 90° signal is
# signal_volts_per_od * OD / (1 + OD/signal_saturation_od), the reference
# reference_volts; each has dark_volts added and white noise of the given
# standard deviation per sample (volts per OD 0.001 to 10; saturation OD
# more than 0; every other volts 0 to 3)
signal_volts_per_od=0.8
signal_saturation_od=8
reference_volts=0.25
dark_volts=0.002
signal_noise_volts=0.001
reference_noise_volts=0.0003
# the IR LED's output drifts slowly: a relative amplitude (0 to 0.5) over a
# period in hours (more than 0); the reference photodiode sees the drift too
led_drift_fraction=0.01
led_drift_period_hours=12
# mains ripple on every photodiode: amplitude in volts (0 to 1) at 50 or 60 Hz
mains_ripple_volts=0.0005
mains_hz=60

[scripts]
# the memory, in MB, that a process running a script (pio run-script, pio
# simulate) may map beyond what it has when it starts: the script's values
# and pio's own work, which fits in 32 MB. A script that needs more is
# stopped, with every output off. 32 to 1048576.
memory_limit_mb=128
`

// Where a value came from when it is not a file.
const (
	SourceDefaults = "defaults" // the Defaults text
	SourceOverride = "override" // Set (pio's --config-override)
)

// Error is a configuration error: a malformed line, or a value that is not
// what its key needs.
type Error struct {
	File    string // the file's path as given to Load, SourceDefaults or SourceOverride
	Line    int    // 1-based; 0 when unknown (a value from Set)
	Section string // empty for a syntax error
	Key     string // empty for a syntax error
	Msg     string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Section != "" {
		fmt.Fprintf(&b, "[%s] ", e.Section)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// setting is one key's value and where it came from.
type setting struct {
	value string
	file  string
	line  int
}

// Config is a parsed configuration. Its methods may be called from several
// goroutines, except Set, which must not run concurrently with anything else.
type Config struct {
	sections map[string]map[string]setting
	sources  []string

	// parsed caches Options until Set or a file changes the configuration.
	mu     sync.Mutex
	parsed *parsedOptions
}

type parsedOptions struct {
	o   Options
	err error
}

// defaultTable is Defaults, parsed once.
var defaultTable = sync.OnceValue(func() map[string]map[string]setting {
	c := &Config{sections: map[string]map[string]setting{}}
	if err := c.merge(SourceDefaults, []byte(Defaults)); err != nil {
		panic(err)
	}
	return c.sections
})

// New returns the defaults.
func New() *Config {
	c := &Config{sections: map[string]map[string]setting{}}
	for sec, keys := range defaultTable() {
		c.sections[sec] = map[string]setting{}
		for k, s := range keys {
			c.sections[sec][k] = s
		}
	}
	return c
}

// Load returns the defaults overlaid with each file that exists, in order.
// A missing file is skipped; a malformed one is an *Error naming file and line.
func Load(paths ...string) (*Config, error) {
	c := New()
	for _, p := range paths {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := c.merge(p, data); err != nil {
			return nil, err
		}
		c.sources = append(c.sources, p)
	}
	return c, nil
}

// merge parses one file and lays its keys over c's.
func (c *Config) merge(name string, data []byte) error {
	c.forget()
	entries, err := parseINI(name, data)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if c.sections[e.section] == nil {
			c.sections[e.section] = map[string]setting{}
		}
		c.sections[e.section][e.key] = setting{value: e.value, file: name, line: e.line}
	}
	return nil
}

// Sources lists the files that were read.
func (c *Config) Sources() []string { return c.sources }

// Set overrides one key (pio's --config-override). Its source is SourceOverride.
func (c *Config) Set(section, key, value string) {
	c.forget()
	if c.sections == nil {
		c.sections = map[string]map[string]setting{}
	}
	if c.sections[section] == nil {
		c.sections[section] = map[string]setting{}
	}
	c.sections[section][key] = setting{value: value, file: SourceOverride}
}

// Get returns a key's value and whether it is set.
func (c *Config) Get(section, key string) (string, bool) {
	s, ok := c.sections[section][key]
	return s.value, ok
}

// Source tells where a key's value came from: a file's path and the line of
// the key (the last one, if the file repeats it), SourceDefaults, or
// SourceOverride (line 0).
func (c *Config) Source(section, key string) (file string, line int, ok bool) {
	s, ok := c.sections[section][key]
	return s.file, s.line, ok
}

// joinHostPort joins a broker address (the part before any ";") and a port.
func joinHostPort(host, port string) string {
	host, _, _ = strings.Cut(host, ";")
	host = strings.TrimSpace(host)
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, port)
}

// lookup returns a key's setting, or Defaults' when the key is unset or
// empty. Every key pio reads is in Defaults; asking for one that is not is a
// programming error.
func (c *Config) lookup(section, key string) setting {
	if s, ok := c.sections[section][key]; ok && s.value != "" {
		return s
	}
	s, ok := defaultTable()[section][key]
	if !ok {
		panic(fmt.Sprintf("config: [%s] %s is not in Defaults", section, key))
	}
	return s
}

// errorf makes an *Error for this value.
func (s setting) errorf(section, key, format string, args ...any) *Error {
	file := s.file
	if file == "" {
		file = SourceOverride
	}
	return &Error{File: file, Line: s.line, Section: section, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// parseFloat parses a finite number.
func parseFloat(v string) (float64, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// quote quotes a value for a message, with a hint if it looks like an
// inline comment, which configparser (and so pio) keeps in the value.
func quote(v string) string {
	q := strconv.Quote(v)
	if hasInlineComment(v) {
		q += " (inline comments are not stripped; put the comment on a line of its own)"
	}
	return q
}

func hasInlineComment(v string) bool {
	for _, c := range []string{" #", "\t#", " ;", "\t;"} {
		if strings.Contains(v, c) {
			return true
		}
	}
	return false
}

// pwmWire is one [PWM] entry.
type pwmWire struct {
	channel int
	device  string
	s       setting
}

// pwm resolves [PWM] into device -> channel, with the errors Options reports.
// Defaults lie under the config's own entries. A device that a file (or Set)
// wires loses the channels Defaults give it; of the rest, the lowest channel
// wins, and every other channel of the same device is an error.
func (c *Config) pwm() (map[string]int, []error) {
	merged := map[string]setting{}
	for k, s := range defaultTable()["PWM"] {
		merged[k] = s
	}
	for k, s := range c.sections["PWM"] {
		merged[k] = s
	}
	var errs []error
	byDevice := map[string][]pwmWire{}
	for key, s := range merged {
		ch, ok := channelNumber(key)
		if !ok {
			errs = append(errs, s.errorf("PWM", key, "want a channel number from 1 to 9 as the key"))
			continue
		}
		dev := s.value
		if dev == "" {
			continue // unwired
		}
		if strings.IndexFunc(dev, isSpace) >= 0 {
			errs = append(errs, s.errorf("PWM", key, "want a device name without spaces, got %s", quote(dev)))
			continue
		}
		byDevice[dev] = append(byDevice[dev], pwmWire{ch, dev, s})
	}
	out := map[string]int{}
	for dev, ws := range byDevice {
		fromFile := ws[:0:0]
		for _, w := range ws {
			if w.s.file != SourceDefaults {
				fromFile = append(fromFile, w)
			}
		}
		if len(fromFile) > 0 {
			ws = fromFile
		}
		sort.Slice(ws, func(i, j int) bool { return ws[i].channel < ws[j].channel })
		out[dev] = ws[0].channel
		for _, w := range ws[1:] {
			errs = append(errs, w.s.errorf("PWM", strconv.Itoa(w.channel), "device %q is also on channel %d (%s)",
				dev, ws[0].channel, where(ws[0].s)))
		}
	}
	sortErrors(errs)
	return out, errs
}

// channelNumber parses a [PWM] key: one digit, 1 to 9.
func channelNumber(key string) (int, bool) {
	if len(key) != 1 || key[0] < '1' || key[0] > '9' {
		return 0, false
	}
	return int(key[0] - '0'), true
}

// where is a setting's origin for a message: file:line, or the source name.
func where(s setting) string {
	if s.line > 0 {
		return fmt.Sprintf("%s:%d", s.file, s.line)
	}
	return s.file
}

// sortErrors orders *Errors by section, then key, so that messages come out
// in the same order on every run.
func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].(*Error), errs[j].(*Error)
		if a.Section != b.Section {
			return a.Section < b.Section
		}
		return a.Key < b.Key
	})
}

// forget drops the cached Options.
func (c *Config) forget() {
	c.mu.Lock()
	c.parsed = nil
	c.mu.Unlock()
}
