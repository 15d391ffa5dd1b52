package automation

import (
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// Outcome logs what a run of a program returned and makes it the job's
// latest_event: an error becomes upstream's ErrorOccurred event with the
// error's message, logged with logError (the job's Log.Error, or
// Log.Warning where the family says so); an event is logged at info. A run
// that returned neither publishes nothing. A job counts a failed run
// before it calls Outcome, so that whoever sees the ErrorOccurred event
// sees the count that includes it.
func Outcome(job *runtime.Job, ev *payload.Event, err error, logError func(format string, a ...any)) {
	switch {
	case err != nil:
		logError("%v", err)
		job.SetValue("latest_event", payload.Event{Name: payload.EventErrorOccurred, Message: err.Error()})
	case ev != nil:
		job.Log.Info("%s", ev.Display())
		job.SetValue("latest_event", *ev)
	}
}
