package runtime

import (
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

// OpenPWM opens a PWM output of the board whose duty changes are published
// on pwms/dc through client.
func (e *Env) OpenPWM(client pubsub.Client, experiment string, channel int, hz float64) (hw.PWM, error) {
	out, err := e.Board.PWM().Open(channel, hz)
	if err != nil {
		return nil, err
	}
	return &bookedPWM{PWM: out, env: e, client: client, topic: e.Topic(experiment, "pwms", "dc")}, nil
}

// bookedPWM is an output whose duty is kept in the Env's book.
type bookedPWM struct {
	hw.PWM
	env    *Env
	client pubsub.Client
	topic  string
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
	return err
}
