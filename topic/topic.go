// Package topic builds and matches the MQTT topics of Pioreactor's layout:
//
//	pioreactor/<unit>/<experiment>/<job>/<setting>      retained settings
//	pioreactor/<unit>/<experiment>/<job>/$state         job state
//	pioreactor/<unit>/<experiment>/<job>/<setting>/set  commands
//	pioreactor/<unit>/<experiment>/dosing_events        pump events
//	pioreactor/<unit>/<experiment>/bioreactor/<var>     liquid model
//	pioreactor/<unit>/<experiment>/logs/<source>/<lvl>  logs
//
// Every topic string in pio is built here.
package topic

import "strings"

// Special unit and experiment names, as upstream uses them.
const (
	Broadcast           = "$broadcast"  // the unit segment that reaches every unit
	UniversalExperiment = "$experiment" // experiment of long-running jobs such as monitor
)

// Root is the first segment of every topic.
const Root = "pioreactor"

// Join joins segments under the root: Join("u", "e", "job", "x") is
// "pioreactor/u/e/job/x".
func Join(segments ...string) string {
	return Root + "/" + strings.Join(segments, "/")
}

// Setting is the retained topic of a job's published setting. The setting
// "state" maps to "$state".
func Setting(unit, experiment, job, setting string) string {
	if setting == "state" {
		setting = "$state"
	}
	return Join(unit, experiment, job, setting)
}

// State is the retained $state topic of a job.
func State(unit, experiment, job string) string { return Join(unit, experiment, job, "$state") }

// Set is the command topic of a job's setting.
func Set(unit, experiment, job, setting string) string {
	return Setting(unit, experiment, job, setting) + "/set"
}

// DosingEvents is the topic pumps publish their volume changes on.
func DosingEvents(unit, experiment string) string { return Join(unit, experiment, "dosing_events") }

// Bioreactor is the retained topic of one liquid-model variable.
func Bioreactor(unit, experiment, variable string) string {
	return Join(unit, experiment, "bioreactor", variable)
}

// Log is the topic of a log record.
func Log(unit, experiment, source, level string) string {
	return Join(unit, experiment, "logs", source, strings.ToLower(level))
}

// Parts splits a pioreactor topic into unit, experiment and the rest. ok is
// false for topics outside the layout.
func Parts(t string) (unit, experiment string, rest []string, ok bool) {
	p := strings.Split(t, "/")
	if len(p) < 4 || p[0] != Root {
		return "", "", nil, false
	}
	return p[1], p[2], p[3:], true
}

// Experiment returns the experiment segment of a pioreactor topic without
// splitting the whole topic (ok is false outside the layout).
func Experiment(t string) (string, bool) {
	rest, ok := strings.CutPrefix(t, Root+"/")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "/") // the unit
	if !ok {
		return "", false
	}
	exp, rest, ok := strings.Cut(rest, "/")
	if !ok || rest == "" {
		return "", false
	}
	return exp, true
}

// Match reports whether topic t matches the MQTT filter f ("+" one level,
// "#" the rest). Topics whose first level starts with "$" do not match
// wildcards in the first level, as MQTT requires. It does not allocate.
func Match(f, t string) bool {
	first := true
	for {
		fseg, frest, fmore := strings.Cut(f, "/")
		if fseg == "#" {
			return !(first && strings.HasPrefix(t, "$"))
		}
		tseg, trest, tmore := strings.Cut(t, "/")
		switch {
		case fseg == "+":
			if first && strings.HasPrefix(tseg, "$") {
				return false
			}
		case fseg != tseg:
			return false
		}
		if !fmore || !tmore {
			if fmore && frest == "#" {
				return true // "a/#" matches "a"
			}
			return fmore == tmore
		}
		f, t, first = frest, trest, false
	}
}
