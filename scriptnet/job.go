package scriptnet

import (
	"context"
	"time"

	"go.starlark.net/starlark"
)

// Job is what the modules need of the job that runs a script.
type Job struct {
	// Grants are the job's grants, read once when the job first uses a
	// module.
	Grants *Grants
	// Unit, Experiment and Name place the job's own topics:
	// pioreactor/<Unit>/<Experiment>/<Name>/.
	Unit, Experiment, Name string
	// Publish sends a message through the job's MQTT connection; nil: the
	// job cannot publish.
	Publish func(topic string, payload []byte, qos byte, retain bool) error
	// Left, if set, is the time the run (execute(), run() or a handler)
	// has before its guard, max_execute_minutes, stops it, and the error it
	// stops with: a request never outlasts it.
	Left func() (time.Duration, error)
}

// Host is how the modules reach the job that runs a script, through the
// Starlark thread.
type Host struct {
	// Job returns the job running the script (an error at load time, in a
	// function that must not wait, or in a job without network access).
	Job func(th *starlark.Thread) (*Job, error)
	// Context is the thread's context: a request returns when it ends.
	Context func(th *starlark.Thread) context.Context
}
