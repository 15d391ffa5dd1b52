package hat

import (
	"strconv"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// levelPin is periph's fake GPIO line, gpiotest.Pin (edges fed through
// EdgesChan set the level; In with a pull sets the idle level; Read, Pull and
// WaitForEdge are its own), with what the tests also need: every level the
// driver writes is recorded, the pull and edge asked for are kept, Halt is counted, and
// In and Out can be made to fail.
type levelPin struct {
	*gpiotest.Pin

	mu     sync.Mutex
	pull   gpio.Pull
	edge   gpio.Edge
	levels []gpio.Level
	fail   error
	halts  int
}

func newLevelPin(num int) *levelPin {
	name := "GPIO" + strconv.Itoa(num)
	return &levelPin{Pin: &gpiotest.Pin{N: name, Num: num, EdgesChan: make(chan gpio.Level, 64)}}
}

// String is the pin's name, as periph's real GPIO lines give it ("GPIO17";
// gpiotest's is "GPIO17(17)").
func (p *levelPin) String() string { return p.N }

func (p *levelPin) Halt() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.halts++
	return nil
}

func (p *levelPin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.pull, p.edge = pull, edge
	return p.Pin.In(pull, edge)
}

func (p *levelPin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.levels = append(p.levels, l)
	return p.Pin.Out(l)
}

func (p *levelPin) setFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = err
}

func (p *levelPin) count(l gpio.Level) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, x := range p.levels {
		if x == l {
			n++
		}
	}
	return n
}

var _ gpio.PinIO = (*levelPin)(nil)
