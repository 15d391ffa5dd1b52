// Package leadertest starts pio's leader API (package leaderapi) on
// loopback for tests of its clients, with daemons that a test scripts: each
// unit answers at once, stays silent (unreachable) or refuses.
package leadertest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/dbstream"
	"github.com/piolab/pio/leaderapi"
	"github.com/piolab/pio/pubsub"
)

// Token is the API token the leader accepts, named "tester".
const Token = "test-token"

// Leader is a leader API served on loopback.
type Leader struct {
	URL     string
	Daemons *Daemons
	Broker  *pubsub.Memory
}

// Start serves a leader API until the test ends.
func Start(t testing.TB) *Leader {
	t.Helper()
	db, err := dbstream.Open(filepath.Join(t.TempDir(), "pio.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	broker := pubsub.NewMemory()
	d := &Daemons{Silent: map[string]bool{}, Refuse: map[string]string{}, Jobs: map[string][]cluster.JobStatus{}}
	api, err := leaderapi.New(leaderapi.Options{DB: db, Client: broker.Connect(pubsub.Options{ClientID: "leader"}),
		Dispatcher: d, Tokens: tokens{}, Leader: "leader", ExportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.Close(); api.Close() })
	return &Leader{URL: srv.URL, Daemons: d, Broker: broker}
}

type tokens struct{}

func (tokens) Name(t string) (string, bool) { return "tester", t == Token }

// Daemons stand for the units' daemons.
type Daemons struct {
	mu     sync.Mutex
	Silent map[string]bool                // units that never answer
	Refuse map[string]string              // units that refuse, with this message
	Jobs   map[string][]cluster.JobStatus // what status reports, per unit
	sent   []cluster.Request
}

// Sent is every request sent so far.
func (d *Daemons) Sent() []cluster.Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]cluster.Request(nil), d.sent...)
}

// SendAll answers as each unit's daemon would.
func (d *Daemons) SendAll(_ context.Context, units []string, req cluster.Request) []cluster.Reply {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, req)
	var out []cluster.Reply
	for _, u := range units {
		switch {
		case d.Silent[u]:
			continue
		case d.Refuse[u] != "":
			out = append(out, cluster.Reply{ID: req.ID, Unit: u, Error: &cluster.Error{Kind: "refused", Message: d.Refuse[u]}})
			continue
		}
		rep := cluster.Reply{ID: req.ID, Unit: u, OK: true}
		exp := req.Experiment
		if exp == "" {
			exp = "$experiment"
		}
		switch req.Argv[0] {
		case cluster.CommandRun:
			rep.Value = map[string]string{"job": req.Argv[1], "experiment": exp}
		case cluster.CommandRunScript:
			rep.Value = map[string]string{"job": strings.TrimSuffix(req.Argv[1], ".star"), "experiment": exp}
		case cluster.CommandStatus:
			jobs := d.Jobs[u]
			if jobs == nil {
				jobs = []cluster.JobStatus{}
			}
			rep.Value = jobs
		case cluster.CommandKill:
			var names []string
			for _, j := range d.Jobs[u] {
				names = append(names, j.Job)
			}
			if names == nil {
				names = []string{}
			}
			rep.Value = names
		}
		out = append(out, rep)
	}
	return out
}
