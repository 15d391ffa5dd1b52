package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSupervisorHostsStopsAndReportsJobs hosts the monitor and a pump job on
// one Env, reports them, stops one by name, the rest together, and halts.
func TestSupervisorHostsStopsAndReportsJobs(t *testing.T) {
	h := newHarness(t)
	sup := NewSupervisor(h.env)
	var mon *Monitor
	var pump *PumpAction
	var monEnded, pumpEnded bool
	// Start both at t=0 and run the unit for 2 s (the pump runs until stopped).
	h.clk.Go("start", func() {
		var err error
		if mon, err = StartMonitor(h.env); err != nil {
			t.Error(err)
			return
		}
		if pump, err = StartPumpAction(h.env, PumpRequest{Device: "waste", Continuously: true}); err != nil {
			t.Error(err)
			return
		}
		sup.Start(context.Background(), mon, func(error) { monEnded = true })
		sup.Start(context.Background(), pump, func(error) { pumpEnded = true })
		if err := sup.Start(context.Background(), pump, nil); !errors.Is(err, ErrJobRunning) {
			t.Errorf("a second start of remove_waste: %v, want ErrJobRunning", err)
		}
	})
	h.clk.RunUntil(context.Background(), epoch.Add(2*time.Second))
	if mon == nil || pump == nil {
		t.FailNow()
	}
	jobs := sup.Jobs()
	if len(jobs) != 2 || jobs[0].Name != "monitor" || jobs[0].State != Ready || jobs[1].Name != "remove_waste" || jobs[1].Ended {
		t.Fatalf("jobs %+v, want monitor and remove_waste running", jobs)
	}
	if !sup.Stop("remove_waste") || sup.Stop("stirring") {
		t.Error("Stop reports the wrong jobs as hosted")
	}
	h.settle()
	if !pumpEnded || monEnded || !sup.Jobs()[1].Ended || sup.Jobs()[1].State != Disconnected {
		t.Fatalf("after Stop: pump ended %v, monitor ended %v, jobs %+v", pumpEnded, monEnded, sup.Jobs())
	}
	if pump.Moved != 2 {
		t.Errorf("the pump moved %v mL in 2 s at 1 mL/s", pump.Moved)
	}
	sup.StopAll()
	h.settle()
	if !monEnded || len(sup.Errors()) != 0 {
		t.Errorf("after StopAll: monitor ended %v, errors %v", monEnded, sup.Errors())
	}
	if err := sup.Halt(); err != nil {
		t.Fatal(err)
	}
	for _, d := range h.reactor.DutyTrace() {
		if d.Channel == 4 && strings.Contains(d.Device, "waste") && d.Duty != 0 && d.At.After(epoch.Add(2*time.Second)) {
			t.Errorf("waste pump on after the stop: %+v", d)
		}
	}
}
