package runtime

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// Upstream's error codes, which a unit's status LED blinks. Jobs publish one
// (an integer) on pioreactor/<unit>/<experiment>/monitor/flicker_led_with_error_code.
const (
	ErrorNoNetwork       = 1
	ErrorNoMQTTToLeader  = 2
	ErrorDiskAlmostFull  = 3
	ErrorStirringFailed  = 4
	ErrorADCInputTooHigh = 5
	ErrorPCBTooHot       = 6
	ErrorVoltage         = 7
	ErrorWebserverDown   = 8
)

var errorCodeMeanings = map[int]string{
	ErrorNoNetwork:       "no network",
	ErrorNoMQTTToLeader:  "no MQTT connection to the leader",
	ErrorDiskAlmostFull:  "disk almost full",
	ErrorStirringFailed:  "stirring failed",
	ErrorADCInputTooHigh: "ADC input too high",
	ErrorPCBTooHot:       "PCB temperature too high",
	ErrorVoltage:         "voltage problem",
	ErrorWebserverDown:   "webserver offline",
}

// ErrorCodeMeaning returns what an error code means ("" for an unknown one).
func ErrorCodeMeaning(code int) string { return errorCodeMeanings[code] }

// describeErrorCode is "error code 3 (disk almost full)".
func describeErrorCode(code int) string {
	meaning := ErrorCodeMeaning(code)
	if meaning == "" {
		meaning = "an unknown code: upstream's run from 1 to 8"
	}
	return fmt.Sprintf("error code %d (%s)", code, meaning)
}

// ErrorCodeTopic is the filter of every experiment's error codes of a unit.
func ErrorCodeTopic(unit string) string {
	return topic.Join(unit, "+", "monitor", "flicker_led_with_error_code")
}

// onErrorCode logs a job's error code as a warning and blinks it on the
// status LED when the board has one (indicators.go). A retained code is
// an old one (upstream never retains them) and is ignored, as is a payload
// that is not an integer.
func (m *Monitor) onErrorCode(msg pubsub.Message) {
	if msg.Retained || len(msg.Payload) == 0 {
		return
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(msg.Payload)))
	if err != nil {
		m.Log.Warning("%s: want an integer error code, got %.40q; ignored", msg.Topic, msg.Payload)
		return
	}
	m.mu.Lock()
	m.errorCodes++
	m.mu.Unlock()
	m.Log.Warning("%s: %s", msg.Topic, describeErrorCode(code))
	m.blinkErrorCode(code)
}

// ErrorCodes returns how many error codes the monitor has received.
func (m *Monitor) ErrorCodes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.errorCodes
}

// watchLost warns, once per loss, when one of the unit's jobs is lost: its
// $state became lost (its MQTT last will: the process died, or its broker
// connection dropped, without disconnecting). A retained lost, found at
// start, is an old loss and is only noted; any other state ends a loss.
func (m *Monitor) watchLost(msg pubsub.Message) {
	_, exp, rest, ok := topic.Parts(msg.Topic)
	if !ok || len(rest) != 2 || (exp == m.Experiment && rest[0] == m.Name) {
		return
	}
	job := rest[0]
	key := exp + "/" + job
	lost := State(msg.Payload) == Lost
	m.mu.Lock()
	was := m.lost[key]
	switch {
	case !lost:
		delete(m.lost, key)
	case len(m.lost) < maxAnnounced:
		// Beyond the bound a loss is not remembered (and may be warned
		// about again): a stray publisher cannot grow the monitor.
		m.lost[key] = true
	}
	m.mu.Unlock()
	if !lost || was {
		return
	}
	if msg.Retained {
		m.Log.Info("%s in experiment %s was lost before the monitor started.", job, exp)
		return
	}
	m.Log.Warning("%s in experiment %s was lost: its process ended, or lost its broker connection, without disconnecting.", job, exp)
}
