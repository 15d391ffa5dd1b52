package runtime

import (
	"context"
	"errors"
	"fmt"
	"github.com/piolab/pio/payload"
	"math"
	"sync"
	"time"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// PumpTick is the accounting period of a running pump: a dosing event is
// published for each tick, before the liquid of that tick has moved.
const PumpTick = 500 * time.Millisecond

// PumpRequest asks a peristaltic pump to run. Exactly one of ML, Duration and
// Continuously must be set.
type PumpRequest struct {
	// Device is the [PWM] device name: media, alt_media, waste, or any other
	// pump wired to a PWM channel. Its calibration is <device>_pump.
	Device       string
	ML           *float64 // millilitres
	Duration     *float64 // seconds
	Continuously bool
	// payload.Event names the dosing events; empty means the device's action name
	// (add_media, add_alt_media, remove_waste, add_<device>).
	Event         string
	SourceOfEvent string
	// Client publishes the pump's messages; nil opens a connection of its own,
	// with a last will, as a manual pio run add_media does.
	Client pubsub.Client
	// OnEvent, if set, sees each volume published to dosing_events.
	OnEvent func(ml float64)
	// Log receives the pump's log lines; nil logs under the action's name.
	Log *Logger
}

// ActionName is the job name a pump runs under: add_media, add_alt_media,
// remove_waste, and pump_<device> for any other device.
func ActionName(device string) string {
	switch device {
	case "media":
		return "add_media"
	case "alt_media":
		return "add_alt_media"
	case "waste":
		return "remove_waste"
	}
	return "pump_" + device
}

// CalibrationError means a pump cannot convert mL to time.
type CalibrationError struct {
	Device string
}

func (e *CalibrationError) Error() string {
	return fmt.Sprintf("%s_pump has no active calibration, and dosing by mL needs one; run `pio calibrations set --device %s_pump --ml-per-second <measured rate>` first (or pump by --duration)", e.Device, e.Device)
}

func checkVolume(what string, v *float64) error {
	if v == nil {
		return nil
	}
	if math.IsNaN(*v) || math.IsInf(*v, 0) {
		return fmt.Errorf("%s must be a finite number, got %v", what, *v)
	}
	if *v < 0 {
		return fmt.Errorf("%s must not be negative, got %v", what, *v)
	}
	return nil
}

// PumpCalibration returns the calibration a device's pump runs with: the
// active one, else the environment's fallback, else upstream's placeholder
// (marked Default).
func (e *Env) PumpCalibration(device string) (calibration.Pump, error) {
	cal, err := e.Calibrations.Active(device + "_pump")
	if err == nil {
		return cal, nil
	}
	if !errors.Is(err, calibration.ErrNoActive) {
		return cal, err
	}
	if e.FallbackCalibration != nil {
		if c, ok := e.FallbackCalibration(device); ok {
			return c, nil
		}
	}
	return calibration.DefaultPump(device + "_pump"), nil
}

// RunPump runs a pump and returns the millilitres it moved (by its calibration).
// It stops early, and reports only what moved, when ctx ends, when
// "disconnected" arrives on .../<action>/$state/set, or when the runtime stops
// all pumps. The PWM output is off when RunPump returns, whatever happened.
func RunPump(ctx context.Context, env *Env, experiment string, req PumpRequest) (float64, error) {
	action := ActionName(req.Device)
	modes := 0
	for _, set := range []bool{req.ML != nil, req.Duration != nil, req.Continuously} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return 0, fmt.Errorf("%s: select exactly one of ml, duration, or continuously", action)
	}
	if err := checkVolume("ml", req.ML); err != nil {
		return 0, fmt.Errorf("%s: %w", action, err)
	}
	if err := checkVolume("duration", req.Duration); err != nil {
		return 0, fmt.Errorf("%s: %w", action, err)
	}
	channel, ok := env.Config.PWMChannel(req.Device)
	if !ok {
		return 0, fmt.Errorf("%s: no PWM channel is assigned to %q; add `<channel>=%s` to the [PWM] config section", action, req.Device, req.Device)
	}
	model, err := env.Config.Model()
	if err != nil {
		return 0, err
	}
	inflow := req.Device != "waste"
	if req.Continuously && inflow {
		if st, ok, _ := env.Liquid.Load(experiment); ok && st.CurrentVolumeML >= model.MaxFillML {
			return 0, fmt.Errorf("%s: the vial is modelled at %.2f mL, at or above its max fill of %v mL; not starting a continuous inflow", action, st.CurrentVolumeML, model.MaxFillML)
		}
	}
	cal, err := env.PumpCalibration(req.Device)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", action, err)
	}
	if cal.Default && (req.ML != nil || req.Continuously && inflow) && !env.Board.Simulated() {
		return 0, fmt.Errorf("%s: %w", action, &CalibrationError{Device: req.Device})
	}
	if req.ML != nil && *req.ML == 0 || req.Duration != nil && *req.Duration == 0 {
		return 0, nil // the pump is never energised
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%s: not started: %w", action, err)
	}
	event := req.Event
	if event == "" {
		event = action
		if req.Device != "waste" && req.Device != "media" && req.Device != "alt_media" {
			event = "add_" + req.Device
		}
	}

	// The pump's lifecycle on MQTT, as a small job of its own.
	client := req.Client
	if client == nil {
		c, err := env.Connect(pubsub.Options{
			ClientID: fmt.Sprintf("%s-%s-%s", action, env.Unit, experiment),
			Will:     &pubsub.Message{Topic: topic.State(env.Unit, experiment, action), Payload: []byte(Lost), QoS: 2, Retained: true},
			OnLost:   func(error) { env.StopAllPumps() },
		})
		if err != nil {
			return 0, fmt.Errorf("%s: %w", action, err)
		}
		defer c.Close()
		client = c
	}
	log := req.Log
	if log == nil {
		log = newLogger(env, client, experiment, action)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer env.trackPump(cancel)()
	stateTopic := topic.State(env.Unit, experiment, action)
	publishState := func(s State) { _ = client.Publish(stateTopic, []byte(s), 2, true) }
	publishState(Init)
	defer publishState(Disconnected)
	var stopFilters []string
	for _, u := range []string{env.Unit, topic.Broadcast} {
		for _, e := range []string{experiment, topic.UniversalExperiment} {
			f := topic.Join(u, e, action, "$state", "set")
			stopFilters = append(stopFilters, f)
			_ = client.Subscribe(f, 1, func(m pubsub.Message) {
				if !m.Retained && string(m.Payload) == string(Disconnected) {
					cancel()
				}
			})
		}
	}
	defer func() {
		for _, f := range stopFilters {
			_ = client.Unsubscribe(f)
		}
	}()
	publishState(Ready)

	out, err := env.Board.PWM().Open(channel, cal.Hz)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", action, err)
	}
	defer out.Close()

	pub := newEventPublisher(env, client, experiment, event, req.SourceOfEvent, req.OnEvent)
	defer pub.close()

	switch {
	case req.Continuously:
		log.Info("Running %s_pump continuously.", req.Device)
		return runContinuously(ctx, env, experiment, out.SetDuty, cal, inflow, model.MaxFillML, pub, log, req.Device)
	case req.ML != nil:
		ml := *req.ML
		if ml > 0 && inflow {
			log.Info("Adding %s mL %s.", payload.PyFloat(ml), req.Device)
		} else {
			log.Info("Removing %s mL %s.", payload.PyFloat(ml), req.Device)
		}
		return runFor(ctx, env, out.SetDuty, cal, cal.MLToDuration(ml), ml, pub, log, req.Device)
	default:
		d := *req.Duration
		log.Info("Running %s_pump for %ss.", req.Device, payload.PyFloat(d))
		return runFor(ctx, env, out.SetDuty, cal, d, cal.DurationToML(d), pub, log, req.Device)
	}
}

// runFor runs the pump for seconds and accounts ml in 0.5 s ticks.
func runFor(ctx context.Context, env *Env, setDuty func(float64) error, cal calibration.Pump, seconds, ml float64, pub *eventPublisher, log *Logger, device string) (float64, error) {
	if seconds <= 0 {
		// A calibration intercept can make tiny volumes need no time at all.
		pub.publish(ml)
		return ml, nil
	}
	clk := env.Clock
	start := clk.Now()
	end := start.Add(time.Duration(seconds * float64(time.Second)))
	if err := setDuty(cal.DC); err != nil {
		return 0, fmt.Errorf("%s_pump: %w", device, err)
	}
	reported := 0.0
	tickStart := start
	for {
		timeLeft := end.Sub(clk.Now())
		if timeLeft <= 0 {
			break
		}
		chunk := ml - reported
		if timeLeft >= PumpTick {
			chunk = cal.DurationToML(PumpTick.Seconds())
		}
		pub.publish(chunk)
		reported += chunk
		next := tickStart.Add(PumpTick)
		if next.After(end) {
			next = end
		}
		tickStart = next
		if err := clk.SleepUntil(ctx, next); err != nil {
			setDuty(0)
			elapsed := clk.Now().Sub(start).Seconds()
			actual := cal.DurationToML(math.Min(elapsed, seconds))
			pub.publish(actual - reported)
			log.Info("Stopped %s_pump early.", device)
			return actual, nil
		}
	}
	if err := setDuty(0); err != nil {
		return reported, fmt.Errorf("%s_pump: %w", device, err)
	}
	if rest := ml - reported; rest > 0 {
		pub.publish(rest)
		reported += rest
	}
	return reported, nil
}

func runContinuously(ctx context.Context, env *Env, experiment string, setDuty func(float64) error, cal calibration.Pump, inflow bool, maxFill float64, pub *eventPublisher, log *Logger, device string) (float64, error) {
	clk := env.Clock
	start := clk.Now()
	if err := setDuty(cal.DC); err != nil {
		return 0, fmt.Errorf("%s_pump: %w", device, err)
	}
	reported := 0.0
	next := start
	for {
		if inflow {
			if st, ok, _ := env.Liquid.Load(experiment); ok && st.CurrentVolumeML >= maxFill {
				log.Warning("Stopping %s_pump: the vial is modelled at %.2f mL, its max fill is %v mL.", device, st.CurrentVolumeML, maxFill)
				break
			}
		}
		next = next.Add(PumpTick)
		if err := clk.SleepUntil(ctx, next); err != nil {
			break
		}
		chunk := cal.DurationToML(PumpTick.Seconds())
		pub.publish(chunk)
		reported += chunk
	}
	setDuty(0)
	total := cal.DurationToML(clk.Now().Sub(start).Seconds())
	pub.publish(total - reported)
	log.Info("Stopped %s_pump.", device)
	return total, nil
}

// eventPublisher publishes a pump's dosing events, in order, either inline or
// from a queue (Env.AsyncPublish) so a slow broker cannot hold a pump on.
type eventPublisher struct {
	env     *Env
	client  pubsub.Client
	topic   string
	event   string
	source  *string
	onEvent func(float64)
	queue   chan []byte
	wg      sync.WaitGroup
}

func newEventPublisher(env *Env, client pubsub.Client, experiment, event, source string, onEvent func(float64)) *eventPublisher {
	p := &eventPublisher{env: env, client: client, topic: topic.DosingEvents(env.Unit, experiment), event: event, onEvent: onEvent}
	if source != "" {
		p.source = &source
	}
	if env.AsyncPublish {
		p.queue = make(chan []byte, 1024)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for b := range p.queue {
				p.send(b)
			}
		}()
	}
	return p
}

func (p *eventPublisher) send(b []byte) {
	if err := p.client.Publish(p.topic, b, 2, false); err != nil {
		p.env.console().Error("dosing event not published", "topic", p.topic, "err", err, "payload", string(b))
	}
}

func (p *eventPublisher) publish(ml float64) {
	b := payload.DosingEvent{VolumeChange: payload.Float(ml), Event: p.event, SourceOfEvent: p.source,
		Timestamp: payload.StructTimestamp(p.env.Clock.Now())}.AppendJSON(make([]byte, 0, 128))
	if p.onEvent != nil {
		p.onEvent(ml)
	}
	if p.queue != nil {
		p.queue <- b
		return
	}
	p.send(b)
}

// close waits, for a bounded time, until queued events are out.
func (p *eventPublisher) close() {
	if p.queue == nil {
		return
	}
	close(p.queue)
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.env.console().Error("dosing events still queued after 5 s; the broker is not answering", "topic", p.topic)
	}
}
