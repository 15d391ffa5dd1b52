package odreading

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/piolab/pio/config"
)

// Sections this package reads.
const (
	channelSection = "od_config.photodiode_channel"
	readingSection = "od_reading.config"
	ledsSection    = "leds"
)

// REF is the label of the reference photodiode in [od_config.photodiode_channel].
const REF = "REF"

// angles are the photodiode angles a signal channel may have.
var angles = []string{"45", "90", "135", "180"}

// channel is one photodiode channel in use.
type channel struct {
	number int    // 1 to 4
	name   string // "1" to "4", as on the wire
	angle  string // "45", "90", "135", "180"; empty for REF
}

// settings are the job's configuration, read once at start.
type settings struct {
	signals []channel // the angle channels, by number
	ref     *channel  // nil: no reference photodiode
	// irChannel is the LED channel ("A".."D") labelled IR in [leds].
	irChannel string

	samplesPerSecond   float64
	irIntensity        float64 // when not irAuto
	irAuto             bool
	pdReferenceEMA     float64
	refNormalization   string // "unity" or "classic"
	useDarkOffsets     bool
	smoothingPenalizer float64
	turnOffLEDs        bool
}

// readSettings reads [od_config.photodiode_channel], [od_reading.config]
// and the IR channel of [leds]. Every bad value is reported, each naming its
// file and line.
func readSettings(c *config.Config) (settings, error) {
	var s settings
	var errs []error

	ch := c.Section(channelSection)
	s.signals, s.ref = readChannels(c, ch)
	if err := ch.Err(); err != nil {
		errs = append(errs, err)
	}

	rd := c.Section(readingSection)
	s.samplesPerSecond = rd.Float("samples_per_second", config.Positive, "a number of readings per second above 0")
	if v := strings.TrimSpace(rd.String("ir_led_intensity")); strings.EqualFold(v, "auto") {
		s.irAuto = true
	} else {
		s.irIntensity = rd.Float("ir_led_intensity", config.Within(0, 100), "a percentage from 0 to 100, or auto")
	}
	s.pdReferenceEMA = rd.Float("pd_reference_ema", config.Within(0, 1), "a number from 0 to 1")
	s.refNormalization = rd.OneOf("ref_normalization", "unity", "classic")
	s.useDarkOffsets = rd.Bool("use_dark_offsets")
	s.smoothingPenalizer = rd.Float("smoothing_penalizer", config.NonNegative, "a number of 0 or more")
	s.turnOffLEDs = rd.Bool("turn_off_leds_during_reading")
	if err := rd.Err(); err != nil {
		errs = append(errs, err)
	}

	leds := c.Section(ledsSection)
	s.irChannel = irChannel(c, leds)
	if err := leds.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return settings{}, fmt.Errorf("od_reading: %w", errors.Join(errs...))
	}
	return s, nil
}

// readChannels reads [od_config.photodiode_channel] with upstream's rules:
// keys 1 to 4, each REF, an angle or empty (unused, even where Defaults
// has a value); at most one REF; at least one angle.
func readChannels(c *config.Config, sec *config.Section) (signals []channel, ref *channel) {
	var refs []string
	for _, key := range sectionKeys(c, sec, "1", "2", "3", "4") {
		n, err := strconv.Atoi(key)
		if err != nil || n < 1 || n > 4 || key != strconv.Itoa(n) {
			sec.Fail(key, "want a photodiode channel from 1 to 4 as the key")
			continue
		}
		v, _ := c.Get(channelSection, key)
		v = strings.TrimSpace(v)
		switch {
		case v == "":
			continue
		case strings.EqualFold(v, REF):
			refs = append(refs, key)
			if len(refs) == 1 {
				ref = &channel{number: n, name: key}
			}
		case isAngle(v):
			signals = append(signals, channel{number: n, name: key, angle: v})
		default:
			sec.Fail(key, "want REF, an angle (%s) or nothing, got %q", strings.Join(angles, ", "), v)
		}
	}
	if len(refs) > 1 {
		sec.Fail(refs[1], "only one channel can be REF; channels %s are", strings.Join(refs, " and "))
	}
	if len(signals) == 0 && len(refs) <= 1 {
		key := "1"
		if len(refs) == 1 {
			key = refs[0]
		}
		sec.Fail(key, "need to supply a signal channel: set at least one of 1 to 4 to an angle (%s)", strings.Join(angles, ", "))
	}
	sort.Slice(signals, func(i, j int) bool { return signals[i].number < signals[j].number })
	return signals, ref
}

// sectionKeys are the section's keys with a value and the keys named,
// sorted. A key written empty in a file is read with Config.Get, which
// sees the empty value (Section falls back to Defaults).
func sectionKeys(c *config.Config, sec *config.Section, always ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range append(sec.Keys(), always...) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func isAngle(v string) bool {
	for _, a := range angles {
		if v == a {
			return true
		}
	}
	return false
}

// irChannel is the LED channel labelled IR in [leds].
func irChannel(c *config.Config, sec *config.Section) string {
	var found []string
	for _, key := range sectionKeys(c, sec, ledChannels...) {
		if v, _ := c.Get(ledsSection, key); strings.EqualFold(strings.TrimSpace(v), "IR") {
			found = append(found, key)
		}
	}
	switch len(found) {
	case 0:
		sec.Fail("A", "no LED channel is labelled IR: od_reading needs one (for example A=IR)")
		return ""
	case 1:
		return found[0]
	}
	sec.Fail(found[1], "only one LED channel can be labelled IR; channels %s are", strings.Join(found, " and "))
	return ""
}
