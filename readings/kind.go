// Package readings keeps, for an automation, the latest readings that other
// jobs publish (growth rate, normalized OD, raw and fused OD, temperature),
// with upstream's rules for reading them: a value carries the timestamp of
// its payload; a reading older than five minutes is stale; a missing first
// reading is waited for up to ten seconds on the unit's scheduler, and only
// while the jobs that produce it run.
//
// A Cache subscribes on the automation's own job (its inbox actor runs the
// handlers), so it costs no connection and no actor of its own:
//
//	cache, err := readings.Subscribe(job) // before job.Start()
//	r, err := cache.Latest(ctx, readings.NormalizedOD)
package readings

import "fmt"

// Kind is a kind of reading.
type Kind int

// The kinds of reading an automation can read.
const (
	GrowthRate   Kind = iota // growth_rate_calculating/growth_rate
	NormalizedOD             // growth_rate_calculating/od_filtered
	OD                       // od_reading/ods, per channel
	ODFused                  // od_reading/od_fused
	Temperature              // temperature_automation/temperature
	numKinds
)

// source describes where a kind comes from and how upstream names it.
type source struct {
	name      string   // the kind's name in scripts (normalized_od, ...)
	job       string   // the publishing job
	setting   string   // the topic's last segment
	field     string   // the payload's value field ("" for ods)
	producers []string // the jobs that must run for it to arrive
	what      string   // upstream's words for the missing reading
}

var sources = [numKinds]source{
	GrowthRate: {name: "growth_rate", job: "growth_rate_calculating", setting: "growth_rate", field: "growth_rate",
		producers: []string{"od_reading", "growth_rate_calculating"}, what: "a growth_rate reading"},
	NormalizedOD: {name: "normalized_od", job: "growth_rate_calculating", setting: "od_filtered", field: "od_filtered",
		producers: []string{"od_reading", "growth_rate_calculating"}, what: "an od_filtered reading"},
	OD: {name: "od", job: "od_reading", setting: "ods",
		producers: []string{"od_reading"}, what: "raw OD readings"},
	ODFused: {name: "od_fused", job: "od_reading", setting: "od_fused", field: "od_fused",
		producers: []string{"od_reading"}, what: "fused OD readings"},
	Temperature: {name: "temperature", job: "temperature_automation", setting: "temperature", field: "temperature",
		producers: []string{"temperature_automation"}, what: "a temperature reading"},
}

// String is the kind's name in scripts: growth_rate, normalized_od, od,
// od_fused, temperature.
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return sources[k].name
}

// Topic is the topic's path under pioreactor/<unit>/<experiment>/, such as
// growth_rate_calculating/od_filtered.
func (k Kind) Topic() string { return sources[k].job + "/" + sources[k].setting }

// Kinds lists every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// ParseKind returns the kind named name (Kind.String).
func ParseKind(name string) (Kind, bool) {
	for k := range numKinds {
		if sources[k].name == name {
			return k, true
		}
	}
	return 0, false
}
