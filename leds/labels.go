package leds

import (
	"fmt"
	"regexp"

	"github.com/piolab/pio/config"
)

// Section is the configuration section that labels the LED channels.
const Section = "leds"

var labelRe = regexp.MustCompile(`^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$`)

// Labels reads [leds]: each channel (A to D) with a label (IR,
// white_light, ...); channels left empty are unused and absent from the
// map. A key that is not a channel, a label that is not letters and digits
// joined by _, and a label given to two channels are errors naming file and
// line.
func Labels(cfg *config.Config) (map[string]string, error) {
	sec := cfg.Section(Section)
	out := map[string]string{}
	owner := map[string]string{}
	for _, key := range sec.Keys() {
		label := sec.String(key)
		if CheckChannel(key) != nil {
			sec.Fail(key, "%s is not an LED channel (the channels are A, B, C and D)", key)
			continue
		}
		if !labelRe.MatchString(label) {
			sec.Fail(key, "label %q: want letters and digits joined by _, such as IR or white_light", label)
			continue
		}
		if prev, dup := owner[label]; dup {
			sec.Fail(key, "label %s is already the label of channel %s", label, prev)
			continue
		}
		owner[label] = key
		out[key] = label
	}
	if err := sec.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ChannelOf returns the channel labelled label in [leds] (od_reading asks
// for "IR"), or an error that says no channel has it.
func ChannelOf(cfg *config.Config, label string) (string, error) {
	labels, err := Labels(cfg)
	if err != nil {
		return "", err
	}
	for _, ch := range Channels {
		if labels[ch] == label {
			return ch, nil
		}
	}
	return "", fmt.Errorf("leds: no LED channel is labelled %s in [leds] (set one of A to D to %s)", label, label)
}
