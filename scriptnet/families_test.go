package scriptnet_test

// Every family's scripts have http and mqtt, checked against the unit's
// configuration, under the simulator (HTTP in real time, against a local
// server).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/simulate"
)

type record struct {
	Topic, Payload string
}

func simulateNet(t *testing.T, file string, cfg *config.Config, settings map[string]string) (*simulate.Summary, []record, error) {
	t.Helper()
	var rec bytes.Buffer
	s, err := simulate.Run(context.Background(), simulate.Options{Script: file, For: 90 * time.Minute, Seed: 1, Alone: true,
		Config: cfg, Overrides: settings, Record: &rec})
	var out []record
	dec := json.NewDecoder(&rec)
	for dec.More() {
		var r record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return s, out, err
}

func TestEveryFamilyReachesTheNetwork(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "pong") }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	for _, family := range []string{"dosing", "temperature", "led"} {
		t.Run(family, func(t *testing.T) {
			cfg := config.New()
			cfg.Set("scripts.http", "allowed_hosts", u.Host)
			cfg.Set("scripts.mqtt", "publish", "lab/feed/#")
			s, recs, err := simulateNet(t, "testdata/"+family+".star", cfg, map[string]string{"url": srv.URL})
			if err != nil || s.Errors != 0 {
				t.Fatal(err, s.ErrorMessages)
			}
			var own, feed int
			for _, r := range recs {
				switch r.Topic {
				case "pioreactor/sim/sim/" + family + "_automation/net_check":
					own++
					if r.Payload != `{"family":"`+family+`"}` {
						t.Errorf("own topic: %q", r.Payload)
					}
				case "lab/feed/" + family:
					feed++
					if r.Payload != "pong" {
						t.Errorf("lab/feed: %q", r.Payload)
					}
				}
			}
			if own == 0 || own != feed {
				t.Errorf("%d messages on its own topic, %d on lab/feed/%s; want as many, at least one", own, feed, family)
			}

			// Without the grants, the run fails naming the key, and nothing
			// reaches lab/feed.
			s, recs, err = simulateNet(t, "testdata/"+family+".star", config.New(), map[string]string{"url": srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if s.Errors == 0 || !strings.Contains(strings.Join(s.ErrorMessages, "\n"), "add "+u.Host+" to [scripts.http] allowed_hosts") {
				t.Errorf("errors %q", s.ErrorMessages)
			}
			for _, r := range recs {
				if strings.HasPrefix(r.Topic, "lab/") {
					t.Errorf("published %s", r.Topic)
				}
			}
		})
	}
}

// Network calls are refused where a script must not wait: at load time and
// in a setting's check function.
func TestRefusedWhereAScriptMustNotWait(t *testing.T) {
	for file, want := range map[string]string{
		"testdata/top_level.star": `top_level.star:2:13: http.get("http://127.0.0.1:1/"): only available while the automation runs`,
		"testdata/in_check.star":  `http.get("http://127.0.0.1:1/"): not available in a setting's check function, which must not wait`,
	} {
		s, _, err := simulateNet(t, file, config.New(), nil)
		msg := fmt.Sprint(err)
		if s != nil {
			msg += strings.Join(s.ErrorMessages, "\n")
		}
		if !strings.Contains(msg, want) {
			t.Errorf("%s: %s\nwant %q", file, msg, want)
		}
	}
}

// A request never outlasts the run's max_execute_minutes: an endpoint that
// never answers ends execute() at its limit with the guard's error, though
// timeout_seconds is longer.
func TestRequestWithinMaxExecute(t *testing.T) {
	srv, release := neverAnswers()
	defer srv.Close()
	defer close(release)
	u, _ := url.Parse(srv.URL)
	cfg := config.New()
	cfg.Set("scripts.http", "allowed_hosts", u.Host)
	cfg.Set("scripts.http", "timeout_seconds", "20")
	cfg.Set("dosing_automation.config", "max_execute_minutes", "0.02") // 1.2 s
	var rec bytes.Buffer
	s, err := simulate.Run(context.Background(), simulate.Options{Script: "testdata/overdue.star", For: 2 * time.Minute, Seed: 1, Alone: true,
		Config: cfg, Overrides: map[string]string{"url": srv.URL}, Record: &rec})
	if err != nil {
		t.Fatal(err)
	}
	want := "execute() ran past its limit of 1.2s (max_execute_minutes) and was stopped"
	if msgs := strings.Join(s.ErrorMessages, "\n"); s.Errors == 0 || !strings.Contains(msgs, want) {
		t.Errorf("errors %q\nwant %q", s.ErrorMessages, want)
	}
	if strings.Contains(rec.String(), "got ") {
		t.Errorf("execute() went on after its limit: %s", rec.String())
	}
}

// neverAnswers is a server that holds every request until release closes.
func neverAnswers() (*httptest.Server, chan struct{}) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	return srv, release
}
