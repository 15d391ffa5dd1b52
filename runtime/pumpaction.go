package runtime

import (
	"context"
	"fmt"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// PumpAction is a pump run by hand (pio run add_media --ml 1): a job of its
// own, named after its action, so that only one runs at a time, pio kill
// finds it, and upstream's stop command (disconnected on
// .../<action>/$state/set, also under $broadcast and $experiment) ends it.
type PumpAction struct {
	*Job
	req       PumpRequest
	unreserve func()
	// Moved is what the pump moved, once Run has returned.
	Moved float64
}

// StartPumpAction checks the request (as RunPump will) and then starts the job:
// a refused request publishes nothing.
func StartPumpAction(env *Env, req PumpRequest) (*PumpAction, error) {
	action := ActionName(req.Device)
	req.Experiment = env.Experiment
	plan, err := planPump(env, req)
	if err != nil {
		return nil, err
	}
	// The channel is held before the job announces itself, so that a pump
	// that is busy elsewhere publishes nothing.
	unreserve, err := env.ReserveOutput(plan.channel, action, env.Experiment)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", action, err)
	}
	job, err := NewJob(env, action, env.Experiment, Hooks{
		OnDisconnected:   func() { env.StopPumps(action) },
		OnConnectionLost: func(error) { env.StopAllPumps() },
	})
	if err != nil {
		unreserve()
		return nil, err
	}
	a := &PumpAction{Job: job, req: req, unreserve: unreserve}
	a.req.Client, a.req.Log = job.Client(), job.Log
	for _, u := range []string{env.Unit, topic.Broadcast} {
		if err := job.Subscribe(topic.Join(u, topic.UniversalExperiment, action, "$state", "set"), 1, a.onStop); err != nil {
			job.Close()
			unreserve()
			return nil, err
		}
	}
	if err := job.Start(); err != nil {
		job.Close()
		unreserve()
		return nil, err
	}
	return a, nil
}

func (a *PumpAction) onStop(m pubsub.Message) {
	if !m.Retained && string(m.Payload) == string(Disconnected) {
		a.SetState(Disconnected)
	}
}

// Run runs the pump until it is done or stopped, then closes the job.
func (a *PumpAction) Run(ctx context.Context) error {
	defer a.unreserve()
	defer a.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if a.State() == Disconnected {
		return nil
	}
	moved, err := RunPump(ctx, a.env, a.req)
	a.Moved = moved
	return err
}
