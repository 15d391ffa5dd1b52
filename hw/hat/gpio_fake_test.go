package hat

import (
	"strconv"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// levelPin is a fake GPIO line with the semantics of periph's gpiotest.Pin
// (edges fed through EdgesChan set the level; In with a pull sets the idle
// level), which records every level written and can be made to fail. It
// stands in for gpiotest.Pin, whose clockwork dependency the module does
// not list yet.
type levelPin struct {
	num int

	mu        sync.Mutex
	level     gpio.Level
	pull      gpio.Pull
	edge      gpio.Edge
	levels    []gpio.Level
	fail      error
	halts     int
	EdgesChan chan gpio.Level
}

func newLevelPin(num int) *levelPin {
	return &levelPin{num: num, EdgesChan: make(chan gpio.Level, 64)}
}

func (p *levelPin) String() string   { return "GPIO" + strconv.Itoa(p.num) }
func (p *levelPin) Name() string     { return p.String() }
func (p *levelPin) Number() int      { return p.num }
func (p *levelPin) Function() string { return "" }

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
	switch pull {
	case gpio.PullDown:
		p.level = gpio.Low
	case gpio.PullUp:
		p.level = gpio.High
	}
	return nil
}

func (p *levelPin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

func (p *levelPin) WaitForEdge(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l := <-p.EdgesChan:
		p.mu.Lock()
		p.level = l
		p.mu.Unlock()
		return true
	case <-t.C:
		return false
	}
}

func (p *levelPin) Pull() gpio.Pull        { return p.pull }
func (p *levelPin) DefaultPull() gpio.Pull { return gpio.PullNoChange }

func (p *levelPin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.levels = append(p.levels, l)
	p.level = l
	return nil
}

func (p *levelPin) PWM(gpio.Duty, physic.Frequency) error { return nil }

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
