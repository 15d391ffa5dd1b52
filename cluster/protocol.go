// Package cluster is how the machines of a lab talk about work: the requests
// a unit's daemon takes over the broker (run a job, run a script that
// travels with its content, kill jobs, report its jobs), the replies it
// sends, and the topics both travel on. The daemon serves them (package
// daemon); the leader, pios and a local pio run send them.
//
// Topics, all under the unit's own tree so that a unit's credentials never
// need to write anywhere else:
//
//	pioreactor/<unit>/$experiment/daemon/$state          retained; the daemon's state, its will "lost"
//	pioreactor/<unit>/$experiment/daemon/request         QoS 1, not retained: a Request
//	pioreactor/<unit>/$experiment/daemon/reply/<id>      QoS 1, not retained: the Reply to request id
//
// A request is answered once, on its own reply topic, which the sender
// subscribes to before it publishes the request.
package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// JobName is the daemon's job name: its $state is the unit's.
const JobName = "daemon"

// RequestTopic is where unit's daemon takes requests.
func RequestTopic(unit string) string {
	return "pioreactor/" + unit + "/$experiment/" + JobName + "/request"
}

// ReplyTopic is where unit's daemon answers request id.
func ReplyTopic(unit, id string) string {
	return "pioreactor/" + unit + "/$experiment/" + JobName + "/reply/" + id
}

// StateTopic is the daemon's retained $state.
func StateTopic(unit string) string {
	return "pioreactor/" + unit + "/$experiment/" + JobName + "/$state"
}

// The commands a daemon runs.
const (
	CommandRun       = "run"        // Argv is `run <job> [args] [--option value]...`
	CommandRunScript = "run-script" // Argv is `run-script <script> [--setting value]...`; Script carries the file
	CommandKill      = "kill"       // Argv is `kill [<job>...] [--all-jobs]`
	CommandStatus    = "status"     // Argv is `status`: the daemon's jobs
)

// Request asks a unit's daemon to do one thing.
type Request struct {
	// ID names the request; its reply carries it. Unique per sender.
	ID string `json:"id"`
	// Argv is the pio command line after "pio", exactly as a user would type
	// it on the unit ("run", "stirring", "--target-rpm", "500"). The daemon
	// runs it as pio would, in its own process, so its checks and messages
	// are pio's. Argv[0] is one of the Command constants.
	Argv []string `json:"argv"`
	// Experiment the work runs under; empty means the unit's own.
	Experiment string `json:"experiment,omitempty"`
	// Script is the file of a run-script, which travels with the request:
	// a worker needs no copy. Argv[1] is then Script.Name.
	Script *Script `json:"script,omitempty"`
	// Requester names who asked: the API token's or the MQTT credential's
	// name, for the leader's audit trail.
	Requester string `json:"requester,omitempty"`
	// Source says what sent it: "cli" (pio on the unit), "leader",
	// "experiment_profile/<id>"; the daemon reports it in JobStatus.
	Source string `json:"source,omitempty"`
	// SentAt is when the request was sent (UTC).
	SentAt time.Time `json:"sent_at"`
}

// Script is a .star file and the local modules it loads, by their path
// relative to the script's folder.
type Script struct {
	Name    string            `json:"name"`
	Content string            `json:"content"`
	SHA256  string            `json:"sha256"` // of Content, hex
	Modules map[string]string `json:"modules,omitempty"`
}

// NewScript returns a Script for content with its checksum.
func NewScript(name, content string, modules map[string]string) *Script {
	return &Script{Name: name, Content: content, SHA256: Checksum(content), Modules: modules}
}

// Checksum is the hex SHA-256 of content.
func Checksum(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// Reply is a daemon's answer. Exactly one of Value or Error is set.
type Reply struct {
	ID   string `json:"id"`
	Unit string `json:"unit"`
	OK   bool   `json:"ok"`
	// Value is what was done: for run and run-script the started job
	// ({"job": ..., "experiment": ...}), for kill the jobs stopped, for
	// status the jobs.
	Value any `json:"value,omitempty"`
	// Output is what the command printed, as pio prints it.
	Output string `json:"output,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

// Error is why a request failed, in the fan-out envelope's terms.
type Error struct {
	// Kind: "refused" (the command's own checks said no), "unreachable"
	// (no daemon answered), "timeout", "lost" (the daemon's $state is lost),
	// "internal".
	Kind        string `json:"kind"`
	Message     string `json:"message"`
	Remediation string `json:"remediation,omitempty"`
}

// JobStatus is one job a daemon hosts, for status.
type JobStatus struct {
	Job        string    `json:"job"`
	Experiment string    `json:"experiment"`
	State      string    `json:"state"`
	StartedAt  time.Time `json:"started_at"`
	Source     string    `json:"source,omitempty"` // who asked: cli, leader, experiment_profile/<id>
	Script     string    `json:"script,omitempty"` // run-script: the script's name
	SHA256     string    `json:"sha256,omitempty"` // run-script: its checksum
}
