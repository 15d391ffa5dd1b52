package scriptnet_test

// Every example of docs/script-network.md runs: the Starlark ones under the
// simulator against a local server standing in for notebook.lab:8080, the
// ini ones as a config.ini whose grants are valid.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/scriptnet"
	"github.com/piolab/pio/simulate"
)

func docBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("../docs/script-network.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

func TestDocStarlarkExamplesRun(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"target_od": 1.5}`))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	blocks := docBlocks(t, "starlark")
	if len(blocks) < 4 {
		t.Fatalf("found %d Starlark examples", len(blocks))
	}
	dir := t.TempDir()
	for i, src := range blocks {
		path := filepath.Join(dir, "example.star")
		os.WriteFile(path, []byte(strings.ReplaceAll(src, "notebook.lab:8080", host)), 0o644)
		cfg := config.New()
		cfg.Set("scripts.http", "allowed_hosts", host)
		cfg.Set("scripts.mqtt", "publish", "lab/#")
		cfg.Set("scripts.mqtt", "subscribe", "pioreactor/+/+/growth_rate_calculating/od_filtered")
		s, err := simulate.Run(context.Background(), simulate.Options{Script: path, For: 3 * time.Hour, Seed: 1, Config: cfg})
		if err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, src)
			continue
		}
		if s.Errors != 0 {
			t.Errorf("example %d: %q\n%s", i+1, s.ErrorMessages, src)
		}
		if !strings.Contains(src, "handlers") {
			continue
		}
		// Without the subscribe grant, the job does not start.
		_, err = simulate.Run(context.Background(), simulate.Options{Script: path, For: time.Hour, Seed: 1})
		want := "follow_neighbour: handlers: subscribe to \"pioreactor/pio02/+/growth_rate_calculating/od_filtered\": not granted (outside pioreactor/sim/sim/); add pioreactor/pio02/+/growth_rate_calculating/od_filtered to [scripts.mqtt] subscribe"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("example %d without the grant: %v\nwant %q", i+1, err, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	requests := strings.Join(got, "\n")
	for _, want := range []string{"POST /api/readings", "GET /api/targets/sim"} {
		if !strings.Contains(requests, want) {
			t.Errorf("the server never got %s (got %q)", want, got)
		}
	}
}

func TestDocConfigExamples(t *testing.T) {
	blocks := docBlocks(t, "ini")
	if len(blocks) == 0 {
		t.Fatal("no ini examples")
	}
	dir := t.TempDir()
	for i, text := range blocks {
		path := filepath.Join(dir, "config.ini")
		os.WriteFile(path, []byte(text), 0o644)
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		g, err := scriptnet.ReadGrants(cfg)
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		if len(g.Hosts) == 0 || len(g.Publish) == 0 || len(g.Subscribe) == 0 {
			t.Errorf("example %d grants %+v; want hosts and topics", i+1, g)
		}
		u, _ := url.Parse("http://notebook.lab:8080/api")
		if err := g.CheckURL(u); err != nil {
			t.Errorf("example %d: %v", i+1, err)
		}
	}
}

// The errors the page quotes are the ones pio gives.
func TestDocErrors(t *testing.T) {
	b, err := os.ReadFile("../docs/script-network.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.ini")
	os.WriteFile(path, []byte("[scripts.http]\n# hosts\nallowed_hosts=http://notebook.lab\n"), 0o644)
	t.Chdir(dir)
	cfg, err := config.Load("config.ini")
	if err != nil {
		t.Fatal(err)
	}
	_, err = scriptnet.ReadGrants(cfg)
	if err == nil || !strings.Contains(doc, err.Error()) {
		t.Errorf("the page does not quote %v", err)
	}
	os.WriteFile(path, []byte(strings.Repeat("\n", 10)+"[scripts.mqtt]\npublish=lab/#/x\n"), 0o644)
	cfg, err = config.Load("config.ini")
	if err != nil {
		t.Fatal(err)
	}
	_, err = scriptnet.ReadGrants(cfg)
	if err == nil || !strings.Contains(doc, err.Error()) {
		t.Errorf("the page does not quote %v", err)
	}
	g := &scriptnet.Grants{}
	for _, e := range []error{
		g.CheckPublish("u1", "e1", "reporter", "lab/other"),
		g.CheckPublish("u1", "e1", "reporter", "lab/alerts/#"),
		g.CheckPublish("u1", "e1", "reporter", "lab/alerts/\xc3"),
		g.CheckSubscribe("u1", "e1", "pioreactor/u2/e1/od_reading/ods"),
	} {
		if e == nil || !strings.Contains(doc, e.Error()) {
			t.Errorf("the page does not quote %v", e)
		}
	}
	for _, raw := range []string{"http://example.org/x", "http://example.org:8080/", "http://other.lab/in"} {
		u, _ := url.Parse(raw)
		if e := g.CheckURL(u); e == nil || !strings.Contains(doc, e.Error()) {
			t.Errorf("the page does not quote %v", e)
		}
	}
}
