package runtime

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"

	"github.com/piolab/pio/hw"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
)

// HATPins maps the HAT's PWM channels to their GPIO pins (HAT 1.0 to 1.2),
// the keys of upstream's pwms/dc payload. Channels past 5 (the expansion)
// have no pin and are keyed "ch<N>".
var HATPins = map[int]int{1: 17, 2: 13, 3: 16, 4: 12, 5: 18}

func pwmKey(channel int) string {
	if pin, ok := HATPins[channel]; ok {
		return strconv.Itoa(pin)
	}
	return "ch" + strconv.Itoa(channel)
}

// dutyBook is the duty of every PWM output this process drives. Each change
// is published, retained at QoS 0, on pioreactor/<unit>/<experiment>/pwms/dc
// as upstream does: a JSON object of the non-zero duties keyed by GPIO pin,
// e.g. {"13": 100.0}, and {} when everything is off.
type dutyBook struct {
	mu     sync.Mutex
	duties map[int]float64
	last   map[string]string // per topic, the last payload published
}

func (b *dutyBook) set(channel int, duty float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.duties == nil {
		b.duties = map[int]float64{}
	}
	if duty == 0 {
		delete(b.duties, channel)
	} else {
		b.duties[channel] = math.Round(duty*1e5) / 1e5
	}
}

// payload encodes the book, channels in order.
func (b *dutyBook) payload() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	chans := make([]int, 0, len(b.duties))
	for ch := range b.duties {
		chans = append(chans, ch)
	}
	sort.Ints(chans)
	out := []byte{'{'}
	for i, ch := range chans {
		if i > 0 {
			out = append(out, ", "...)
		}
		out = payload.AppendJSONString(out, pwmKey(ch))
		out = append(out, ": "...)
		out = payload.AppendPyFloat(out, b.duties[ch])
	}
	return append(out, '}')
}

// changed reports whether p differs from the last payload on t, and
// records it.
func (b *dutyBook) changed(t string, p []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[string]string{}
	}
	if b.last[t] == string(p) {
		return false
	}
	b.last[t] = string(p)
	return true
}

// reservation is a PWM channel held by a job in this process.
type reservation struct {
	job     string
	count   int
	release func() // the machine-wide lock, if any
}

// ReserveOutput makes job the one driver of a PWM channel, in this process
// and, through the Registry, on the whole machine; a second job is told who
// holds it. A job may reserve a channel it holds again (a pump job reserves
// its channel before it announces itself, then opens it). The returned
// function releases one reservation.
func (e *Env) ReserveOutput(channel int, job, experiment string) (func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, held := e.outputs[channel]; held {
		if r.job != job {
			return nil, fmt.Errorf("PWM channel %d %w by %s (in this process)", channel, ErrOutputInUse, r.job)
		}
		r.count++
		return e.unreserve(channel), nil
	}
	r := &reservation{job: job, count: 1, release: func() {}}
	if e.Registry != nil {
		rel, err := e.Registry.AcquireOutput(channel, job, e.Unit, experiment)
		if err != nil {
			return nil, err
		}
		r.release = rel
	}
	if e.outputs == nil {
		e.outputs = map[int]*reservation{}
	}
	e.outputs[channel] = r
	return e.unreserve(channel), nil
}

func (e *Env) unreserve(channel int) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			r := e.outputs[channel]
			if r == nil {
				return
			}
			if r.count--; r.count == 0 {
				delete(e.outputs, channel)
				r.release()
			}
		})
	}
}

// OpenPWM opens a PWM output of the board for job (the job or pump action
// that drives it; see ReserveOutput), whose duty changes are published on
// pwms/dc through client.
func (e *Env) OpenPWM(client pubsub.Client, experiment string, channel int, hz float64, job string) (hw.PWM, error) {
	release, err := e.ReserveOutput(channel, job, experiment)
	if err != nil {
		return nil, err
	}
	out, err := e.Board.PWM().Open(channel, hz)
	if err != nil {
		release()
		return nil, err
	}
	return &bookedPWM{PWM: out, env: e, client: client, topic: e.Topic(experiment, "pwms", "dc"), release: release}, nil
}

// bookedPWM is an output whose duty is kept in the Env's book.
type bookedPWM struct {
	hw.PWM
	env     *Env
	client  pubsub.Client
	topic   string
	release func()
	closed  bool
}

func (p *bookedPWM) record(duty float64) {
	p.env.duties.set(p.Channel(), duty)
	body := p.env.duties.payload()
	if !p.env.duties.changed(p.topic, body) {
		return
	}
	if err := p.client.Publish(p.topic, body, 0, true); err != nil {
		p.env.console().Warn("publish failed", "topic", p.topic, "err", err)
	}
}

func (p *bookedPWM) SetDuty(d float64) error {
	if err := p.PWM.SetDuty(d); err != nil {
		return err
	}
	p.record(d)
	return nil
}

func (p *bookedPWM) Halt() error {
	err := p.PWM.Halt()
	p.record(0)
	return err
}

func (p *bookedPWM) Close() error {
	err := p.PWM.Close()
	p.record(0)
	if !p.closed {
		p.closed = true
		p.release()
	}
	return err
}
