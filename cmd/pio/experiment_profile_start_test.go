package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/topic"
)

// A profile's start goes to the unit's daemon under the profile's
// experiment, saying it comes from this run of the profile; its log
// records carry the profile's clock.
func TestProfileStartThroughDaemon(t *testing.T) {
	b := pubsub.NewMemory()
	d := b.Connect(pubsub.Options{ClientID: "daemon-w1"})
	got := make(chan cluster.Request, 1)
	d.Subscribe(cluster.RequestTopic("w1"), 1, func(m pubsub.Message) {
		var req cluster.Request
		json.Unmarshal(m.Payload, &req)
		got <- req
		body, _ := json.Marshal(cluster.Reply{ID: req.ID, OK: true})
		d.Publish(cluster.ReplyTopic("w1", req.ID), body, 1, false)
	})
	d.Publish(cluster.StateTopic("w1"), []byte("ready"), 1, true)
	client := b.Connect(pubsub.Options{ClientID: "leader"})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pc := newProfileCluster(client, time.Minute, "leader", "exp1", "a1b2", func() time.Time { return at })
	if err := pc.Start(context.Background(), "w1", "stirring", map[string]string{"target_rpm": "400"}, nil); err != nil {
		t.Fatal(err)
	}
	req := <-got
	if req.Experiment != "exp1" || req.Source != "experiment_profile/a1b2" || strings.Join(req.Argv, " ") != "run stirring --target-rpm 400" {
		t.Fatalf("request %+v", req)
	}
	var rec payload.LogRecord
	logs := make(chan []byte, 1)
	client.Subscribe(topic.Log("leader", "exp1", "app", "DEBUG"), 1, func(m pubsub.Message) { logs <- m.Payload })
	pc.Log(context.Background(), "leader", "DEBUG", "hello")
	if err := json.Unmarshal(<-logs, &rec); err != nil || rec.Timestamp != payload.LogTimestamp(at) {
		t.Fatalf("log record %+v %v, want the profile clock's %v", rec, err, at)
	}
}

// Ctrl-C while a start waits for its reply: the daemon may have started
// the job, so Start waits for the answer (within the request timeout) and
// the run then stops the job with the others it started.
func TestProfileStartInterruptedWaitsForReply(t *testing.T) {
	b := pubsub.NewMemory()
	d := b.Connect(pubsub.Options{ClientID: "daemon-w1"})
	ctx, cancel := context.WithCancel(context.Background())
	d.Subscribe(cluster.RequestTopic("w1"), 1, func(m pubsub.Message) {
		var req cluster.Request
		json.Unmarshal(m.Payload, &req)
		cancel() // Ctrl-C, as the job starts
		body, _ := json.Marshal(cluster.Reply{ID: req.ID, OK: true})
		go d.Publish(cluster.ReplyTopic("w1", req.ID), body, 1, false)
	})
	d.Publish(cluster.StateTopic("w1"), []byte("ready"), 1, true)
	pc := newProfileCluster(b.Connect(pubsub.Options{ClientID: "leader"}), time.Minute, "leader", "exp1", "a1b2", time.Now)
	if err := pc.Start(ctx, "w1", "stirring", nil, nil); err != nil {
		t.Fatalf("a start the daemon made, interrupted: %v", err)
	}
}
