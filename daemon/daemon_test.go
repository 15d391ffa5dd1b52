package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

// fakeJob is a job that runs until its context ends.
type fakeJob struct{ name string }

func (j *fakeJob) JobName() string               { return j.name }
func (j *fakeJob) State() runtime.State          { return runtime.Ready }
func (j *fakeJob) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// fakePio runs "run <job>" as a job that lasts until killed, refuses
// "run nope" before starting, and "kill <job>" stops a job.
type fakePio struct {
	mu    sync.Mutex
	argvs [][]string
	stops map[string]context.CancelFunc
}

func (f *fakePio) exec(ctx context.Context, argv []string, out io.Writer, started func(runtime.Runner, error)) error {
	f.mu.Lock()
	f.argvs = append(f.argvs, argv)
	f.mu.Unlock()
	switch argv[0] {
	case "kill":
		f.mu.Lock()
		stop := f.stops[argv[1]]
		f.mu.Unlock()
		if stop == nil {
			return fmt.Errorf("no job named %s is running on this unit", argv[1])
		}
		stop()
		fmt.Fprintf(out, "%s stopped.\n", argv[1])
		return nil
	}
	name := argv[1]
	if argv[0] == "run-script" {
		name = "dosing_automation"
		if _, err := os.Stat(argv[1]); err != nil {
			return err
		}
	}
	if name == "nope" {
		return errors.New(`unknown command "nope"; see pio run --help`)
	}
	ctx, cancel := context.WithCancel(ctx)
	f.mu.Lock()
	if f.stops == nil {
		f.stops = map[string]context.CancelFunc{}
	}
	f.stops[name] = cancel
	f.mu.Unlock()
	j := &fakeJob{name: name}
	fmt.Fprintln(out, "starting", name)
	started(j, nil)
	return j.Run(ctx)
}

func (f *fakePio) last() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.argvs[len(f.argvs)-1]
}

type harness struct {
	broker  *pubsub.Memory
	req     *cluster.Requester
	pio     *fakePio
	dir     string
	cancel  context.CancelFunc
	done    chan error
	client  pubsub.Client // the daemon's
	timer   chan time.Time
	halts   int
	log     *bytes.Buffer
	mu      sync.Mutex
	others  []pubsub.Message // published on topics other than the daemon's
	stopped bool
}

func start(t *testing.T) *harness {
	t.Helper()
	h := &harness{broker: pubsub.NewMemory(), pio: &fakePio{}, dir: t.TempDir(), done: make(chan error, 1),
		timer: make(chan time.Time, 1), log: &bytes.Buffer{}}
	h.broker.Tap = func(_ string, m pubsub.Message) {
		if !strings.Contains(m.Topic, "/daemon/") {
			h.mu.Lock()
			h.others = append(h.others, m)
			h.mu.Unlock()
		}
	}
	ready := make(chan struct{})
	var once sync.Once
	watch := h.broker.Connect(pubsub.Options{ClientID: "watch"})
	watch.Subscribe(cluster.StateTopic("u1"), 1, func(m pubsub.Message) {
		if string(m.Payload) == "ready" {
			once.Do(func() { close(ready) })
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	var logMu sync.Mutex
	o := Options{
		Unit: "u1", Experiment: "e1",
		Connect: func(o pubsub.Options) (pubsub.Client, error) {
			h.client = h.broker.Connect(o)
			return h.client, nil
		},
		Registry:       &runtime.Registry{Dir: filepath.Join(h.dir, "run")},
		Exec:           h.pio.exec,
		ScriptsDir:     filepath.Join(h.dir, "scripts"),
		BrokerLostStop: 30 * time.Second,
		After: func(d time.Duration) <-chan time.Time {
			if d != 30*time.Second {
				t.Errorf("broker-loss timer of %v, want 30s", d)
			}
			return h.timer
		},
		Halt:     func() error { h.mu.Lock(); h.halts++; h.mu.Unlock(); return nil },
		Shutdown: func() { h.mu.Lock(); h.stopped = true; h.mu.Unlock() },
		Console:  slog.New(slog.NewTextHandler(&lockedWriter{w: h.log, mu: &logMu}, nil)),
	}
	go func() { h.done <- Run(ctx, o) }()
	select {
	case <-ready:
	case err := <-h.done:
		t.Fatalf("daemon: %v", err)
	}
	h.req = cluster.NewRequester(h.broker.Connect(pubsub.Options{ClientID: "leader"}), time.Minute)
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (h *harness) send(argv ...string) cluster.Reply {
	return h.req.Send(context.Background(), "u1", cluster.Request{Argv: argv, Requester: "alice", Source: "leader"})
}

func (h *harness) state(t *testing.T) string {
	m, ok := h.broker.Retained(cluster.StateTopic("u1"))
	if !ok {
		t.Fatal("no daemon $state")
	}
	return string(m.Payload)
}

func TestRunStatusKill(t *testing.T) {
	h := start(t)
	rep := h.send("run", "stirring", "--target-rpm", "500")
	if !rep.OK || rep.Output != "starting stirring\nstirring started under experiment e1 (hosted by the unit's daemon)\n" {
		t.Fatalf("run: %+v %+v", rep, rep.Error)
	}
	if v := rep.Value.(map[string]any); v["job"] != "stirring" || v["experiment"] != "e1" {
		t.Fatalf("value %v", rep.Value)
	}
	if got := strings.Join(h.pio.last(), " "); got != "run stirring --target-rpm 500 --experiment e1" {
		t.Fatalf("argv %q", got)
	}
	rep = h.req.Send(context.Background(), "u1", cluster.Request{Argv: []string{"run", "od_reading"}, Experiment: "e2", Requester: "bob"})
	if !rep.OK {
		t.Fatalf("od_reading: %+v", rep.Error)
	}
	rep = h.send("status")
	st := fmt.Sprint(rep.Value)
	if !rep.OK || !strings.Contains(st, "job:od_reading") || !strings.Contains(st, "experiment:e2") || !strings.Contains(st, "source:bob") ||
		!strings.Contains(st, "job:stirring") || !strings.Contains(st, "source:leader") || !strings.Contains(st, "state:ready") {
		t.Fatalf("status: %s", st)
	}
	rep = h.send("kill", "stirring")
	if !rep.OK || rep.Output != "stirring stopped.\n" {
		t.Fatalf("kill: %+v %+v", rep, rep.Error)
	}
	// The killed job leaves the status once its command has returned.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Contains(fmt.Sprint(h.send("status").Value), "stirring") {
		if time.Now().After(deadline) {
			t.Fatal("stirring still in the status after kill")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil // for the cleanup
	if !h.stopped {
		t.Fatal("Shutdown was not called")
	}
	if got := h.state(t); got != "disconnected" {
		t.Fatalf("$state after stop = %s", got)
	}
}

func TestRefusedRequestsPublishNothing(t *testing.T) {
	h := start(t)
	good := cluster.NewScript("s.star", "def execute():\n    pass\n", nil)
	bad := *good
	bad.Content += "# changed\n"
	escape := cluster.NewScript("s.star", "x = 1\n", map[string]string{"../../etc/x.star": "y = 1\n"})
	abs := cluster.NewScript("s.star", "x = 1\n", map[string]string{"/etc/x.star": "y = 1\n"})
	for _, tc := range []struct {
		name string
		req  cluster.Request
		want string
	}{
		{"unknown command", cluster.Request{Argv: []string{"rm", "-rf"}}, `command "rm": the daemon runs only run, run-script, kill and status`},
		{"no job", cluster.Request{Argv: []string{"run"}}, "pio run: name the job first (e.g. pio run stirring)"},
		{"place flag", cluster.Request{Argv: []string{"run", "stirring", "--home", "/"}}, "--home: a request may not choose the daemon's --home (the experiment is the request's experiment field)"},
		{"bad experiment", cluster.Request{Argv: []string{"run", "stirring"}, Experiment: "a/b"}, "experiment: "},
		{"unknown job", cluster.Request{Argv: []string{"run", "nope"}}, `unknown command "nope"; see pio run --help`},
		{"checksum", cluster.Request{Argv: []string{"run-script", "s.star"}, Script: &bad}, "script s.star: its content's sha256 is "},
		{"path escape", cluster.Request{Argv: []string{"run-script", "s.star"}, Script: escape}, `script s.star: module path "../../etc/x.star" leaves the script's folder (want a relative path without ..)`},
		{"absolute module", cluster.Request{Argv: []string{"run-script", "s.star"}, Script: abs}, `script s.star: module path "/etc/x.star" leaves`},
		{"file without content", cluster.Request{Argv: []string{"run-script", "/tmp/s.star"}}, "run-script /tmp/s.star: the request carries no script"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := h.req.Send(context.Background(), "u1", tc.req)
			if rep.OK || rep.Error == nil || rep.Error.Kind != "refused" || !strings.HasPrefix(rep.Error.Message, tc.want) || strings.Contains(rep.Error.Message, "\n") {
				t.Fatalf("reply %+v, error %+v\nwant one line starting %q", rep, rep.Error, tc.want)
			}
		})
	}
	if len(h.others) != 0 {
		t.Fatalf("refused requests published %v", h.others)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "etc")); err == nil {
		t.Fatal("a module was written outside the scripts folder")
	}
}

func TestScriptTravelsWithContent(t *testing.T) {
	h := start(t)
	s := cluster.NewScript("turbid.star", "load(\"lib/h.star\", \"x\")\n", map[string]string{"lib/h.star": "x = 1\n"})
	rep := h.req.Send(context.Background(), "u1", cluster.Request{Argv: []string{"run-script", "turbid.star", "--target", "1.5"}, Script: s, Requester: "alice"})
	if !rep.OK {
		t.Fatalf("%+v", rep.Error)
	}
	dirs, _ := filepath.Glob(filepath.Join(h.dir, "scripts", s.SHA256+"-*"))
	if len(dirs) != 1 {
		t.Fatalf("script folders %v, want one <sha256>-<modules' checksum>", dirs)
	}
	dir := dirs[0]
	want := "run-script " + filepath.Join(dir, "turbid.star") + " --target 1.5 --experiment e1"
	if got := strings.Join(h.pio.last(), " "); got != want {
		t.Fatalf("argv\n got %s\nwant %s", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "lib", "h.star")); err != nil || string(b) != "x = 1\n" {
		t.Fatalf("module: %q %v", b, err)
	}
	st := fmt.Sprint(h.send("status").Value)
	if !strings.Contains(st, "script:turbid.star") || !strings.Contains(st, "sha256:"+s.SHA256) || !strings.Contains(st, "source:alice") {
		t.Fatalf("status %s", st)
	}
}

func TestOneDaemonPerUnit(t *testing.T) {
	h := start(t)
	err := Run(context.Background(), Options{Unit: "u1", Registry: &runtime.Registry{Dir: filepath.Join(h.dir, "run")},
		Connect: func(o pubsub.Options) (pubsub.Client, error) { return h.broker.Connect(o), nil }})
	if err == nil || !strings.Contains(err.Error(), "a daemon already runs on unit u1") {
		t.Fatalf("second daemon: %v", err)
	}
}

func TestBrokerLossHaltsPumps(t *testing.T) {
	h := start(t)
	// A short outage: reconnected before the timer fires, nothing halts.
	pubsub.LoseConnection(h.client, errors.New("network down"))
	h.broker.Connect(pubsub.Options{}).Publish(cluster.StateTopic("u1"), []byte("lost"), 1, true) // the broker restarted with the will
	pubsub.Reconnect(h.client)
	h.timer <- time.Now() // the old timer fires late: ignored
	// A long one: the timer fires while the broker is still away.
	pubsub.LoseConnection(h.client, errors.New("network down"))
	if got := h.state(t); got != "ready" {
		t.Fatalf("$state after reconnect = %s, want ready again", got)
	}
	h.timer <- time.Now()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		n := h.halts
		h.mu.Unlock()
		if n == 1 {
			break
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%d halts, want 1", n)
		}
		time.Sleep(time.Millisecond)
	}
	pubsub.Reconnect(h.client)
	h.cancel()
	<-h.done
	h.done <- nil
	if strings.Count(h.log.String(), "every pump is stopped") != 1 {
		t.Fatalf("log:\n%s", h.log)
	}
}

func TestCrashLeavesLost(t *testing.T) {
	h := start(t)
	pubsub.Crash(h.client)
	if got := h.state(t); got != "lost" {
		t.Fatalf("$state = %s", got)
	}
	rep := h.send("status")
	if rep.Error == nil || rep.Error.Kind != "lost" {
		t.Fatalf("%+v", rep)
	}
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{"abc123": true, "": false, "a/b": false, "+": false, "#": false, strings.Repeat("a", 65): false, "A-b_c": true} {
		if err := checkID(id); (err == nil) != ok {
			t.Errorf("checkID(%q) = %v", id, err)
		}
	}
}

func TestScriptRefusals(t *testing.T) {
	h := start(t)
	big := strings.Repeat("#", maxScriptBytes)
	tooBig := fmt.Sprintf("more than the %d a request may carry", maxScriptBytes)
	for _, tc := range []struct {
		name string
		s    *cluster.Script
		want string
	}{
		{"module named as the script", cluster.NewScript("s.star", "x = 1\n", map[string]string{"s.star": "evil = 1\n"}),
			`script s.star: module path "s.star" is the script itself`},
		{"too big", cluster.NewScript("s.star", big, nil), fmt.Sprintf("script s.star: %d bytes with its modules, %s", maxScriptBytes+6, tooBig)},
		{"too big with modules", cluster.NewScript("s.star", "x = 1\n", map[string]string{"m.star": big}),
			fmt.Sprintf("script s.star: %d bytes with its modules, %s", maxScriptBytes+18, tooBig)},
		{"module named twice", cluster.NewScript("s.star", "x = 1\n", map[string]string{"m.star": "y = 1\n", "./m.star": "y = 2\n"}),
			`script s.star: module path "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := h.req.Send(context.Background(), "u1", cluster.Request{Argv: []string{"run-script", "s.star"}, Script: tc.s})
			if rep.OK || rep.Error == nil || rep.Error.Kind != "refused" || !strings.HasPrefix(rep.Error.Message, tc.want) {
				t.Fatalf("reply %+v, error %+v\nwant %q", rep, rep.Error, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(h.dir, "scripts")); err == nil {
		t.Fatal("a refused script was written")
	}
}

// A second request with the same script but other modules must not
// change the files of the first, which may still be loading them.
func TestScriptFilesNotOverwritten(t *testing.T) {
	h := start(t)
	first := cluster.NewScript("s.star", "load(\"m.star\", \"x\")\n", map[string]string{"m.star": "x = 1\n"})
	second := cluster.NewScript("s.star", first.Content, map[string]string{"m.star": "x = 2\n"})
	if rep := h.req.Send(context.Background(), "u1", cluster.Request{Argv: []string{"run-script", "s.star"}, Script: first}); !rep.OK {
		t.Fatalf("%+v", rep.Error)
	}
	path1 := h.pio.last()[1]
	h.send("kill", "dosing_automation")
	if rep := h.req.Send(context.Background(), "u1", cluster.Request{Argv: []string{"run-script", "s.star"}, Script: second}); !rep.OK {
		t.Fatalf("%+v", rep.Error)
	}
	path2 := h.pio.last()[1]
	b1, _ := os.ReadFile(filepath.Join(filepath.Dir(path1), "m.star"))
	b2, _ := os.ReadFile(filepath.Join(filepath.Dir(path2), "m.star"))
	if string(b1) != "x = 1\n" || string(b2) != "x = 2\n" {
		t.Fatalf("modules: first %q, second %q", b1, b2)
	}
}

// A QoS 1 request can arrive twice (the broker redelivers what it did not
// see acknowledged): the daemon runs it and answers it once.
func TestRepeatedRequestRunsOnce(t *testing.T) {
	h := start(t)
	var mu sync.Mutex
	replies := 0
	c := h.broker.Connect(pubsub.Options{ClientID: "sender"})
	c.Subscribe(cluster.ReplyTopic("u1", "r1"), 1, func(m pubsub.Message) {
		mu.Lock()
		replies++
		mu.Unlock()
	})
	body := []byte(`{"id":"r1","argv":["run","stirring"]}`)
	c.Publish(cluster.RequestTopic("u1"), body, 1, false)
	c.Publish(cluster.RequestTopic("u1"), body, 1, false)
	// Stopping the daemon waits for every request it took.
	h.cancel()
	<-h.done
	h.done <- nil
	h.pio.mu.Lock()
	runs := len(h.pio.argvs)
	h.pio.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if runs != 1 || replies != 1 {
		t.Fatalf("request r1 ran %d times and was answered %d times, want once", runs, replies)
	}
}

// TestAssignedExperiment: a request that names no experiment runs under
// the experiment the leader assigned the unit to (its retained assignment),
// else the unit's own; one that names its experiment keeps it.
func TestAssignedExperiment(t *testing.T) {
	h := start(t)
	leader := h.broker.Connect(pubsub.Options{ClientID: "leader-api"})
	experimentOf := func(argv []string) string {
		for i, a := range argv {
			if a == "--experiment" && i+1 < len(argv) {
				return argv[i+1]
			}
		}
		return ""
	}
	run := func(job, exp string) string {
		t.Helper()
		rep := h.req.Send(context.Background(), "u1", cluster.Request{Argv: []string{"run", job}, Experiment: exp})
		if !rep.OK {
			t.Fatalf("run %s: %+v", job, rep.Error)
		}
		return experimentOf(h.pio.last())
	}
	if got := run("a", ""); got != "e1" {
		t.Errorf("unassigned: ran under %q, want the unit's own e1", got)
	}
	leader.Publish(cluster.AssignmentTopic("u1"), []byte(`{"pioreactor_unit":"u1","experiment":"exp7","assigned_at":"x","updated_at":"x"}`), 1, true)
	if got := run("b", ""); got != "exp7" {
		t.Errorf("assigned to exp7: ran under %q", got)
	}
	if got := run("c", "other"); got != "other" {
		t.Errorf("a request naming its experiment ran under %q", got)
	}
	// Another unit's assignment, or a malformed one, changes nothing.
	leader.Publish(cluster.AssignmentTopic("u1"), []byte(`{"pioreactor_unit":"u2","experiment":"x"}`), 1, true)
	leader.Publish(cluster.AssignmentTopic("u1"), []byte(`{"pioreactor_unit":"u1","experiment":"a/#"}`), 1, true)
	if got := run("d", ""); got != "exp7" {
		t.Errorf("after bad assignments: ran under %q, want exp7", got)
	}
	leader.Publish(cluster.AssignmentTopic("u1"), nil, 1, true) // unassigned
	if got := run("e", ""); got != "e1" {
		t.Errorf("unassigned again: ran under %q, want e1", got)
	}
}
