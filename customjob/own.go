package customjob

import "github.com/piolab/pio/topic"

// ownMessage reports whether a message is one the job published itself:
// its $state, a setting or reading (pioreactor/<unit>/<experiment>/<job_name>/<name>),
// or a log line (pioreactor/<unit>/<experiment>/logs/<job_name>/<level>).
// Its handlers never see these: a handler on "#" that publishes or logs
// would otherwise call itself without end. A topic of the job's that it
// does not publish (a command, .../<job_name>/command) reaches them.
func (j *Job) ownMessage(t string) bool {
	unit, experiment, rest, ok := topic.Parts(t)
	if !ok || unit != j.Env().Unit || experiment != j.Experiment {
		return false
	}
	switch {
	case len(rest) == 3 && rest[0] == "logs" && rest[1] == j.Name:
		return true
	case len(rest) == 2 && rest[0] == j.Name:
		if rest[1] == "$state" {
			return true
		}
		_, declared := j.Setting(rest[1])
		return declared
	}
	return false
}
