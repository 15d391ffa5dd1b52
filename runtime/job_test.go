package runtime

import (
	"context"
	"errors"
	"github.com/piolab/pio/payload"
	"strings"
	"testing"

	"github.com/piolab/pio/pubsub"
)

func newTestJob(t *testing.T, h *harness, name string) *Job {
	t.Helper()
	j, err := NewJob(h.env, name, "exp1", Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	j.Log.OnRecord = h.logf
	t.Cleanup(j.Close)
	return j
}

func TestStateLifecycleOnMQTT(t *testing.T) {
	h := newHarness(t)
	j := newTestJob(t, h, "job")
	if err := j.Start(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	got := h.payloads("pioreactor/unit1/exp1/job/$state")
	if strings.Join(got, ",") != "init,ready,disconnected" {
		t.Errorf("$state messages %v, want init, ready, disconnected", got)
	}
	if m, ok := h.broker.Retained("pioreactor/unit1/exp1/job/$state"); !ok || string(m.Payload) != "disconnected" {
		t.Errorf("retained $state %q", m.Payload)
	}
}

func TestStatesOverSet(t *testing.T) {
	h := newHarness(t)
	j := newTestJob(t, h, "job")
	j.Start()
	for _, s := range []State{Sleeping, Ready, Init, Lost, Disconnected, Sleeping, Ready} {
		h.set("pioreactor/unit1/exp1/job/$state/set", string(s))
	}
	if j.State() != Disconnected {
		t.Errorf("state %s: disconnected must be terminal", j.State())
	}
	var waitErr error = errors.New("Wait did not return")
	h.do(func() { waitErr = j.Wait(context.Background()) })
	if waitErr != nil {
		t.Errorf("Wait after disconnect: %v", waitErr)
	}
	got := h.payloads("pioreactor/unit1/exp1/job/$state")
	if strings.Join(got, ",") != "init,ready,sleeping,ready,disconnected" {
		t.Errorf("$state messages %v (init and lost are not states to ask for)", got)
	}
	if !h.logged("ERROR", `saw "lost": not a state a job can be asked for (ask for ready, sleeping or disconnected; init and lost are states a job reaches on its own); job stays ready`) {
		t.Error("no error naming the refused state and the ones allowed")
	}
}

func TestBroadcastAndBadState(t *testing.T) {
	h := newHarness(t)
	j := newTestJob(t, h, "job")
	j.Start()
	h.set("pioreactor/$broadcast/exp1/job/$state/set", "sleeping")
	if j.State() != Sleeping {
		t.Errorf("broadcast: state %s", j.State())
	}
	h.set("pioreactor/unit1/exp1/job/$state/set", "asleep")
	if j.State() != Sleeping || !h.logged("ERROR", "not a state a job can be asked for") {
		t.Errorf("bad state: %s", j.State())
	}
}

func TestRetainedCommandsAreIgnored(t *testing.T) {
	h := newHarness(t)
	// A retained command left on the broker must not act on a new job.
	h.ctl.Publish("pioreactor/unit1/exp1/job/$state/set", []byte("disconnected"), 1, true)
	j := newTestJob(t, h, "job")
	j.Start()
	if j.State() != Ready {
		t.Errorf("state %s: a retained command was obeyed", j.State())
	}
}

func TestHooksRun(t *testing.T) {
	h := newHarness(t)
	var seen []string
	j, err := NewJob(h.env, "hooked", "exp1", Hooks{
		OnReady:        func(from State) { seen = append(seen, "ready from "+string(from)) },
		OnSleeping:     func() { seen = append(seen, "sleeping") },
		OnDisconnected: func() { seen = append(seen, "disconnected") },
	})
	if err != nil {
		t.Fatal(err)
	}
	j.Start()
	j.SetState(Sleeping)
	j.SetState(Ready)
	j.Close()
	j.Close() // idempotent
	if strings.Join(seen, ",") != "ready from init,sleeping,ready from sleeping,disconnected" {
		t.Errorf("hooks %v", seen)
	}
}

func TestSettingsOverSet(t *testing.T) {
	h := newHarness(t)
	j := newTestJob(t, h, "job")
	var setterSaw any
	j.AddSetting(Setting{Name: "target", Datatype: payload.TypeFloat, Settable: true}, 1.5)
	j.AddSetting(Setting{Name: "label", Datatype: payload.TypeString}, "fixed")
	j.AddSetting(Setting{Name: "kept", Datatype: payload.TypeString, Persist: true}, "persist_this")
	j.AddSetting(Setting{Name: "flag", Datatype: payload.TypeBoolean, Settable: true, Set: func(v any) error {
		setterSaw = v
		return nil
	}}, false)
	j.Start()

	h.set("pioreactor/unit1/exp1/job/target/set", "2.25")
	if j.Value("target") != 2.25 || !h.logged("INFO", "Updated target from 1.5 to 2.25.") {
		t.Errorf("target = %v", j.Value("target"))
	}
	for _, bad := range []string{"abc", "nan", "", "1e999"} {
		h.set("pioreactor/unit1/exp1/job/target/set", bad)
		if j.Value("target") != 2.25 {
			t.Errorf("payload %q changed target to %v", bad, j.Value("target"))
		}
	}
	if !h.logged("ERROR", "pioreactor/unit1/exp1/job/target/set: target: want a number") {
		t.Error("a malformed payload gave no error naming the topic")
	}
	h.set("pioreactor/unit1/exp1/job/label/set", "other")
	if j.Value("label") != "fixed" || !h.logged("WARNING", "read-only") {
		t.Error("a read-only setting was changed")
	}
	h.set("pioreactor/unit1/exp1/job/garbage/set", "1")
	if !h.logged("DEBUG", "garbage") {
		t.Error("no debug log for an unknown setting")
	}
	h.set("pioreactor/unit1/exp1/job/flag/set", "yes")
	if setterSaw != true {
		t.Errorf("setter saw %v", setterSaw)
	}
	if got := h.payloads("pioreactor/unit1/exp1/job/target"); got[len(got)-1] != "2.25" {
		t.Errorf("target published as %v", got)
	}

	j.Close()
	if _, ok := h.broker.Retained("pioreactor/unit1/exp1/job/target"); ok {
		t.Error("a non-persistent setting stayed retained after the job ended")
	}
	if m, ok := h.broker.Retained("pioreactor/unit1/exp1/job/kept"); !ok || string(m.Payload) != "persist_this" {
		t.Error("a persistent setting was cleared")
	}
}

func TestBadDeclarations(t *testing.T) {
	h := newHarness(t)
	j := newTestJob(t, h, "job")
	if err := j.AddSetting(Setting{Name: "some--!4key", Datatype: payload.TypeFloat}, nil); err == nil {
		t.Error("bad setting name accepted")
	}
	if err := j.AddSetting(Setting{Name: "x", Datatype: "units"}, nil); err == nil {
		t.Error("bad datatype accepted")
	}
	for _, name := range []string{"Job", "run", "dosing_events", "a-b"} {
		if _, err := NewJob(h.env, name, "exp1", Hooks{}); err == nil {
			t.Errorf("job name %q accepted", name)
		}
	}
}

func TestOneJobOfANamePerUnit(t *testing.T) {
	h := newHarness(t)
	newTestJob(t, h, "job")
	if _, err := NewJob(h.env, "job", "other_exp", Hooks{}); !errors.Is(err, ErrJobRunning) {
		t.Fatalf("err = %v, want ErrJobRunning", err)
	}
}

func TestRegistryAcrossProcessesAndRelease(t *testing.T) {
	h := newHarness(t)
	h.env.Registry = &Registry{Dir: t.TempDir()}
	j := newTestJob(t, h, "job")
	e, ok := h.env.Registry.Lookup("job")
	if !ok || e.Experiment != "exp1" || e.Unit != "unit1" {
		t.Fatalf("lookup %+v %v", e, ok)
	}
	// A second registry over the same directory (another process) is refused.
	if _, err := (&Registry{Dir: h.env.Registry.Dir}).Acquire("job", "unit1", "x"); !errors.Is(err, ErrJobRunning) {
		t.Fatalf("second acquire: %v", err)
	}
	j.Close()
	if _, ok := h.env.Registry.Lookup("job"); ok {
		t.Error("job still registered after Close")
	}
	if list := h.env.Registry.List(); len(list) != 0 {
		t.Errorf("list %v", list)
	}
}

func TestLastWillAndSelfHeal(t *testing.T) {
	h := newHarness(t)
	j := newTestJob(t, h, "job")
	j.Start()
	// Someone (a flaky link's will) says we are lost: the job republishes its state.
	h.ctl.Publish("pioreactor/unit1/exp1/job/$state", []byte("lost"), 2, true)
	h.settle()
	if m, _ := h.broker.Retained("pioreactor/unit1/exp1/job/$state"); string(m.Payload) != "ready" {
		t.Errorf("retained $state %q after a spurious lost, want ready", m.Payload)
	}
	// A job that dies without a clean disconnect is marked lost by its will.
	pubsub.Crash(j.Client())
	if m, _ := h.broker.Retained("pioreactor/unit1/exp1/job/$state"); string(m.Payload) != "lost" {
		t.Errorf("retained $state %q after a crash, want lost", m.Payload)
	}
}

// A 1 MB value for a string setting is refused: nothing is published or
// logged with it.
func TestHugeSettingValueRefused(t *testing.T) {
	h := newHarness(t)
	j := newTestJob(t, h, "job")
	if err := j.AddSetting(Setting{Name: "label", Datatype: "string", Settable: true}, "a"); err != nil {
		t.Fatal(err)
	}
	j.Start()
	h.set("pioreactor/unit1/exp1/job/label/set", strings.Repeat("x", 1<<20))
	if v, _ := j.Setting("label"); v != "a" {
		t.Errorf("label = %.20q..., want unchanged", v)
	}
	if got := h.payloads("pioreactor/unit1/exp1/job/label"); len(got) != 1 {
		t.Errorf("label published %d times, want once (its initial value)", len(got))
	}
	if !h.logged("ERROR", "a value of 1048576 bytes is more than a setting takes (4096 bytes); label is unchanged") {
		t.Error("no error line naming the size and the limit")
	}
	h.set("pioreactor/unit1/exp1/job/label/set", strings.Repeat("y", 4096))
	if v, _ := j.Setting("label"); v != strings.Repeat("y", 4096) {
		t.Error("a 4096-byte value was refused")
	}
}
