package simulate

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

// tally counts, as the simulation runs, what the summary reports: it sees
// every MQTT message the unit publishes (the broker's tap), every change of a
// simulated pump's PWM output (the reactor's duty observer) and every log
// record of the automation. Under the virtual scheduler one actor runs at a
// time, so it needs no lock.
type tally struct {
	sum   *Summary
	epoch time.Time

	stateTopic, eventsTopic, latestTopic, volumeSetTopic string

	// The automation's state and since when.
	state string
	since time.Time
	spent map[string]time.Duration

	// The execute_io_action call in progress: DosingStarted was published,
	// and neither DosingStopped nor ErrorOccurred yet.
	ioOpen bool

	dosed bool // a dosing event was seen

	// Pumps by device: when the output last changed, its duty then.
	pumps map[string]*pumpTally

	// The last warning or error of the automation and when.
	problem   string
	problemAt time.Time
	errors    int // failures seen so far (Automation.Errors)
}

type pumpTally struct {
	runs      int
	duty      float64
	changedAt time.Time
	dutySecs  float64 // seconds at 100 % duty
}

// liquidDevice reports whether a PWM device moves liquid (the simulated
// reactor's rule: everything but stirring and heating).
func liquidDevice(device string) bool {
	return device != "" && device != "stirring" && device != "heating"
}

// onMessage sees every message the unit publishes.
func (t *tally) onMessage(m pubsub.Message, now time.Time) {
	s := t.sum
	s.Messages++
	switch m.Topic {
	case t.stateTopic:
		t.setState(string(m.Payload), now)
	case t.eventsTopic:
		if ev, err := payload.ParseDosingEvent(m.Payload); err == nil {
			s.EventML[ev.Event] += float64(ev.VolumeChange)
			t.dosed = true
		}
	case t.latestTopic:
		t.onLatestEvent(m.Payload)
	case t.volumeSetTopic:
		// The automation seeds the model before it doses; later sets are
		// corrections, which the liquid check names.
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(m.Payload)), 64); err == nil {
			if t.dosed {
				s.Liquid.ModelSets++
			} else {
				s.Liquid.ModelStart = v
			}
		}
	}
}

// onLatestEvent counts execute_io_action calls: each publishes DosingStarted
// as it starts and DosingStopped when it completes; a failed call ends its
// execute() (Starlark has no try), which publishes ErrorOccurred.
func (t *tally) onLatestEvent(b []byte) {
	io := &t.sum.IOActions
	switch {
	case bytes.HasPrefix(b, []byte(`{"event_name":"`+payload.EventDosingStarted+`"`)):
		if t.ioOpen { // started again without an end: the first was interrupted
			io.Interrupted++
		}
		io.Started++
		t.ioOpen = true
	case bytes.HasPrefix(b, []byte(`{"event_name":"`+payload.EventDosingStopped+`"`)):
		if t.ioOpen {
			io.Completed++
		}
		t.ioOpen = false
	case bytes.HasPrefix(b, []byte(`{"event_name":"`+payload.EventErrorOccurred+`"`)):
		if t.ioOpen {
			io.Failed++
		}
		t.ioOpen = false
	}
}

// setState books the time spent in the automation's state so far.
func (t *tally) setState(state string, now time.Time) {
	s := t.sum
	if t.state != "" {
		t.spend(now)
	}
	if state == string(runtime.Sleeping) && t.state != state {
		sl := Sleep{At: now.Sub(t.epoch)}
		if t.problem != "" && t.problemAt.Equal(now) {
			sl.Reason = t.problem
		}
		s.Sleeps = append(s.Sleeps, sl)
	}
	t.state, t.since = state, now
	s.FinalState = state
}

func (t *tally) spend(now time.Time) {
	if _, ok := t.spent[t.state]; !ok {
		t.sum.States = append(t.sum.States, StateTime{State: t.state})
	}
	t.spent[t.state] += now.Sub(t.since)
	t.since = now
}

// finishStates closes the current state at the end of the simulation.
func (t *tally) finishStates(end time.Time) {
	if t.state == "" {
		return
	}
	if end.After(t.since) {
		t.spend(end)
	}
	for i, st := range t.sum.States {
		t.sum.States[i].Time = t.spent[st.State]
	}
}

// onDuty sees every change of a PWM output of the simulated reactor: a pump
// run starts when a liquid device's duty leaves 0.
func (t *tally) onDuty(device string, duty float64, now time.Time) {
	if !liquidDevice(device) {
		return
	}
	p := t.pumps[device]
	if p == nil {
		p = &pumpTally{}
		t.pumps[device] = p
	}
	p.dutySecs += p.duty / 100 * now.Sub(p.changedAt).Seconds()
	if p.duty == 0 && duty > 0 {
		p.runs++
	}
	p.duty, p.changedAt = duty, now
}

// finishPumps books the on-time of pumps still running at the end.
func (t *tally) finishPumps(end time.Time) {
	for _, p := range t.pumps {
		p.dutySecs += p.duty / 100 * end.Sub(p.changedAt).Seconds()
		p.changedAt = end
	}
}

// onRecord sees the automation's log records. errors is the automation's
// count of failed runs: a failure is counted, then logged at ERROR, so the
// first ERROR record after the count grows is the failure's message.
func (t *tally) onRecord(level, msg string, errors int, now time.Time) {
	s := t.sum
	if level == "ERROR" || level == "WARNING" {
		t.problem, t.problemAt = msg, now
	}
	if level != "ERROR" {
		return
	}
	if len(s.ErrorMessages) < maxMessages {
		s.ErrorMessages = append(s.ErrorMessages, msg)
	}
	if errors > t.errors {
		t.errors = errors
		if len(s.Failures) < maxMessages {
			s.Failures = append(s.Failures, Failure{At: now.Sub(t.epoch), Message: msg})
		}
	}
}

// maxMessages is how many error messages and failures a summary keeps.
const maxMessages = 5
