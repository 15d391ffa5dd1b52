package scriptnet_test

// A custom job on the real embedded broker, over paho, in real time: a
// handler on another unit's topic (granted by [scripts.mqtt] subscribe)
// republishes with mqtt.publish (granted by [scripts.mqtt] publish), and a
// request to a hanging endpoint does not hold up the job's stop.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/clock"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/customjob"
	"github.com/piolab/pio/hw/sim"
	"github.com/piolab/pio/liquid"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
	"github.com/piolab/pio/runtime"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/script"
)

const bridge = `
job_name = "bridge"
settings = {"url": ""}

def on_neighbour(topic, payload):
    mqtt.publish("lab/bridge/" + topic.split("/")[1], payload)

def on_fetch(topic, payload):
    http.get(setting("url"))

handlers = {"pioreactor/+/e1/od_reading/od1": on_neighbour, "fetch": on_fetch}
`

// waitFor polls cond for up to 10 s of real time (messages cross a real
// broker).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCustomJobOnTheEmbeddedBroker(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)

	cfg := config.New()
	cfg.Set("scripts.http", "allowed_hosts", strings.TrimPrefix(hang.URL, "http://"))
	cfg.Set("scripts.http", "timeout_seconds", "300")
	cfg.Set("scripts.mqtt", "subscribe", "pioreactor/+/+/od_reading/od1")
	cfg.Set("scripts.mqtt", "publish", "lab/bridge/#")
	s := sched.NewReal(clock.Real{})
	env := &runtime.Env{
		Unit: "u1", Experiment: "e1", Sched: s, Config: cfg, AsyncPublish: true,
		Board:   sim.New(s, sim.Options{}),
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return mqttnet.Dial(addr, o, 2*time.Second) },
		Liquid:  liquid.NewMemStore(),
	}
	path := filepath.Join(t.TempDir(), "bridge.star")
	os.WriteFile(path, []byte(bridge), 0o644)
	prog, err := script.LoadJobFile(path, "u1", "e1")
	if err != nil {
		t.Fatal(err)
	}
	j, err := customjob.Start(env, customjob.Options{Program: prog, Overrides: map[string]string{"url": hang.URL}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- j.Run(context.Background()) }()

	obs, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "observer"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	var mu sync.Mutex
	var bridged []string
	obs.Subscribe("lab/bridge/#", 1, func(m pubsub.Message) {
		mu.Lock()
		bridged = append(bridged, m.Topic+" "+string(m.Payload))
		mu.Unlock()
	})
	waitFor(t, "the job is ready", func() bool { return j.State() == runtime.Ready })
	obs.Publish("pioreactor/u2/e1/od_reading/od1", []byte("0.42"), 1, false)
	waitFor(t, "the reading of u2 reached lab/bridge/u2", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bridged) == 1 && bridged[0] == "lab/bridge/u2 0.42"
	})

	// A request that hangs, then a stop: the job ends without waiting
	// for the request's 300 s time-out.
	obs.Publish("pioreactor/u1/e1/fetch", []byte("now"), 1, false)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the server")
	}
	obs.Publish("pioreactor/u1/e1/bridge/$state/set", []byte("disconnected"), 1, false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not stop within 10 s while its request hung")
	}
}
