package leader

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

type tokens map[string]string

func (m tokens) Name(t string) (string, bool) { n, ok := m[t]; return n, ok }

func TestRunServesTheAPIAndStoresWhatUnitsPublish(t *testing.T) {
	o, err := config.New().Options()
	if err != nil {
		t.Fatal(err)
	}
	o.Cluster.RequestTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	type ready struct{ api, broker string }
	up := make(chan ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: o, Home: t.TempDir(), Unit: "leader1", Listen: "127.0.0.1:0",
			BrokerListen: "127.0.0.1:0", Tokens: tokens{"tok": "alice"},
			Ready: func(api, broker string) { up <- ready{api, broker} }})
	}()
	var r ready
	select {
	case r = <-up:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the leader did not come up in 10 s")
	}
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, r.api+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := call("POST", "/api/experiments", `{"experiment":"exp1"}`); code != 201 {
		t.Fatalf("create experiment: %d %s", code, b)
	}
	for _, u := range []string{"w1", "w2"} {
		call("PUT", "/api/workers", `{"pioreactor_unit":"`+u+`"}`)
		call("PUT", "/api/experiments/exp1/workers", `{"pioreactor_unit":"`+u+`"}`)
	}
	// A unit publishes a growth rate; the stream stores it.
	unit, err := mqttnet.Dial(r.broker, pubsub.Options{ClientID: "w1"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unit.Close()
	msg, _ := json.Marshal(map[string]any{"growth_rate": 0.3, "timestamp": payload.LogTimestamp(time.Now())})
	if err := unit.Publish("pioreactor/w1/exp1/growth_rate_calculating/growth_rate", msg, 1, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, b := call("GET", "/api/experiments/exp1/time_series/growth_rates", "")
		if strings.Contains(b, `"y":0.3`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("growth rate not stored in 10 s: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// No daemon runs: a job run answers, per unit, that it is unreachable.
	code, b := call("POST", "/api/workers/$broadcast/jobs/run/job_name/stirring/experiments/exp1", `{}`)
	if code != 202 {
		t.Fatalf("run: %d %s", code, b)
	}
	var acc struct {
		ResultURLPath string `json:"result_url_path"`
	}
	json.Unmarshal([]byte(b), &acc)
	for {
		code, b = call("GET", acc.ResultURLPath, "")
		if code == 200 {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("task not done: %d %s", code, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var res struct {
		Status string
		Result map[string]struct {
			OK    bool
			Error struct{ Kind string }
		}
	}
	json.Unmarshal([]byte(b), &res)
	if res.Status != "succeeded" || len(res.Result) != 2 || res.Result["w1"].OK || res.Result["w2"].Error.Kind == "" {
		t.Errorf("run with no daemons: %s", b)
	}
	if code, _ := call("GET", "/api/audit?unit=w1", ""); code != 200 {
		t.Errorf("audit: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

func TestRunRefusesWithoutTokens(t *testing.T) {
	o, _ := config.New().Options()
	err := Run(context.Background(), Options{Config: o, Home: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "api_tokens_file") {
		t.Errorf("Run without tokens: %v", err)
	}
}

func TestMQTTAudit(t *testing.T) {
	e := mqttAudit("w2", "pioreactor/w1/exp1/stirring/$state/set", []byte("sleeping"))
	if e.Credential != "mqtt:w2" || e.Action != "sleeping" || e.Unit != "w1" || e.Experiment != "exp1" || e.Job != "stirring" {
		t.Errorf("%+v", e)
	}
	e = mqttAudit("leader", "pioreactor/w1/$experiment/daemon/request", []byte(`{"argv":["run-script","a.star"],"experiment":"e","script":{"name":"a.star","content":"x"}}`))
	if e.Action != "request" || e.Job != "a.star" || e.Experiment != "e" || len(e.SHA256) != 64 || e.Detail != "run-script a.star" {
		t.Errorf("%+v", e)
	}
}
