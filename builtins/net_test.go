package builtins

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/config"
)

// fakeNetHost is a NetHost that counts how often its grants are read.
type fakeNetHost struct {
	fakeTempHostless
	cfg   *config.Config
	reads int
	sent  []string
}

func (h *fakeNetHost) NetConfig() *config.Config { h.reads++; return h.cfg }
func (h *fakeNetHost) JobName() string           { return "job" }
func (h *fakeNetHost) ExecLimit() (time.Time, error) {
	return h.Now().Add(time.Hour), errors.New("the run ran past its limit")
}
func (h *fakeNetHost) Publish(topic string, payload []byte, qos byte, retain bool) error {
	h.sent = append(h.sent, topic+" "+string(payload))
	return nil
}

func callPublish(th *starlark.Thread, topic string) error {
	mod := MQTT().(starlark.HasAttrs)
	pub, _ := mod.Attr("publish")
	_, err := starlark.Call(th, pub, starlark.Tuple{starlark.String(topic), starlark.String("x")}, nil)
	return err
}

// The grants are read once per thread, not per call.
func TestNetGrantsReadOncePerThread(t *testing.T) {
	cfg := config.New()
	cfg.Set("scripts.mqtt", "publish", "lab/#")
	h := &fakeNetHost{cfg: cfg}
	th := &starlark.Thread{}
	SetHost(th, h)
	for i := 0; i < 3; i++ {
		if err := callPublish(th, "lab/x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := callPublish(th, "pioreactor/u/e/job/reading"); err != nil {
		t.Fatal(err)
	}
	if err := callPublish(th, "other"); err == nil || !strings.Contains(err.Error(), "add other to [scripts.mqtt] publish") {
		t.Errorf("other: %v", err)
	}
	if h.reads != 1 || len(h.sent) != 4 {
		t.Errorf("grants read %d times, %d sent; want 1 and 4", h.reads, len(h.sent))
	}
}

func TestNetRefusals(t *testing.T) {
	th := &starlark.Thread{}
	if err := callPublish(th, "lab/x"); err == nil || !strings.Contains(err.Error(), `mqtt.publish("lab/x"): only available while the automation runs`) {
		t.Errorf("at load time: %v", err)
	}
	SetHost(th, fakeTempHostless{})
	if err := callPublish(th, "lab/x"); err == nil || !strings.Contains(err.Error(), "this job gives its scripts no network access") {
		t.Errorf("a host without network: %v", err)
	}
	cfg := config.New()
	cfg.Set("scripts.mqtt", "publish", "a/#/b")
	SetHost(th, &fakeNetHost{cfg: cfg})
	if err := callPublish(th, "lab/x"); err == nil || !strings.Contains(err.Error(), "the configuration's grants: override: [scripts.mqtt] publish") {
		t.Errorf("bad grants: %v", err)
	}
	SetHost(th, &fakeNetHost{cfg: config.New()})
	SetNonBlocking(th)
	if err := callPublish(th, "lab/x"); err == nil || !strings.Contains(err.Error(), "not available in a setting's check function") {
		t.Errorf("in a check: %v", err)
	}
}
