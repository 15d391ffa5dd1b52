package sim

import "math"

// The stirrer's RPM follows its PWM's duty: nothing up to a dead zone, then
// rpmPerPercent·(duty − deadZone), reached with a first-order lag. The hall
// sensor counts the revolutions, which integrate the RPM.

// stirStep advances the stirrer's RPM by dt seconds at duty (percent) and
// returns the new RPM and the revolutions made.
func (m *Model) stirStep(rpm, duty, dt float64) (float64, float64) {
	target := m.stirTarget(duty)
	tau := m.StirringTimeConstant.Seconds()
	if tau <= 0 {
		return target, target * dt / 60
	}
	e := math.Exp(-dt / tau)
	revs := (target*dt + (rpm-target)*tau*(1-e)) / 60
	return target + (rpm-target)*e, revs
}

// stirTarget is the RPM the stirrer settles at for duty (percent).
func (m *Model) stirTarget(duty float64) float64 {
	if duty <= m.StirringDeadZone {
		return 0
	}
	return m.StirringRPMPerPercent * (duty - m.StirringDeadZone)
}

// rpmCounter is the hall sensor: revolutions since it was opened.
type rpmCounter struct {
	r    *Reactor
	base float64
}

func (c *rpmCounter) String() string { return "sim RPM counter" }
func (c *rpmCounter) Halt() error    { return nil }

// Revolutions implements hw.RPMCounter.
func (c *rpmCounter) Revolutions() (float64, error) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.r.advanceLocked()
	return c.r.revs - c.base, nil
}
