package simulate

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// Range is what the summary says of one reading: its first and last values
// and the range it covered.
type Range struct {
	N                 int
	First, Last       float64
	FirstAt, LastAt   time.Duration
	Min, Max          float64
	MinAt, MaxAt      time.Duration
	Unit, Name, Topic string
}

func (r *Range) add(at time.Duration, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if r.N == 0 {
		r.First, r.FirstAt, r.Min, r.Max, r.MinAt, r.MaxAt = v, at, v, v, at, at
	}
	r.N++
	r.Last, r.LastAt = v, at
	if v < r.Min {
		r.Min, r.MinAt = v, at
	}
	if v > r.Max {
		r.Max, r.MaxAt = v, at
	}
}

// recorder turns what the unit publishes into the summary's reading ranges
// and, when a plot or a table was asked for, the run's Series. It sees the
// broker's tap, on the virtual scheduler, one message at a time.
type recorder struct {
	series *Series // nil: ranges only (a week's series is tens of MB)

	// readings are the readings the summary ranges, in the order it prints
	// them, and byTopic finds them by topic.
	readings []*reading
	byTopic  map[string]*reading

	eventsTopic string
	targets     map[string]string // topic -> target name

	statePrefix string // pioreactor/<unit>/<experiment>/
	jobs        map[string]*jobStates
	jobOrder    []string
}

// jobStates books the time one job spent in each state.
type jobStates struct {
	state string
	since time.Duration
	order []string
	spent map[string]time.Duration
}

func (j *jobStates) set(state string, at time.Duration) {
	if j.state != "" {
		j.book(at)
	}
	j.state, j.since = state, at
}

func (j *jobStates) book(at time.Duration) {
	if _, ok := j.spent[j.state]; !ok {
		j.order = append(j.order, j.state)
	}
	j.spent[j.state] += at - j.since
	j.since = at
}

// reading is one reading the unit publishes: how to read its payload, its
// range, and where its series goes.
type reading struct {
	topic  string
	parse  func([]byte) (float64, bool)
	rng    *Range
	points func(*Series) *[]Point
}

// ranges lists the summary's readings in the order it prints them.
func (r *recorder) ranges() []*Range {
	out := make([]*Range, len(r.readings))
	for i, rd := range r.readings {
		out[i] = rd.rng
	}
	return out
}

func newRecorder(unit, experiment string, series *Series) *recorder {
	j := func(s ...string) string { return topic.Join(append([]string{unit, experiment}, s...)...) }
	field := func(key string) func([]byte) (float64, bool) {
		return func(b []byte) (float64, bool) { return jsonField(b, key) }
	}
	r := &recorder{series: series,
		readings: []*reading{
			{"od_reading/ods", firstChannelOD, &Range{Name: "OD"}, func(s *Series) *[]Point { return &s.OD }},
			{"growth_rate_calculating/od_filtered", field("od_filtered"), &Range{Name: "normalized OD"}, func(s *Series) *[]Point { return &s.NormalizedOD }},
			{"growth_rate_calculating/growth_rate", field("growth_rate"), &Range{Name: "growth rate", Unit: "h⁻¹"}, func(s *Series) *[]Point { return &s.GrowthRate }},
			{"temperature_automation/temperature", field("temperature"), &Range{Name: "temperature", Unit: "°C"}, func(s *Series) *[]Point { return &s.Temperature }},
			{"bioreactor/current_volume_ml", bareFloat, &Range{Name: "volume (model)", Unit: "mL"}, func(s *Series) *[]Point { return &s.Volume }},
			{"bioreactor/alt_media_fraction", bareFloat, &Range{Name: "alt-media fraction"}, func(s *Series) *[]Point { return &s.AltMediaFraction }},
		},
		byTopic:     map[string]*reading{},
		eventsTopic: j("dosing_events"),
		statePrefix: topic.Join(unit, experiment) + "/",
		jobs:        map[string]*jobStates{},
		targets: map[string]string{
			j("dosing_automation", "target_biomass"):          "target biomass",
			j("dosing_automation", "target_normalized_od"):    "target normalized OD",
			j("dosing_automation", "target_od"):               "target OD",
			j("dosing_automation", "target_growth_rate"):      "target growth rate",
			j("temperature_automation", "target_temperature"): "target temperature",
		},
	}
	for _, rd := range r.readings {
		rd.rng.Topic = rd.topic
		r.byTopic[j(rd.topic)] = rd
	}
	if series != nil && series.Targets == nil {
		series.Targets = map[string][]Point{}
	}
	return r
}

// onMessage reads one published message.
func (r *recorder) onMessage(m pubsub.Message, at time.Duration) {
	if len(m.Payload) == 0 {
		return
	}
	s := r.series
	if rd, ok := r.byTopic[m.Topic]; ok {
		if v, ok := rd.parse(m.Payload); ok {
			rd.rng.add(at, v)
			if s != nil {
				pts := rd.points(s)
				*pts = append(*pts, Point{at, v})
			}
		}
		return
	}
	switch {
	case m.Topic == r.eventsTopic:
		if s != nil {
			if ev, err := payload.ParseDosingEvent(m.Payload); err == nil {
				s.Doses = append(s.Doses, Dose{T: at, Event: ev.Event, ML: float64(ev.VolumeChange)})
			}
		}
	default:
		if job, ok := r.stateOf(m.Topic); ok {
			js := r.jobs[job]
			if js == nil {
				js = &jobStates{spent: map[string]time.Duration{}}
				r.jobs[job] = js
				r.jobOrder = append(r.jobOrder, job)
			}
			js.set(string(m.Payload), at)
			return
		}
		if name, ok := r.targets[m.Topic]; ok && s != nil {
			if v, ok := bareFloat(m.Payload); ok {
				s.Targets[name] = append(s.Targets[name], Point{at, v})
			}
		}
	}
}

// firstChannelOD reads the lowest-numbered channel of an ODReadings payload
// ({"timestamp": ..., "ods": {"2": {"od": ...}}}).
func firstChannelOD(b []byte) (float64, bool) {
	var p struct {
		ODs map[string]struct {
			OD *float64 `json:"od"`
		} `json:"ods"`
	}
	if json.Unmarshal(b, &p) != nil || len(p.ODs) == 0 {
		return 0, false
	}
	chans := make([]string, 0, len(p.ODs))
	for ch := range p.ODs {
		chans = append(chans, ch)
	}
	sort.Strings(chans)
	if od := p.ODs[chans[0]].OD; od != nil {
		return *od, true
	}
	return 0, false
}

// jsonField reads a numeric field of a JSON object payload.
func jsonField(b []byte, key string) (float64, bool) {
	var p map[string]json.RawMessage
	if json.Unmarshal(b, &p) != nil {
		return 0, false
	}
	raw, ok := p[key]
	if !ok {
		return 0, false
	}
	var v float64
	if json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	return v, true
}

// bareFloat reads a payload that is a bare number.
func bareFloat(b []byte) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return v, err == nil
}

// stateOf returns the job whose $state topic t is, if it is one of this
// unit's jobs.
func (r *recorder) stateOf(t string) (string, bool) {
	rest, ok := strings.CutPrefix(t, r.statePrefix)
	if !ok {
		return "", false
	}
	job, ok := strings.CutSuffix(rest, "/$state")
	if !ok || strings.Contains(job, "/") {
		return "", false
	}
	return job, true
}

// JobTime is the time one job spent in each of its states.
type JobTime struct {
	Job    string
	States []StateTime
	Final  string
}

// jobTimes closes every job's current state at end and lists them in the
// order the jobs first published their state.
func (r *recorder) jobTimes(end time.Duration) []JobTime {
	out := make([]JobTime, 0, len(r.jobOrder))
	for _, name := range r.jobOrder {
		j := r.jobs[name]
		if end > j.since {
			j.book(end)
		} else if _, ok := j.spent[j.state]; !ok {
			j.order = append(j.order, j.state)
		}
		jt := JobTime{Job: name, Final: j.state}
		for _, st := range j.order {
			jt.States = append(jt.States, StateTime{State: st, Time: j.spent[st]})
		}
		out = append(out, jt)
	}
	return out
}
