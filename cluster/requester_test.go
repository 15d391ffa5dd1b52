package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// fakeDaemon answers every request to unit with answer(req), after
// announcing itself ready. It returns the requests it saw.
func fakeDaemon(t *testing.T, c pubsub.Client, unit string, answer func(Request) Reply) func() []Request {
	t.Helper()
	var mu sync.Mutex
	var seen []Request
	err := c.Subscribe(RequestTopic(unit), 1, func(m pubsub.Message) {
		var req Request
		if err := json.Unmarshal(m.Payload, &req); err != nil {
			t.Errorf("request: %v", err)
			return
		}
		mu.Lock()
		seen = append(seen, req)
		mu.Unlock()
		rep := answer(req)
		rep.ID = req.ID
		b, _ := json.Marshal(rep)
		c.Publish(ReplyTopic(unit, req.ID), b, 1, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(StateTopic(unit), []byte("ready"), 1, true); err != nil {
		t.Fatal(err)
	}
	return func() []Request {
		mu.Lock()
		defer mu.Unlock()
		return append([]Request(nil), seen...)
	}
}

func echo(req Request) Reply {
	return Reply{OK: true, Value: map[string]any{"job": req.Argv[1]}, Output: strings.Join(req.Argv, " ")}
}

func TestSendMemory(t *testing.T) {
	b := pubsub.NewMemory()
	d := b.Connect(pubsub.Options{ClientID: "daemon"})
	seen := fakeDaemon(t, d, "u1", echo)
	r := NewRequester(b.Connect(pubsub.Options{ClientID: "leader"}), time.Minute)
	r.Name = "alice"
	rep := r.Send(context.Background(), "u1", Request{Argv: []string{"run", "stirring"}})
	if !rep.OK || rep.Unit != "u1" || rep.Output != "run stirring" || rep.Error != nil {
		t.Fatalf("reply = %+v", rep)
	}
	reqs := seen()
	if len(reqs) != 1 || reqs[0].Requester != "alice" || reqs[0].ID != rep.ID || len(reqs[0].ID) != 32 || reqs[0].SentAt.IsZero() {
		t.Fatalf("requests = %+v", reqs)
	}
}

func TestSendFailuresAnswerAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name, state, kind, msg string
	}{
		{"lost", "lost", "lost", "unit u2: its daemon is lost (pio daemon is not running there)"},
		{"absent", "", "unreachable", "unit u2: no daemon has announced itself there (pio daemon is not running there)"},
		{"stopped", "disconnected", "unreachable", "unit u2: its daemon has stopped (pio daemon is not running there)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := pubsub.NewMemory()
			d := b.Connect(pubsub.Options{ClientID: "daemon"})
			var published int
			d.Subscribe(RequestTopic("u2"), 1, func(pubsub.Message) { published++ })
			if tc.state != "" {
				d.Publish(StateTopic("u2"), []byte(tc.state), 1, true)
			}
			// An hour's timeout: the reply must not wait for it.
			r := NewRequester(b.Connect(pubsub.Options{ClientID: "leader"}), time.Hour)
			rep := r.Send(context.Background(), "u2", Request{Argv: []string{"status"}})
			if rep.OK || rep.Error == nil || rep.Error.Kind != tc.kind || rep.Error.Message != tc.msg || rep.Error.Remediation == "" {
				t.Fatalf("reply = %+v, error %+v", rep, rep.Error)
			}
			if published != 0 {
				t.Fatalf("%d requests published to a daemon that is not there", published)
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	b := pubsub.NewMemory()
	d := b.Connect(pubsub.Options{ClientID: "daemon"})
	d.Publish(StateTopic("u3"), []byte("ready"), 1, true) // but it never answers
	r := NewRequester(b.Connect(pubsub.Options{ClientID: "leader"}), 20*time.Millisecond)
	rep := r.Send(context.Background(), "u3", Request{Argv: []string{"status"}})
	if rep.OK || rep.Error == nil || rep.Error.Kind != "timeout" || !strings.Contains(rep.Error.Message, "unit u3: its daemon did not answer within 20ms") {
		t.Fatalf("reply = %+v %+v", rep, rep.Error)
	}
}

func TestSendLostWhileWaiting(t *testing.T) {
	b := pubsub.NewMemory()
	d := b.Connect(pubsub.Options{ClientID: "daemon", Will: &pubsub.Message{Topic: StateTopic("u4"), Payload: []byte("lost"), QoS: 1, Retained: true}})
	// The daemon takes the request and dies before answering.
	d.Subscribe(RequestTopic("u4"), 1, func(pubsub.Message) { go pubsub.Crash(d) })
	d.Publish(StateTopic("u4"), []byte("ready"), 1, true)
	r := NewRequester(b.Connect(pubsub.Options{ClientID: "leader"}), time.Hour)
	rep := r.Send(context.Background(), "u4", Request{Argv: []string{"run", "stirring"}})
	if rep.Error == nil || rep.Error.Kind != "lost" {
		t.Fatalf("reply = %+v %+v", rep, rep.Error)
	}
}

func TestSendEmptyArgvRefused(t *testing.T) {
	r := NewRequester(pubsub.NewMemory().Connect(pubsub.Options{}), time.Hour)
	rep := r.Send(context.Background(), "u1", Request{})
	if rep.Error == nil || rep.Error.Kind != "refused" {
		t.Fatalf("reply = %+v", rep)
	}
}

func TestSendAllEmbedded(t *testing.T) {
	addr := mqtttest.StartEmbedded(t)
	dial := func(id string) pubsub.Client {
		c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: id}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	units := []string{"w3", "w1", "w2", "w0"}
	for _, u := range units[:3] {
		u := u
		fakeDaemon(t, dial("daemon-"+u), u, func(req Request) Reply {
			if u == "w2" {
				return Reply{Error: &Error{Kind: "refused", Message: "no job named nope"}}
			}
			return echo(req)
		})
	}
	// w0 had a daemon, now lost.
	dead := dial("dead")
	dead.Publish(StateTopic("w0"), []byte("lost"), 1, true)
	r := NewRequester(dial("leader"), 5*time.Second)
	// Twice at once to one unit, and once to each: one $state subscription
	// serves the concurrent sends.
	var wg sync.WaitGroup
	var extra Reply
	wg.Add(1)
	go func() {
		defer wg.Done()
		extra = r.Send(context.Background(), "w1", Request{Argv: []string{"run", "od_reading"}})
	}()
	reps := r.SendAll(context.Background(), units, Request{Argv: []string{"run", "stirring"}})
	wg.Wait()
	var got []string
	for _, rep := range reps {
		s := fmt.Sprintf("%s ok=%v", rep.Unit, rep.OK)
		if rep.Error != nil {
			s += " " + rep.Error.Kind
		}
		got = append(got, s)
	}
	want := "w0 ok=false lost|w1 ok=true|w2 ok=false refused|w3 ok=true"
	if strings.Join(got, "|") != want {
		t.Fatalf("replies:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if !extra.OK || extra.Output != "run od_reading" {
		t.Fatalf("concurrent send: %+v", extra)
	}
	if reps[1].ID == reps[3].ID {
		t.Fatalf("two units got one request id %s", reps[1].ID)
	}
}
