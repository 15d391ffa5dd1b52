package mqttnet_test

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

// localRecorder collects what a Local subscription receives.
type localRecorder struct {
	mu   sync.Mutex
	msgs []pubsub.Message
}

func (r *localRecorder) handle(m pubsub.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *localRecorder) all() []pubsub.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func (r *localRecorder) wait(t *testing.T, n int) []pubsub.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.all()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d messages, want %d: %+v", len(r.all()), n, r.all())
		}
		time.Sleep(time.Millisecond)
	}
	return r.all()
}

func TestLocalReceivesNetworkPublishes(t *testing.T) {
	b, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	unit, err := mqttnet.Dial(b.Addr(), pubsub.Options{ClientID: "unit"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unit.Close()
	// A retained message before the subscription: delivered at Subscribe,
	// flagged Retained. mochi acknowledges a publish before it routes it,
	// so a subscription made right after the ack could also get it live: a
	// network subscriber that has received it shows the routing is done.
	routed := make(chan struct{}, 1)
	watch, err := mqttnet.Dial(b.Addr(), pubsub.Options{ClientID: "watch"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	if err := watch.Subscribe("pioreactor/u/e/bioreactor/current_volume_ml", 1, func(m pubsub.Message) {
		if !m.Retained && string(m.Payload) == "14" {
			routed <- struct{}{}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := unit.Publish("pioreactor/u/e/bioreactor/current_volume_ml", []byte("14"), 1, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-routed:
	case <-time.After(10 * time.Second):
		t.Fatal("the retained volume never reached a network subscriber")
	}
	local := b.Local("leader-db")
	defer local.Close()
	var r localRecorder
	for _, f := range []string{"pioreactor/+/+/bioreactor/current_volume_ml", "pioreactor/+/+/od_reading/od1"} {
		if err := local.Subscribe(f, 1, r.handle); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.all(); len(got) != 1 || !got[0].Retained || string(got[0].Payload) != "14" {
		t.Fatalf("at Subscribe: %+v, want the retained volume, flagged", got)
	}
	// Live messages, retained or not, are never flagged; QoS is the
	// lesser of the publisher's and the subscription's.
	if err := unit.Publish("pioreactor/u/e/bioreactor/current_volume_ml", []byte("15"), 2, true); err != nil {
		t.Fatal(err)
	}
	if err := unit.Publish("pioreactor/u/e/od_reading/od1", []byte("x"), 0, false); err != nil {
		t.Fatal(err)
	}
	got := r.wait(t, 3)
	want := []pubsub.Message{
		{Topic: "pioreactor/u/e/bioreactor/current_volume_ml", Payload: []byte("14"), QoS: 1, Retained: true},
		{Topic: "pioreactor/u/e/bioreactor/current_volume_ml", Payload: []byte("15"), QoS: 1},
		{Topic: "pioreactor/u/e/od_reading/od1", Payload: []byte("x"), QoS: 0},
	}
	if !slices.EqualFunc(got, want, func(a, b pubsub.Message) bool {
		return a.Topic == b.Topic && string(a.Payload) == string(b.Payload) && a.QoS == b.QoS && a.Retained == b.Retained
	}) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// After Unsubscribe and Close nothing more arrives; a barrier
	// subscription on another Local client shows the broker has routed the
	// later publishes.
	if err := local.Unsubscribe("pioreactor/+/+/od_reading/od1"); err != nil {
		t.Fatal(err)
	}
	var barrier localRecorder
	other := b.Local("other")
	defer other.Close()
	if err := other.Subscribe("barrier", 0, barrier.handle); err != nil {
		t.Fatal(err)
	}
	unit.Publish("pioreactor/u/e/od_reading/od1", []byte("y"), 1, false)
	local.Close()
	unit.Publish("pioreactor/u/e/bioreactor/current_volume_ml", []byte("16"), 1, false)
	unit.Publish("barrier", nil, 1, false)
	barrier.wait(t, 1)
	if n := len(r.all()); n != 3 {
		t.Errorf("%d messages after Unsubscribe and Close, want none: %+v", n-3, r.all()[3:])
	}
	if err := local.Subscribe("x", 0, r.handle); err != pubsub.ErrClosed {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// TestLocalKeepsTheUnitsRulesAndAudit: the broker still refuses a unit's
// publish outside its tree (it never reaches a Local subscription) and
// audits its commands.
func TestLocalKeepsTheUnitsRulesAndAudit(t *testing.T) {
	var mu sync.Mutex
	var audited []string
	b, err := mqttnet.StartEmbeddedWith("127.0.0.1:0", slog.New(slog.DiscardHandler), mqttnet.EmbeddedOptions{
		Users: testUsers(t),
		Audit: func(cred, topic string, _ []byte) {
			mu.Lock()
			audited = append(audited, cred+" "+topic)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	local := b.Local("leader-db")
	defer local.Close()
	var r localRecorder
	if err := local.Subscribe("pioreactor/#", 1, r.handle); err != nil {
		t.Fatal(err)
	}
	w1 := mustDial(t, "worker1", b.Addr(), nil)
	w1.Publish("pioreactor/worker2/exp/stirring/target_rpm/set", []byte("1"), 0, false) // refused
	if err := w1.Publish("pioreactor/worker1/exp/stirring/target_rpm/set", []byte("2"), 1, false); err != nil {
		t.Fatal(err)
	}
	got := r.wait(t, 1)
	if len(got) != 1 || got[0].Topic != "pioreactor/worker1/exp/stirring/target_rpm/set" {
		t.Fatalf("local got %+v, want only worker1's own /set", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(audited, []string{"worker1 pioreactor/worker1/exp/stirring/target_rpm/set"}) {
		t.Errorf("audit = %q", audited)
	}
}

// TestLocalHandlerHoldsBackOnlyItsPublisher: a blocked handler stops the
// publisher whose message it holds (the broker stops reading that
// connection), while another publisher's messages still arrive.
func TestLocalHandlerHoldsBackOnlyItsPublisher(t *testing.T) {
	b, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	local := b.Local("leader-db")
	defer local.Close()
	gate := make(chan struct{})
	var r localRecorder
	local.Subscribe("slow", 1, func(m pubsub.Message) {
		r.handle(m)
		<-gate
	})
	local.Subscribe("fast", 1, r.handle)
	slow, err := mqttnet.Dial(b.Addr(), pubsub.Options{ClientID: "slow"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast, err := mqttnet.Dial(b.Addr(), pubsub.Options{ClientID: "fast"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	slow.Publish("slow", []byte("1"), 1, false)
	r.wait(t, 1)
	// The slow connection's goroutine is in the handler: the broker reads
	// nothing more from it, the fast one goes on.
	go slow.Publish("fast", []byte("behind the blocked one"), 1, false)
	if err := fast.Publish("fast", []byte("2"), 1, false); err != nil {
		t.Fatal(err)
	}
	got := r.wait(t, 2)
	if string(got[1].Payload) != "2" {
		t.Fatalf("got %q second, want the fast publisher's", got[1].Payload)
	}
	close(gate)
	got = r.wait(t, 3)
	if string(got[2].Payload) != "behind the blocked one" {
		t.Fatalf("got %q third", got[2].Payload)
	}
}
