package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/piolab/pio/calibration"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/pubsub"
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
	// Event names the dosing events; empty means EventName(Device).
	Event         string
	SourceOfEvent string
	Experiment    string
	// Client publishes the pump's dosing events; Log gets its log lines.
	Client pubsub.Client
	Log    *Logger
	// OnEvent, if set, sees each volume published to dosing_events.
	OnEvent func(ml float64)
	// Holder names the job that runs the pump, as a busy channel reports it
	// (e.g. "dosing_automation"); empty means the pump's action name.
	Holder string
	// OnStart, if set, is called once the request is accepted, just before
	// the pump is switched on (a pump job publishes its ready state there).
	OnStart func()
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

// EventName is the dosing event a device's liquid is booked under:
// add_media, add_alt_media, remove_waste, and add_<device> for the others.
func EventName(device string) string {
	if device == "waste" {
		return "remove_waste"
	}
	return "add_" + device
}

// StockPump reports whether device is one of the three pumps every unit has.
func StockPump(device string) bool {
	return device == "media" || device == "alt_media" || device == "waste"
}

// FactoryCalibrated is a board that knows its own pumps' flow (the simulated
// reactor): a pump with no active calibration runs on it.
type FactoryCalibrated interface {
	FactoryPumpCalibration(device string) (calibration.Pump, bool)
}

// CalibrationError means a pump cannot convert mL to time.
type CalibrationError struct {
	Device string
}

func (e *CalibrationError) Error() string {
	return fmt.Sprintf("%s_pump has no active calibration, and dosing by mL needs one; run `pio calibrations run --device %s_pump` (or `pio calibrations set --device %s_pump --ml-per-second <measured rate>`) first (or pump by --duration)", e.Device, e.Device, e.Device)
}

// PumpCalibration returns the calibration a device's pump runs with: the
// active one, else the board's factory calibration (simulated boards only),
// else upstream's placeholder (marked Default).
func (e *Env) PumpCalibration(device string) (calibration.Pump, error) {
	cal, err := e.Calibrations.Active(device + "_pump")
	if err == nil {
		return cal, nil
	}
	if !errors.Is(err, calibration.ErrNoActive) {
		return cal, err
	}
	if fc, ok := e.Board.(FactoryCalibrated); ok && e.Board.Simulated() {
		if c, ok := fc.FactoryPumpCalibration(device); ok {
			return c, nil
		}
	}
	return calibration.DefaultPump(device + "_pump"), nil
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

// pumpPlan is a checked pump request: everything RunPump needs to start.
type pumpPlan struct {
	action  string
	event   string
	channel int
	cal     calibration.Pump
	model   config.Model
	inflow  bool
	holder  string
}

// planPump checks a request: one mode, a finite volume or time within the
// dose limits (doselimits.go), a PWM channel for the device, a calibration,
// and room in the vial for an inflow.
func planPump(env *Env, req PumpRequest) (pumpPlan, error) {
	p := pumpPlan{action: ActionName(req.Device), event: req.Event, inflow: req.Device != "waste"}
	action := p.action
	modes := 0
	for _, set := range []bool{req.ML != nil, req.Duration != nil, req.Continuously} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return p, fmt.Errorf("%s: select exactly one of ml, duration, or continuously", action)
	}
	if err := checkVolume("ml", req.ML); err != nil {
		return p, fmt.Errorf("%s: %w", action, err)
	}
	if err := checkVolume("duration", req.Duration); err != nil {
		return p, fmt.Errorf("%s: %w", action, err)
	}
	o, err := env.Options()
	if err != nil {
		return p, err
	}
	channel, ok := o.PWMChannel(req.Device)
	if !ok {
		return p, fmt.Errorf("%s: no PWM channel is assigned to %q; add `<channel>=%s` to the [PWM] config section", action, req.Device, req.Device)
	}
	p.channel = channel
	p.model = o.Bioreactor.Model
	if req.Continuously && p.inflow {
		if st, ok, _ := env.Liquid.Load(req.Experiment); ok && st.CurrentVolumeML >= p.model.MaxFillML {
			return p, fmt.Errorf("%s: the vial is modelled at %.2f mL, at or above its max fill of %v mL; not starting a continuous inflow", action, st.CurrentVolumeML, p.model.MaxFillML)
		}
	}
	p.cal, err = env.PumpCalibration(req.Device)
	if err != nil {
		return p, fmt.Errorf("%s: %w", action, err)
	}
	if p.cal.Default && (req.ML != nil || req.Continuously && p.inflow) && !env.Board.Simulated() {
		return p, fmt.Errorf("%s: %w", action, &CalibrationError{Device: req.Device})
	}
	if !req.Continuously {
		current := 0.0
		if p.inflow {
			st, err := LoadLiquidState(env, req.Experiment)
			if err != nil {
				return p, fmt.Errorf("%s: reading the liquid model: %w", action, err)
			}
			current = st.CurrentVolumeML
		}
		if err := checkDoseLimits(action, req.Device, req, p.model, p.cal, current); err != nil {
			return p, err
		}
	}
	if p.event == "" {
		p.event = EventName(req.Device)
	}
	p.holder = req.Holder
	if p.holder == "" {
		p.holder = action
	}
	return p, nil
}

// RunPump runs a pump and returns the millilitres it moved (by its
// calibration). It stops early, and reports only what moved, when ctx ends
// (a stop command, the job sleeping or ending, a lost broker: Env.StopPumps).
// The PWM output is off when RunPump returns, whatever happened; if it cannot
// be switched off, the board is halted and the error returned.
func RunPump(ctx context.Context, env *Env, req PumpRequest) (float64, error) {
	plan, err := planPump(env, req)
	if err != nil {
		return 0, err
	}
	action, cal, model, inflow := plan.action, plan.cal, plan.model, plan.inflow
	if req.ML != nil && *req.ML == 0 || req.Duration != nil && *req.Duration == 0 {
		return 0, nil // the pump is never energised
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%s: not started: %w", action, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer env.trackPump(action, cancel)()

	out, err := env.OpenPWM(req.Client, req.Experiment, plan.channel, cal.Hz, plan.holder)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", action, err)
	}
	defer out.Close()

	pub := newEventPublisher(env, req.Client, req.Experiment, plan.event, req.SourceOfEvent, req.OnEvent)
	defer pub.close()
	if req.OnStart != nil {
		req.OnStart()
	}
	p := &pumpRun{env: env, out: out, cal: cal, pub: pub, log: req.Log, device: req.Device}

	switch {
	case req.Continuously:
		req.Log.Info("Running %s_pump continuously.", req.Device)
		return p.continuously(ctx, req.Experiment, inflow, model.MaxFillML)
	case req.ML != nil:
		ml := *req.ML
		if inflow {
			req.Log.Info("Adding %s mL %s.", pyFloat(ml), req.Device)
		} else {
			req.Log.Info("Removing %s mL %s.", pyFloat(ml), req.Device)
		}
		return p.forSeconds(ctx, cal.MLToDuration(ml), ml)
	default:
		d := *req.Duration
		req.Log.Info("Running %s_pump for %ss.", req.Device, pyFloat(d))
		return p.forSeconds(ctx, d, cal.DurationToML(d))
	}
}

// pumpRun is one run of one pump.
type pumpRun struct {
	env    *Env
	out    hw.PWM
	cal    calibration.Pump
	pub    *eventPublisher
	log    *Logger
	device string
}

// on switches the pump on and returns the moment it was on: on-time counts
// from there, not from before the switch.
func (p *pumpRun) on() (time.Time, error) {
	if err := p.out.SetDuty(p.cal.DC); err != nil {
		_ = p.off()
		return time.Time{}, fmt.Errorf("%s_pump: switching on: %w", p.device, err)
	}
	return p.env.Sched.Now(), nil
}

// offRetries is how often a failed "off" is retried before the board is halted.
const offRetries = 3

// off switches the pump off, retrying; if it still fails, it halts the whole
// board, logs at ERROR and returns the error.
func (p *pumpRun) off() error {
	var err error
	for range offRetries {
		if err = p.out.SetDuty(0); err == nil {
			return nil
		}
	}
	haltErr := p.env.Board.HaltAll()
	p.log.Error("%s_pump did not switch off after %d tries (%v); halted the board (%v)", p.device, offRetries, err, haltErr)
	return fmt.Errorf("%s_pump: switching off failed %d times, board halted: %w", p.device, offRetries, err)
}

// forSeconds runs the pump for seconds and accounts ml in 0.5 s ticks.
func (p *pumpRun) forSeconds(ctx context.Context, seconds, ml float64) (float64, error) {
	if seconds <= 0 {
		// A calibration intercept can make tiny volumes need no time at all.
		p.pub.publish(ml)
		return ml, nil
	}
	clk := p.env.Sched
	start, err := p.on()
	if err != nil {
		return 0, err
	}
	end := start.Add(time.Duration(seconds * float64(time.Second)))
	reported := 0.0
	tickStart := start
	for {
		timeLeft := end.Sub(clk.Now())
		if timeLeft <= 0 {
			break
		}
		chunk := ml - reported
		if timeLeft >= PumpTick {
			chunk = p.cal.DurationToML(PumpTick.Seconds())
		}
		p.pub.publish(chunk)
		reported += chunk
		next := tickStart.Add(PumpTick)
		if next.After(end) {
			next = end
		}
		tickStart = next
		if err := clk.SleepUntil(ctx, next); err != nil {
			offErr := p.off()
			elapsed := clk.Now().Sub(start).Seconds()
			actual := p.cal.DurationToML(math.Min(elapsed, seconds))
			p.pub.publish(actual - reported)
			p.log.Info("Stopped %s_pump early.", p.device)
			return actual, offErr
		}
	}
	if err := p.off(); err != nil {
		return reported, err
	}
	if rest := ml - reported; rest > 0 {
		p.pub.publish(rest)
		reported += rest
	}
	return reported, nil
}

func (p *pumpRun) continuously(ctx context.Context, experiment string, inflow bool, maxFill float64) (float64, error) {
	clk := p.env.Sched
	start, err := p.on()
	if err != nil {
		return 0, err
	}
	reported := 0.0
	next := start
	for {
		if inflow {
			if st, ok, _ := p.env.Liquid.Load(experiment); ok && st.CurrentVolumeML >= maxFill {
				p.log.Warning("Stopping %s_pump: the vial is modelled at %.2f mL, its max fill is %v mL.", p.device, st.CurrentVolumeML, maxFill)
				break
			}
		}
		next = next.Add(PumpTick)
		if err := clk.SleepUntil(ctx, next); err != nil {
			break
		}
		chunk := p.cal.DurationToML(PumpTick.Seconds())
		p.pub.publish(chunk)
		reported += chunk
	}
	offErr := p.off()
	total := p.cal.DurationToML(clk.Now().Sub(start).Seconds())
	p.pub.publish(total - reported)
	p.log.Info("Stopped %s_pump.", p.device)
	return total, offErr
}
