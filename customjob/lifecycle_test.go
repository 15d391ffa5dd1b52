package customjob

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

func TestSetIntervalDoesNotCancelAHandlerMidRun(t *testing.T) {
	h := newHarness(t)
	p := every(60, ok)
	p.subs = []string{"od_reading/ods"}
	var handleErr error
	p.handle = func(ctx context.Context, j *Job, _ pubsub.Message) error {
		handleErr = sleepFor(ctx, j, 5*time.Second)
		if handleErr == nil {
			handleErr = j.Publish("handled", true)
		}
		return handleErr
	}
	h.start(p, nil)
	h.advance(time.Second)
	h.set("od_reading/ods", "1")           // the handler sleeps 5 s
	h.set("ph_reading/interval/set", "30") // during the handler
	h.advance(10 * time.Second)
	if handleErr != nil || h.last("ph_reading/handled") != "True" {
		t.Errorf("the handler ended with %v, published %q; want it to finish", handleErr, h.last("ph_reading/handled"))
	}
	if h.logged("NOTICE", "The job was stopped") {
		t.Errorf("a /set of interval was logged as a stop:\n%s", h.logs())
	}
}

func TestHandlersDoNotSeeTheJobsOwnMessages(t *testing.T) {
	h := newHarness(t)
	p := &fakeProgram{name: "echo", subs: []string{"#"}}
	p.handle = func(ctx context.Context, j *Job, m pubsub.Message) error {
		if len(p.handled) > 50 {
			return nil // the loop this test looks for; end it
		}
		j.Log.Warning("saw %s", m.Topic)
		return j.Publish("last", string(m.Payload))
	}
	h.start(p, nil)
	h.set("od_reading/ods", "x")
	h.set("echo/command", "go") // a topic of the job's that it does not publish
	h.advance(time.Minute)
	if got := p.handled; len(got) != 2 || got[0] != "x" || got[1] != "go" {
		t.Errorf("handled %d messages %.80q; want only [x go], not the job's own readings, state and log lines", len(got), got)
	}
}

// A lost broker connection neither stops the job nor its runs, as the
// automations go on; back online it republishes its state, settings and
// readings (a last will of "lost" is then overwritten).
func TestBrokerLossAndReconnect(t *testing.T) {
	h := newHarness(t)
	n := 0
	p := every(10, func(ctx context.Context, j *Job) error { n++; return j.Publish("n", int64(n)) })
	j := h.start(p, nil)
	h.advance(5 * time.Second)
	pubsub.LoseConnection(j.Client(), errors.New("network down"))
	h.advance(20 * time.Second)
	if j.Connected() || j.State() != runtime.Ready || n != 3 {
		t.Fatalf("connected %v, state %s, runs %d; want the job ready and running while offline", j.Connected(), j.State(), n)
	}
	pubsub.Reconnect(j.Client())
	h.advance(0)
	if h.last("ph_reading/$state") != "ready" || h.last("ph_reading/n") != "3" || h.last("ph_reading/interval") != "10.0" {
		t.Errorf("after reconnecting: $state %s, n %s, interval %s", h.last("ph_reading/$state"), h.last("ph_reading/n"), h.last("ph_reading/interval"))
	}
}
