package dosing

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/runtime"
)

// ExecuteIOAction is execute_io_action(waste_ml, **doses): it publishes
// DosingStarted, doses, publishes DosingStopped and returns the volumes moved.
// custom finds the program's own pump functions (nil: none); media, alt_media
// and waste fall back to the stock pumps.
func (a *Automation) ExecuteIOAction(ctx context.Context, wasteML float64, doses []payload.Dose, custom PumpFuncs) (payload.Volumes, error) {
	data := append(payload.Volumes{{Key: "waste_ml", ML: wasteML}}, doses...)
	a.SetValue("latest_event", payload.Event{Name: payload.EventDosingStarted, Data: data})
	if err := checkDoses(wasteML, doses, a.model); err != nil {
		return nil, err
	}
	funcs := map[string]PumpFunc{}
	for _, d := range doses {
		if d.ML <= 0 {
			continue
		}
		fn, err := a.pumpFunc(strings.TrimSuffix(d.Key, "_ml"), custom)
		if err != nil {
			return nil, err
		}
		funcs[d.Key] = fn
	}
	var waste PumpFunc
	if wasteML > 0 {
		var err error
		if waste, err = a.pumpFunc("waste", custom); err != nil {
			return nil, err
		}
	}
	res, err := a.executeIOAction(ctx, wasteML, doses, funcs, waste)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.Doses++
	a.mu.Unlock()
	a.SetValue("latest_event", payload.Event{Name: payload.EventDosingStopped, Data: res})
	return res, nil
}

// checkDoses applies upstream's rules (every key ends in _ml, waste at least
// what is added) and pio's dose limit: no volume, and not the sum of the
// added volumes, may exceed the vial's capacity (doses beyond it are typos).
func checkDoses(wasteML float64, doses []payload.Dose, model config.Model) error {
	check := func(key string, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s must be a finite number of mL, got %v", key, v)
		}
		if v < 0 {
			return fmt.Errorf("%s must not be negative, got %s", key, payload.PyFloat(v))
		}
		if v > model.CapacityML {
			return fmt.Errorf("%s=%s is more than one execute_io_action may move: the vial's capacity, %s mL ([bioreactor] model %s)",
				key, payload.PyFloat(v), payload.PyFloat(model.CapacityML), model.Name)
		}
		return nil
	}
	if err := check("waste_ml", wasteML); err != nil {
		return err
	}
	sum := 0.0
	for _, d := range doses {
		if !strings.HasSuffix(d.Key, "_ml") || d.Key == "_ml" {
			return fmt.Errorf("all kwargs should end in `_ml`, got %q", d.Key)
		}
		if err := check(d.Key, d.ML); err != nil {
			return err
		}
		sum += d.ML
	}
	if sum > model.CapacityML {
		return fmt.Errorf("the doses add %s mL, more than one execute_io_action may add: the vial's capacity, %s mL ([bioreactor] model %s)",
			payload.PyFloat(sum), payload.PyFloat(model.CapacityML), model.Name)
	}
	if wasteML < sum-1e-9 {
		//lint:ignore ST1005 upstream's message, which people search for
		return fmt.Errorf("Not removing enough waste: waste_ml=%s is less than the %s mL added", payload.PyFloat(wasteML), payload.PyFloat(sum))
	}
	return nil
}

// gate waits while the job sleeps (polling every 5 s, as upstream does), and
// while its broker connection is down (no pump starts without a way to stop
// it), and reports whether a pump may run now.
func (a *Automation) gate(ctx context.Context) (bool, error) {
	clk := a.Env().Sched
	for a.State() == runtime.Sleeping || !a.Connected() {
		if err := clock.Sleep(ctx, clk, 5*time.Second); err != nil {
			return false, err
		}
	}
	a.mu.Lock()
	stop := a.stopPumping
	a.mu.Unlock()
	return a.State() == runtime.Ready && !stop, nil
}

func (a *Automation) executeIOAction(ctx context.Context, wasteML float64, doses []payload.Dose, funcs map[string]PumpFunc, waste PumpFunc) (payload.Volumes, error) {
	res := payload.Volumes{{Key: "waste_ml", ML: 0}}
	sum := 0.0
	for _, d := range doses {
		res = append(res, payload.Dose{Key: d.Key, ML: 0})
		sum += d.ML
	}
	if sum > a.Limits.MaxSubdose {
		half := make([]payload.Dose, len(doses))
		for i, d := range doses {
			half[i] = payload.Dose{Key: d.Key, ML: d.ML / 2}
		}
		for range 2 {
			r, err := a.executeIOAction(ctx, wasteML/2, half, funcs, waste)
			for _, d := range r {
				res.Add(d.Key, d.ML)
			}
			if err != nil {
				return res, err
			}
		}
	} else if err := a.leaf(ctx, wasteML, doses, funcs, waste, res); err != nil {
		return res, err
	}
	if got := res.Get("waste_ml"); got < wasteML {
		a.Log.Warning("Waste was under-removed. Expected to remove %s ml, only removed %s ml.", payload.PyFloat(wasteML), payload.PyFloat(got))
	}
	return res, nil
}

func (a *Automation) leaf(ctx context.Context, wasteML float64, doses []payload.Dose, funcs map[string]PumpFunc, waste PumpFunc, res payload.Volumes) error {
	projected := a.CurrentVolume()
	stopAt := a.model.MaxFillML
	pause := time.Duration(a.Limits.Pause * float64(time.Second))
	added := 0.0
	for _, d := range doses {
		if projected+d.ML >= stopAt {
			a.Log.Error("Pausing all pumping since %s + %s mL is beyond safety threshold %s mL.", payload.PyFloat(projected), payload.PyFloat(d.ML), payload.PyFloat(stopAt))
			a.SetState(runtime.Sleeping)
			return nil
		}
		moved, err := a.gatedPump(ctx, funcs[d.Key], d.ML, pause)
		res.Add(d.Key, moved)
		projected += moved
		added += moved
		if err != nil {
			return a.wasteAfterFailure(ctx, err, added, waste, res)
		}
	}
	moved, err := a.gatedPump(ctx, waste, wasteML, 50*time.Millisecond)
	res.Add("waste_ml", moved)
	if err != nil {
		return err
	}
	// Extra waste runs the pump but is not reported, as upstream.
	_, err = a.gatedPump(ctx, waste, wasteML*a.Limits.Multiplier, 50*time.Millisecond)
	return err
}

// gatedPump runs fn for ml if ml > 0 and the gate lets it, then pauses.
func (a *Automation) gatedPump(ctx context.Context, fn PumpFunc, ml float64, pause time.Duration) (float64, error) {
	if ml <= 0 {
		return 0, nil
	}
	if ok, err := a.gate(ctx); !ok || err != nil {
		return 0, err
	}
	moved, err := fn(ctx, ml)
	if err != nil {
		return moved, err
	}
	return moved, clock.Sleep(ctx, a.Env().Sched, pause)
}

// wasteAfterFailure is the rule for an execute_io_action that fails part-way
// (a pump function's error, a pump that is not wired): every mL that went in
// is removed again, with the usual extra waste, so that a failing dose
// cannot fill the vial run after run. It returns the original error. When
// the job is stopping (ctx ended), no pump starts: the log says what moved.
func (a *Automation) wasteAfterFailure(ctx context.Context, err error, added float64, waste PumpFunc, res payload.Volumes) error {
	if added <= 0 || waste == nil {
		return err
	}
	if ctx.Err() != nil {
		a.Log.Warning("%s mL went in and no waste was removed for it: the job stopped during execute_io_action.", payload.PyFloat(added))
		return err
	}
	a.Log.Warning("execute_io_action failed after %s mL went in (%v); removing %s mL of waste for it.", payload.PyFloat(added), err, payload.PyFloat(added))
	moved, werr := a.gatedPump(ctx, waste, added, 50*time.Millisecond)
	res.Add("waste_ml", moved)
	if werr == nil {
		_, werr = a.gatedPump(ctx, waste, added*a.Limits.Multiplier, 50*time.Millisecond)
	}
	if werr != nil {
		a.Log.Error("removing waste after a failed execute_io_action failed too: %v", werr)
	}
	return err
}
