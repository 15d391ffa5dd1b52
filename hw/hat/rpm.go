package hat

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/piolab/pio/hw"
)

// Hall-sensor pins (§4 of the hardware reference): the sensor sits on the
// heating PCB and pulls the line low once per revolution as the magnet passes.
const (
	HallPinHAT11 = 21 // HAT 1.1 and later
	HallPinHAT10 = 25 // HAT 1.0 and earlier
)

// HallPin is the hall sensor's GPIO pin on a HAT version.
func HallPin(major, minor int) int {
	if major > 1 || major == 1 && minor >= 1 {
		return HallPinHAT11
	}
	return HallPinHAT10
}

// edgePoll bounds each wait for an edge, so that the edge goroutines notice
// Close on a pin whose Halt does not wake WaitForEdge.
const edgePoll = 50 * time.Millisecond

// HallCounter counts the stirrer's revolutions from the hall sensor: the pin
// is an input with pull-up that reports falling edges (the line idles high;
// upstream settled on falling edges in its issue #285), with no debounce, as
// upstream. A goroutine waits for edges; each edge is a pulse, and
// Revolutions is pulses / pulses per revolution (1 on the Pioreactor). The
// stirring job turns two counts and its scheduler's clock into RPM, so the
// counter itself never reads a clock.
type HallCounter struct {
	pin      gpio.PinIn
	perRev   float64
	pulses   atomic.Int64
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var _ hw.RPMCounter = (*HallCounter)(nil)

// NewHallCounter sets pin up as the hall sensor's input and starts counting.
// pulsesPerRevolution is 1 for the Pioreactor's single magnet.
func NewHallCounter(pin gpio.PinIn, pulsesPerRevolution float64) (*HallCounter, error) {
	if !(pulsesPerRevolution > 0) {
		return nil, fmt.Errorf("hall sensor %s: pulses per revolution %g must be positive", pin, pulsesPerRevolution)
	}
	if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
		return nil, fmt.Errorf("hall sensor %s: input with pull-up and falling edges: %w", pin, err)
	}
	c := &HallCounter{pin: pin, perRev: pulsesPerRevolution, stop: make(chan struct{}), done: make(chan struct{})}
	go c.count()
	return c, nil
}

func (c *HallCounter) count() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		if c.pin.WaitForEdge(edgePoll) {
			c.pulses.Add(1)
		}
	}
}

// String implements hw.Resource.
func (c *HallCounter) String() string { return fmt.Sprintf("hall sensor on %s", c.pin) }

// Revolutions implements hw.RPMCounter: the revolutions since the counter was
// opened. After Close it is an error wrapping hw.ErrClosed.
func (c *HallCounter) Revolutions() (float64, error) {
	select {
	case <-c.done:
		return 0, fmt.Errorf("%s: %w", c, hw.ErrClosed)
	default:
	}
	return float64(c.pulses.Load()) / c.perRev, nil
}

// Pulses is the number of edges counted.
func (c *HallCounter) Pulses() int64 { return c.pulses.Load() }

// Halt implements hw.Resource: an input drives nothing, so there is
// nothing to stop; it keeps counting.
func (c *HallCounter) Halt() error { return nil }

// Close stops the counting goroutine and returns when it has ended. A second
// Close does nothing.
func (c *HallCounter) Close() error {
	c.stopOnce.Do(func() {
		close(c.stop)
		_ = c.pin.Halt() // wakes WaitForEdge on a real line
	})
	<-c.done
	return nil
}

// RPMFromEdges is upstream's estimate from the falling-edge times of one
// window: the mean of the gaps between consecutive edges as revolutions per
// minute, rounded to 0.1, or 0 with fewer than two edges.
func RPMFromEdges(edges []time.Time) float64 {
	if len(edges) < 2 {
		return 0
	}
	sum := edges[len(edges)-1].Sub(edges[0]).Seconds()
	if sum <= 0 {
		return 0
	}
	rpm := float64(len(edges)-1) * 60 / sum
	return roundRPM(rpm, 1)
}

// roundRPM rounds x to dp decimal places, half away from zero.
func roundRPM(x float64, dp int) float64 {
	p := math.Pow(10, float64(dp))
	return math.Round(x*p) / p
}
