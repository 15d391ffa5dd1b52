package dosing

import (
	"context"
	"strings"
	"testing"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
)

// handlerProgram is a fakeProgram with handlers: it records the topics it
// handled.
type handlerProgram struct {
	fakeProgram
	filters []string
	handled []string
}

func (p *handlerProgram) Subscriptions() []string { return p.filters }
func (p *handlerProgram) Handle(ctx context.Context, a *Automation, m pubsub.Message) (*payload.Event, error) {
	p.handled = append(p.handled, m.Topic)
	return nil, nil
}

// A handler filter outside the unit's own pioreactor/<unit>/<experiment>/
// needs a [scripts.mqtt] subscribe grant; without one the automation does
// not start and says which key grants it.
func TestHandlerFiltersNeedAGrantOutsideTheUnit(t *testing.T) {
	h := newHarness(t)
	p := &handlerProgram{filters: []string{"od_reading/ods", "pioreactor/unit2/exp1/od_reading/ods"}}
	_, err := Start(h.env, Options{Program: p})
	want := `handlers: subscribe to "pioreactor/unit2/exp1/od_reading/ods": not granted (outside pioreactor/unit1/exp1/); add pioreactor/unit2/exp1/od_reading/ods to [scripts.mqtt] subscribe`
	if err == nil || err.Error() != want {
		t.Fatalf("start: %v\nwant %s", err, want)
	}
	h.settle()
	if n := h.rec.Len(); n != 0 {
		t.Errorf("the refused automation published %d messages; want none", n)
	}

	h = newHarness(t, "scripts.mqtt subscribe pioreactor/+/+/od_reading/ods")
	p = &handlerProgram{filters: []string{"od_reading/ods", "pioreactor/unit2/exp1/od_reading/ods", "pioreactor/unit1/exp1/stirring/#"}}
	a := h.start(p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.clk.Go("automation", func() { a.Run(ctx) })
	h.settle()
	h.set("pioreactor/unit2/exp1/od_reading/ods", "{}")
	h.set("pioreactor/unit1/exp1/stirring/target_rpm", "500")
	if got := strings.Join(p.handled, " "); got != "pioreactor/unit2/exp1/od_reading/ods pioreactor/unit1/exp1/stirring/target_rpm" {
		t.Errorf("handled %s", got)
	}
}

// A bad grant stops the start with the configuration's error.
func TestHandlerGrantsBadConfig(t *testing.T) {
	h := newHarness(t, "scripts.mqtt subscribe a/#/b")
	_, err := Start(h.env, Options{Program: &handlerProgram{filters: []string{"od_reading/ods"}}})
	if err == nil || !strings.Contains(err.Error(), "[scripts.mqtt] subscribe") {
		t.Errorf("start: %v", err)
	}
}
