package dosing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/topic"
)

// pumpScope accounts what the pumps inside one program pump function
// published, so that the function's return value is booked exactly once.
type pumpScope struct {
	event    string
	reported float64
}

// pumpFunc resolves <name>_ml: the program's add_<name>_to_bioreactor (or
// remove_waste_from_bioreactor), else a stock pump for media, alt_media and
// waste. Program functions are wrapped so that the volume they report reaches
// dosing_events exactly once.
func (a *Automation) pumpFunc(name string, custom PumpFuncs) (PumpFunc, error) {
	if custom != nil {
		if fn, ok := custom(name); ok {
			return a.accounted(runtime.EventName(name), fn), nil
		}
	}
	if runtime.StockPump(name) {
		device := name
		return func(ctx context.Context, ml float64) (float64, error) {
			return a.Pump(ctx, device, &ml, nil)
		}, nil
	}
	return nil, fmt.Errorf("%s_ml needs a function %s(ml, unit, experiment, source_of_event) in the script; none is defined", name, PumpFuncName(name))
}

// PumpFuncName is the name of the program function that doses name:
// add_<name>_to_bioreactor, or remove_waste_from_bioreactor.
func PumpFuncName(name string) string {
	if name == "waste" {
		return "remove_waste_from_bioreactor"
	}
	return "add_" + name + "_to_bioreactor"
}

// ReturnTolerance is how much more than it was asked a program pump function
// may report having moved: 5 % of the request, and at least 0.01 mL (a scale
// or an external pump's own rounding).
func ReturnTolerance(asked float64) float64 { return math.Max(0.01, 0.05*asked) }

// accounted runs a program pump function in an accounting scope: what pumps
// publish inside it is counted, and whatever it returns beyond that is
// published as one dosing event, so the liquid model sees each mL once.
//
// What a function may return: the mL it moved, at most what it was asked
// (within ReturnTolerance), or None when the pumps it ran reported the
// volume. Anything else is an error, and only what its pumps reported is
// booked: a function that claims liquid it did not move must not fake the
// liquid model.
func (a *Automation) accounted(event string, fn PumpFunc) PumpFunc {
	return func(ctx context.Context, ml float64) (float64, error) {
		s := &pumpScope{event: event}
		a.mu.Lock()
		a.scopes = append(a.scopes, s)
		a.mu.Unlock()
		moved, err := fn(ctx, ml)
		a.mu.Lock()
		a.scopes = a.scopes[:len(a.scopes)-1]
		a.mu.Unlock()
		fname := PumpFuncName(strings.TrimPrefix(strings.TrimPrefix(event, "add_"), "remove_"))
		switch {
		case errors.Is(err, ErrReturnedNone):
			return s.reported, nil
		case err != nil:
			return s.reported, err
		case math.IsNaN(moved) || math.IsInf(moved, 0) || moved < 0:
			return s.reported, fmt.Errorf("%s returned %v; it must return the mL it moved (a finite number ≥ 0), or None when its pumps reported it", fname, moved)
		case moved > ml+ReturnTolerance(ml):
			return s.reported, fmt.Errorf("%s returned %s mL when it was asked for %s mL; a pump function returns at most what it was asked (within 5 %% or 0.01 mL), so only the %s mL its pumps reported is booked",
				fname, payload.PyFloat(moved), payload.PyFloat(ml), payload.PyFloat(s.reported))
		}
		rest := moved - s.reported
		switch {
		case rest > 1e-9:
			a.publishDosingEvent(event, rest)
		case rest < -1e-9:
			a.Log.Warning("%s returned %s mL but its pumps reported %s mL; keeping the pumps' figure", fname, payload.PyFloat(moved), payload.PyFloat(s.reported))
			moved = s.reported
		}
		return moved, nil
	}
}

// publishDosingEvent books ml under event without running a pump.
func (a *Automation) publishDosingEvent(event string, ml float64) {
	env := a.Env()
	source := a.SourceOfEvent()
	ev := payload.DosingEvent{VolumeChange: payload.Float(ml), Event: event, SourceOfEvent: &source,
		Timestamp: payload.StructTimestamp(env.Sched.Now())}
	a.report(ml)
	a.tally(event, ml)
	if err := env.PublishDosingEvent(a.Client(), a.Experiment, ev); err != nil {
		a.Log.Error("%v", err)
	}
}

// report adds a published volume to every open accounting scope.
func (a *Automation) report(ml float64) {
	a.mu.Lock()
	for _, s := range a.scopes {
		s.reported += ml
	}
	a.mu.Unlock()
}

// Pump runs a pump on behalf of the automation (and its program): like
// upstream's pump processes it publishes the action's $state (init, ready,
// disconnected); it stops when the job sleeps or ends or the action's stop
// command arrives; and what it moves is counted in the open accounting
// scopes. Exactly one of ml and duration is set.
func (a *Automation) Pump(ctx context.Context, device string, ml, duration *float64) (float64, error) {
	env := a.Env()
	action := runtime.ActionName(device)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	if a.stopPumping {
		a.mu.Unlock()
		return 0, nil
	}
	a.active[action] = cancel
	event := ""
	if !runtime.StockPump(device) && len(a.scopes) > 0 {
		event = a.scopes[len(a.scopes)-1].event
	}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.active, action)
		a.mu.Unlock()
	}()
	req := runtime.PumpRequest{
		Device: device, ML: ml, Duration: duration, Event: event, Experiment: a.Experiment,
		SourceOfEvent: a.SourceOfEvent(), Client: a.Client(), Log: a.Log,
		Holder: JobName + " (" + action + ")",
	}
	// The action's $state has a connection of its own, whose last will
	// marks it lost if this process dies mid-dose, as upstream's pump
	// processes are marked. It publishes only once RunPump has accepted
	// the request (OnStart): a refused one publishes nothing.
	stateTopic := env.Topic(a.Experiment, action, "$state")
	client, err := env.Connect(pubsub.Options{
		ClientID: action + "-" + env.Unit + "-" + a.Experiment + "-" + JobName,
		Will:     &pubsub.Message{Topic: stateTopic, Payload: []byte(runtime.Lost), QoS: 2, Retained: true},
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", action, err)
	}
	defer client.Close()
	publishState := func(s runtime.State) { _ = client.Publish(stateTopic, []byte(s), 2, true) }
	started := false
	req.OnStart = func() {
		started = true
		publishState(runtime.Init)
		publishState(runtime.Ready)
	}
	defer func() {
		if started {
			publishState(runtime.Disconnected)
		}
	}()
	booked := event
	if booked == "" {
		booked = runtime.EventName(device)
	}
	req.OnEvent = func(ml float64) { a.report(ml); a.tally(booked, ml) }
	return runtime.RunPump(pctx, env, req)
}

// subscribeStopCommands listens, once for the job's life, for upstream's
// stop command of any pump action (disconnected on .../<action>/$state/set,
// under this unit or $broadcast, this experiment or $experiment).
func (a *Automation) subscribeStopCommands() error {
	env := a.Env()
	for _, u := range []string{env.Unit, topic.Broadcast} {
		for _, e := range []string{a.Experiment, topic.UniversalExperiment} {
			if err := a.Subscribe(topic.Join(u, e, "+", "$state", "set"), 1, a.onStopCommand); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Automation) onStopCommand(m pubsub.Message) {
	if m.Retained || string(m.Payload) != string(runtime.Disconnected) {
		return
	}
	_, _, rest, ok := topic.Parts(m.Topic)
	if !ok || len(rest) != 3 {
		return
	}
	a.mu.Lock()
	cancel := a.active[rest[0]]
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// stopActivePumps publishes upstream's three stop commands and, because
// safety must not depend on the broker, also cancels the running pumps.
func (a *Automation) stopActivePumps() {
	env := a.Env()
	for _, action := range []string{"add_media", "add_alt_media", "remove_waste"} {
		_ = a.Client().Publish(topic.Set(env.Unit, a.Experiment, action, "$state"), []byte(runtime.Disconnected), 1, false)
	}
	a.mu.Lock()
	var cancels []context.CancelFunc
	for _, c := range a.active {
		cancels = append(cancels, c)
	}
	a.mu.Unlock()
	for _, c := range cancels {
		c()
	}
}
