package outbox

import (
	"strings"

	"github.com/piolab/pio/topic"
)

// The leader's database is the lab's other record of dosing events, and the
// monitor's confirmation says nothing about it: after a broker restart (or
// a leader restart) a unit's connections often come back before the
// leader's MQTT-to-SQLite stream has subscribed again, and an event
// published in that gap reaches the monitor and not the database. So the
// leader's stream confirms too. It announces itself with a retained $state
// (ready; its last will says lost) on LeaderState, and after each commit it
// confirms every identified dosing event it holds (stored now, or stored
// before: a replay the database skipped) on StoredTopic, in the monitor's
// format (Handled, with outcome Stored or Duplicate).
//
// While a leader's stream is known (a $state seen on LeaderStateFilter, or
// Options.Leader configured), an event leaves the journal only once both the
// monitor and the stream have confirmed it. Without one (a lone machine,
// pio run-script on a unit with no leader) the monitor's confirmation is
// enough, as it always was.

// StreamJob is the job name of the leader's MQTT-to-SQLite stream,
// upstream's mqtt_to_db_streaming.
const StreamJob = "mqtt_to_db_streaming"

// Stored is the outcome of an event the leader's stream stored with this
// commit; a replay it had stored before is confirmed as Duplicate.
const Stored = "stored"

// StoredTopic is
// pioreactor/<unit>/$experiment/mqtt_to_db_streaming/dosing_events_stored,
// where the leader's stream confirms the unit's dosing events (QoS 1, not
// retained; payload Handled).
func StoredTopic(unit string) string {
	return topic.Join(unit, topic.UniversalExperiment, StreamJob, "dosing_events_stored")
}

// LeaderState is the retained $state of the leader's stream, under the
// leader's own unit name.
func LeaderState(leader string) string {
	return topic.State(leader, topic.UniversalExperiment, StreamJob)
}

// LeaderStateFilter matches every leader stream's $state.
var LeaderStateFilter = topic.State("+", topic.UniversalExperiment, StreamJob)

// leaderOf returns the leader unit of a LeaderState topic.
func leaderOf(t string) string {
	rest, ok := strings.CutPrefix(t, topic.Root+"/")
	if !ok {
		return ""
	}
	unit, _, _ := strings.Cut(rest, "/")
	return unit
}
