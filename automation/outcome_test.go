package automation

import (
	"errors"
	"testing"
	"time"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
)

func TestOutcome(t *testing.T) {
	clk := sched.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	broker := pubsub.NewMemory()
	env := &runtime.Env{Unit: "u1", Experiment: "e1", Sched: clk,
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return broker.Connect(o), nil }}
	job, err := runtime.NewJob(env, "test_automation", "e1", runtime.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	var logged []string
	logError := func(format string, a ...any) { logged = append(logged, format) }

	Outcome(job, nil, nil, logError)
	if v := job.Value("latest_event"); v != nil || len(logged) != 0 {
		t.Fatalf("a run that returned nothing: latest_event %v, %d errors logged", v, len(logged))
	}
	Outcome(job, &payload.Event{Name: payload.EventNoEvent, Message: "fine"}, nil, logError)
	if v, ok := job.Value("latest_event").(payload.Event); !ok || v.Message != "fine" || len(logged) != 0 {
		t.Fatalf("an event: latest_event %#v, %d errors logged", job.Value("latest_event"), len(logged))
	}
	Outcome(job, &payload.Event{Name: payload.EventNoEvent}, errors.New("boom"), logError)
	v, ok := job.Value("latest_event").(payload.Event)
	if !ok || v.Name != payload.EventErrorOccurred || v.Message != "boom" || len(logged) != 1 {
		t.Fatalf("an error: latest_event %#v, %d errors logged", job.Value("latest_event"), len(logged))
	}
}
