// Package sim is a simulated Pioreactor: a vial with pumps wired to PWM
// channels, an efflux tube, a culture that grows (lag, exponential,
// saturation), is diluted and is slowed by alt-media, a heater that warms
// the vial and the heating PCB, a stirrer, four LED channels and photodiodes
// that see the culture by the IR LED's light. It implements hw.Board and
// hw.Sensors; docs/simulation.md describes the model.
//
// Physics advance lazily from the injected clock: every call integrates from
// the last update to Now, so the reactor needs no goroutine and is exact and
// deterministic under a virtual clock. Randomness (each pump's true flow, the
// sensors' noise) comes from the seed alone.
package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/piolab/pio/hw"
)

// Clock is what the reactor needs of a clock.
type Clock interface{ Now() time.Time }

// Options describe a simulated reactor. Zero fields take the defaults noted.
type Options struct {
	Seed int64
	// Devices maps PWM channel to device name, as the [PWM] config section does.
	Devices map[int]string
	// PumpMLPerSecond is a pump's nominal flow at 100 % duty (default 0.5).
	PumpMLPerSecond float64
	// FlowSpread is the relative standard deviation of each pump's true flow
	// around nominal (default 0; 0.02 means 2 %).
	FlowSpread float64
	VolumeML   float64 // starting volume (default 14)
	EffluxML   float64 // efflux tube height as a volume (default 14)
	CapacityML float64 // the vial overflows above this (default 40)
	// Culture: starting OD, maximum growth rate per hour, carrying capacity
	// (OD). Zero: [simulation] initial_od, growth_rate_per_hour, max_od.
	OD, GrowthPerHour, MaxOD float64
	// Model is the rest of the physics; nil: DefaultModel(), the
	// [simulation] defaults. Used as given otherwise.
	Model *Model
	// Photodiodes maps photodiode channel (1 to 4) to what it sees, as
	// [od_config.photodiode_channel] does: "REF", an angle ("45", "90",
	// "135", "180"), or "" (nothing). nil: 1 is REF and 2 is 90°.
	Photodiodes map[int]string
	// IRChannel is the LED channel ("A" to "D") of the IR LED, labelled IR
	// in [leds]; "": A.
	IRChannel string
}

// DutyTraceLen is how many PWM changes DutyTrace remembers: the most recent
// ones. The trace is a fixed ring, so a reactor's memory does not grow with
// the length of a run (a stirrer's controller alone changes its duty every
// few seconds, for weeks).
const DutyTraceLen = 256

// Reactor is the simulated unit.
type Reactor struct {
	clock Clock
	opts  Options

	mu          sync.Mutex
	model       Model
	start       time.Time
	last        time.Time
	volume      float64
	od          float64
	altFrac     float64
	q           float64 // the culture's physiological state (Baranyi); +Inf: no lag
	vialC       float64 // vial temperature, °C
	pcbC        float64 // heating PCB temperature, °C
	rpm         float64 // stirrer
	revs        float64 // revolutions since the start
	leds        [4]float64
	ledsOut     bool // LEDs() has handed the LEDs out: HaltAll turns them off
	irIndex     int
	irErr       error
	pds         map[int]string // photodiode channel -> role
	streams     map[uint64]*rand.Rand
	driftPhase  float64 // of the IR LED's drift
	ripplePhase float64 // of the mains at the start
	overflow    float64
	moved       map[string]float64 // device -> mL actually moved
	flow        map[int]float64    // channel -> true mL/s at 100 %
	open        map[int]*pwm
	devices     map[int]string

	// trace is a ring of the last DutyTraceLen changes; changes counts all
	// changes ever made, so the next one goes to trace[changes%DutyTraceLen].
	trace      [DutyTraceLen]DutyChange
	changes    int64
	perChannel map[int]int64 // channel -> changes ever made

	// onDuty is the observer of duty changes; pending holds the changes it
	// has yet to see, delivering whether a goroutine is handing them over.
	onDuty     func(channel int, device string, duty float64)
	pending    []DutyChange
	delivering bool
}

// DutyChange records one change of a PWM output.
type DutyChange struct {
	At      time.Time
	Channel int
	Device  string
	Duty    float64
}

// New returns a reactor.
func New(clock Clock, o Options) *Reactor {
	// Zero fields that the configuration describes take its defaults: the
	// config.Defaults text is their one source.
	d := FromConfig(configDefaults(), o.Seed)
	if o.PumpMLPerSecond == 0 {
		o.PumpMLPerSecond = d.PumpMLPerSecond
	}
	if o.VolumeML == 0 {
		o.VolumeML = d.VolumeML
	}
	if o.EffluxML == 0 {
		o.EffluxML = d.EffluxML
	}
	if o.CapacityML == 0 {
		o.CapacityML = d.CapacityML
	}
	if o.OD == 0 {
		o.OD = d.OD
	}
	if o.GrowthPerHour == 0 {
		o.GrowthPerHour = d.GrowthPerHour
	}
	if o.MaxOD == 0 {
		o.MaxOD = d.MaxOD
	}
	if o.Devices == nil {
		o.Devices = d.Devices
	}
	if o.Model == nil {
		o.Model = d.Model
	}
	if o.Photodiodes == nil {
		o.Photodiodes = map[int]string{1: "REF", 2: "90"}
	}
	if o.IRChannel == "" {
		o.IRChannel = "A"
	}
	m := *o.Model
	now := clock.Now()
	r := &Reactor{
		clock: clock, opts: o, model: m, start: now, last: now, volume: o.VolumeML, od: o.OD,
		q:     lagState(o.GrowthPerHour/3600, m.LagHours),
		vialC: m.RoomCelsius, pcbC: m.RoomCelsius,
		moved: map[string]float64{}, flow: map[int]float64{}, open: map[int]*pwm{},
		devices: map[int]string{}, perChannel: map[int]int64{},
		pds: map[int]string{}, streams: map[uint64]*rand.Rand{},
	}
	for ch, role := range o.Photodiodes {
		r.pds[ch] = role
	}
	if i, ok := ledIndex(o.IRChannel); ok {
		r.irIndex = i
	} else {
		r.irErr = fmt.Errorf("sim: the IR LED's channel %q does not exist (A to D): %w", o.IRChannel, hw.ErrNotConfigured)
	}
	r.driftPhase = 2 * math.Pi * r.stream(streamPhotodiode).Float64()
	r.ripplePhase = 2 * math.Pi * r.stream(streamPhotodiode).Float64()
	rng := r.stream(streamFlows)
	chans := make([]int, 0, len(o.Devices))
	for ch, dev := range o.Devices {
		r.devices[ch] = dev
		chans = append(chans, ch)
	}
	sort.Ints(chans)
	for _, ch := range chans {
		r.flow[ch] = o.PumpMLPerSecond * (1 + o.FlowSpread*rng.NormFloat64())
	}
	return r
}

// Name implements hw.Board.
func (r *Reactor) Name() string { return "simulated reactor" }

// Simulated implements hw.Board.
func (r *Reactor) Simulated() bool { return true }

// PWM implements hw.Board.
func (r *Reactor) PWM() hw.PWMController { return r }

// NominalMLPerSecond is the flow every simulated pump is sold as: the
// calibration a simulated unit starts with.
func (r *Reactor) NominalMLPerSecond() float64 { return r.opts.PumpMLPerSecond }

// Open implements hw.PWMController.
func (r *Reactor) Open(channel int, hz float64) (hw.PWM, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if channel < 1 || channel > 9 {
		return nil, fmt.Errorf("sim: PWM channel %d does not exist (1 to 5 on the HAT, 6 to 9 on the expansion): %w", channel, hw.ErrNotConfigured)
	}
	if _, busy := r.open[channel]; busy {
		return nil, fmt.Errorf("sim: PWM channel %d: %w", channel, hw.ErrBusy)
	}
	p := &pwm{r: r, ch: channel, hz: hz}
	r.open[channel] = p
	return p, nil
}

// HaltAll implements hw.Board. It halts the outputs in channel order.
func (r *Reactor) HaltAll() error {
	r.mu.Lock()
	r.advanceLocked()
	chans := make([]int, 0, len(r.open))
	for ch := range r.open {
		chans = append(chans, ch)
	}
	sort.Ints(chans)
	for _, ch := range chans {
		r.setDutyLocked(r.open[ch], 0)
	}
	if r.ledsOut {
		r.leds = [4]float64{}
	}
	r.mu.Unlock()
	r.deliver()
	return nil
}

// Close implements hw.Board.
func (r *Reactor) Close() error {
	r.HaltAll()
	r.mu.Lock()
	r.open = map[int]*pwm{}
	r.mu.Unlock()
	return nil
}

// State is a snapshot of the simulated vial.
type State struct {
	VolumeML         float64
	OD               float64 // the true OD, which the photodiodes see
	AltMediaFraction float64
	OverflowML       float64            // liquid spilled above capacity
	MovedML          map[string]float64 // per device, true volume moved
	// GrowthRate is the culture's true specific growth rate, per hour:
	// d ln(OD)/dt without dilution, with the lag, alt-media, temperature
	// and saturation.
	GrowthRate float64
	Celsius    float64            // the vial's temperature
	PCBCelsius float64            // the heating PCB's, which the thermometer reads
	RPM        float64            // the stirrer's
	LEDs       map[string]float64 // intensity of "A" to "D", percent
}

// State returns the vial's state now.
func (r *Reactor) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advanceLocked()
	moved := map[string]float64{}
	for k, v := range r.moved {
		moved[k] = v
	}
	leds := map[string]float64{}
	for i, c := range ledChannels {
		leds[c] = r.leds[i]
	}
	return State{
		VolumeML: r.volume, OD: r.od, AltMediaFraction: r.altFrac, OverflowML: r.overflow, MovedML: moved,
		GrowthRate: r.growthRateLocked(), Celsius: r.vialC, PCBCelsius: r.pcbC, RPM: r.rpm, LEDs: leds,
	}
}

// DutyTrace returns the most recent PWM changes, oldest first: all of them
// up to DutyTraceLen, then the last DutyTraceLen. It is nil before the first
// change.
func (r *Reactor) DutyTrace() []DutyChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changes <= DutyTraceLen {
		return append([]DutyChange(nil), r.trace[:r.changes]...)
	}
	i := int(r.changes % DutyTraceLen)
	out := make([]DutyChange, 0, DutyTraceLen)
	return append(append(out, r.trace[i:]...), r.trace[:i]...)
}

// DutyChanges returns how many times the duty of channel has changed since
// the reactor was made (the trace keeps only the last few).
func (r *Reactor) DutyChanges(channel int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.perChannel[channel]
}

// SetDutyObserver sets f to be called after each change of a PWM output's
// duty, with the output's channel, its device (as in Options.Devices; "" if
// none) and the new duty in percent; nil removes the observer.
//
// f is called without the reactor's lock held, so it may call the reactor,
// even change a duty. The calls are made one at a time, in the order of the
// changes: normally by the goroutine that made the change, before its
// SetDuty, Halt, Close or HaltAll returns; but if a call of f is in progress
// (another goroutine's, or f itself changed a duty), the change is handed to
// f by that goroutine, after the call in progress.
func (r *Reactor) SetDutyObserver(f func(channel int, device string, duty float64)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onDuty = f
	if f == nil {
		r.pending = nil
	}
}

// deliver hands the pending changes to the observer. Call it without r.mu.
func (r *Reactor) deliver() {
	r.mu.Lock()
	if r.delivering || len(r.pending) == 0 {
		r.mu.Unlock()
		return
	}
	r.delivering = true
	done := false
	defer func() {
		if !done { // f panicked: a later change must not find delivery stuck
			r.mu.Lock()
			r.delivering = false
			r.mu.Unlock()
		}
	}()
	for len(r.pending) > 0 && r.onDuty != nil {
		batch, f := r.pending, r.onDuty
		r.pending = nil
		r.mu.Unlock()
		for _, c := range batch {
			f(c.Channel, c.Device, c.Duty)
		}
		r.mu.Lock()
	}
	// Under the same lock as the last look at pending: a change made from
	// now on finds delivering false and delivers itself.
	r.delivering = false
	done = true
	r.mu.Unlock()
}

// maxStep is the longest step the physics take at once: within a step the
// temperature that growth sees is the one at its start.
const maxStep = 60.0 // seconds

// advanceLocked integrates the vial from r.last to now. Outputs hold their
// duty between calls (every change advances first), so within a call only
// temperature couples to growth, and steps of maxStep keep that close.
func (r *Reactor) advanceLocked() {
	now := r.clock.Now()
	dt := now.Sub(r.last).Seconds()
	if dt <= 0 {
		return
	}
	r.last = now
	heat, stir := r.dutyOfLocked("heating"), r.dutyOfLocked("stirring")
	for left := dt; left > 0; left -= maxStep {
		r.physicsStepLocked(math.Min(left, maxStep), heat, stir)
	}
	r.pumpLocked(dt)
}

// physicsStepLocked advances the culture, the temperatures and the stirrer
// by dt seconds.
func (r *Reactor) physicsStepLocked(dt, heat, stir float64) {
	m := &r.model
	mu := r.opts.GrowthPerHour / 3600
	r.od, r.q = growCulture(r.od, r.q, mu, m.growthFactor(r.altFrac, r.vialC), r.opts.MaxOD, dt)
	r.vialC, r.pcbC = m.heatStep(r.vialC, r.pcbC, heat, dt)
	var revs float64
	r.rpm, revs = m.stirStep(r.rpm, stir, dt)
	r.revs += revs
}

// growthRateLocked is the true specific growth rate now, per hour.
func (r *Reactor) growthRateLocked() float64 {
	f := r.model.growthFactor(r.altFrac, r.vialC)
	return r.opts.GrowthPerHour * f * alpha(r.q) * (1 - r.od/r.opts.MaxOD)
}

// dutyOfLocked is the duty of the open output wired to device (0 if none).
func (r *Reactor) dutyOfLocked(device string) float64 {
	for ch, p := range r.open {
		if r.devices[ch] == device {
			return p.duty
		}
	}
	return 0
}

// pumpLocked moves the liquid of dt seconds of the running pumps.
func (r *Reactor) pumpLocked(dt float64) {
	// Each running pump moves flow×duty×dt.
	chans := make([]int, 0, len(r.open))
	for ch := range r.open {
		chans = append(chans, ch)
	}
	sort.Ints(chans)
	for _, ch := range chans {
		p := r.open[ch]
		if p.duty <= 0 {
			continue
		}
		dev := r.devices[ch]
		ml := r.flow[ch] * p.duty / 100 * dt
		switch dev {
		case "stirring", "heating", "":
			continue
		case "waste":
			// The efflux tube only reaches liquid above its tip.
			take := math.Min(ml, math.Max(0, r.volume-r.opts.EffluxML))
			r.volume -= take
			r.moved[dev] += ml
		default:
			v := r.volume + ml
			if v > 0 {
				r.od = r.od * r.volume / v
				if dev == "alt_media" {
					r.altFrac = (r.altFrac*r.volume + ml) / v
				} else {
					r.altFrac = r.altFrac * r.volume / v
				}
			}
			r.volume = v
			r.moved[dev] += ml
			if r.volume > r.opts.CapacityML {
				r.overflow += r.volume - r.opts.CapacityML
				r.volume = r.opts.CapacityML
			}
		}
	}
}

func (r *Reactor) setDutyLocked(p *pwm, d float64) {
	if p.duty == d {
		return
	}
	p.duty = d
	c := DutyChange{At: r.clock.Now(), Channel: p.ch, Device: r.devices[p.ch], Duty: d}
	r.trace[r.changes%DutyTraceLen] = c
	r.changes++
	r.perChannel[p.ch]++
	if r.onDuty != nil {
		r.pending = append(r.pending, c)
	}
}

type pwm struct {
	r      *Reactor
	ch     int
	hz     float64
	duty   float64
	closed bool
}

func (p *pwm) String() string { return fmt.Sprintf("sim PWM channel %d (%s)", p.ch, p.r.devices[p.ch]) }
func (p *pwm) Channel() int   { return p.ch }
func (p *pwm) Hz() float64    { return p.hz }

func (p *pwm) Duty() float64 {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	return p.duty
}

func (p *pwm) SetDuty(d float64) error {
	if err := hw.CheckDuty(d); err != nil {
		return err
	}
	p.r.mu.Lock()
	if p.closed {
		p.r.mu.Unlock()
		return fmt.Errorf("%s: %w", p, hw.ErrClosed)
	}
	p.r.advanceLocked()
	p.r.setDutyLocked(p, d)
	p.r.mu.Unlock()
	p.r.deliver()
	return nil
}

func (p *pwm) Halt() error {
	p.r.mu.Lock()
	p.r.advanceLocked()
	p.r.setDutyLocked(p, 0)
	p.r.mu.Unlock()
	p.r.deliver()
	return nil
}

func (p *pwm) Close() error {
	p.r.mu.Lock()
	if p.closed {
		p.r.mu.Unlock()
		return nil
	}
	p.r.advanceLocked()
	p.r.setDutyLocked(p, 0)
	p.closed = true
	if p.r.open[p.ch] == p {
		delete(p.r.open, p.ch)
	}
	p.r.mu.Unlock()
	p.r.deliver()
	return nil
}
