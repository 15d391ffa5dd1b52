package runtime

import (
	"context"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// PumpAction is a pump run by hand (pio run add_media --ml 1): a job of its
// own, named after its action, so that only one runs at a time, pio kill
// finds it, and upstream's stop command (disconnected on
// .../<action>/$state/set, also under $broadcast and $experiment) ends it.
type PumpAction struct {
	*Job
	req PumpRequest
	// Moved is what the pump moved, once Run has returned.
	Moved float64
}

// StartPumpAction checks the request (CheckPump) and then starts the job:
// a refused request publishes nothing.
func StartPumpAction(env *Env, req PumpRequest) (*PumpAction, error) {
	action := ActionName(req.Device)
	req.Experiment = env.Experiment
	if err := CheckPump(env, req); err != nil {
		return nil, err
	}
	job, err := NewJob(env, action, env.Experiment, Hooks{
		OnDisconnected:   func() { env.StopPumps(action) },
		OnConnectionLost: func(error) { env.StopAllPumps() },
	})
	if err != nil {
		return nil, err
	}
	a := &PumpAction{Job: job, req: req}
	a.req.Client, a.req.Log = job.Client(), job.Log
	for _, u := range []string{env.Unit, topic.Broadcast} {
		if err := job.Subscribe(topic.Join(u, topic.UniversalExperiment, action, "$state", "set"), 1, a.onStop); err != nil {
			job.Close()
			return nil, err
		}
	}
	if err := job.Start(); err != nil {
		job.Close()
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
