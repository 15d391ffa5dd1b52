package runtime

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/sched"
	"github.com/piolab/pio/topic"
)

// State is a job's lifecycle state, published retained on .../<job>/$state.
type State string

// The states of upstream's state machine.
const (
	Init         State = "init"
	Ready        State = "ready"
	Sleeping     State = "sleeping"
	Disconnected State = "disconnected"
	Lost         State = "lost"
)

// requestable says which of the five states a /set command may ask for:
// upstream's init and lost are the job's own (starting; its last will),
// never commands.
const requestable = "ask for ready, sleeping or disconnected; init and lost are states a job reaches on its own"

func parseRequestedState(s string) (State, bool) {
	switch st := State(strings.TrimSpace(s)); st {
	case Ready, Sleeping, Disconnected:
		return st, true
	}
	return "", false
}

// MaxSettingBytes bounds a setting's value as text: a /set or a --<setting>
// longer than this is refused before it is parsed. Settings are names,
// numbers and short labels, published retained and logged on every change.
const MaxSettingBytes = 4096

// Setting is one published setting of a job.
type Setting struct {
	Name     string
	Datatype string // one of payload's Type* names
	Settable bool
	// Persist keeps the retained value after the job ends.
	Persist bool
	// Set, if not nil, handles a /set command with the already-cast value;
	// an error leaves the setting unchanged and is logged.
	Set func(v any) error
}

// Hooks are called on the job's events, on the actor that caused them.
type Hooks struct {
	OnReady        func(from State)
	OnSleeping     func()
	OnDisconnected func()
	// OnSettingChanged follows a change of a settable setting (not state).
	OnSettingChanged func(name string)
	// OnConnectionLost follows the loss of the MQTT connection; a job that
	// drives outputs stops them here.
	OnConnectionLost func(error)
}

var (
	settingName     = regexp.MustCompile(`^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$`)
	disallowedNames = map[string]bool{"run": true, "dosing_events": true, "leds": true,
		"led_change_events": true, "unit_label": true, "pwm": true, "assignment": true}
)

// delivery is one message for one of the job's handlers.
type delivery struct {
	handle func(pubsub.Message)
	msg    pubsub.Message
}

// Job is a background job: a name, a state machine, published settings and an
// MQTT connection whose last will marks the job lost.
//
// Every message the job subscribes to goes into one inbox (a sched.Queue,
// started by Start), which runs the handlers one message at a time, in the
// order the broker delivered them. Handlers may publish but never wait; they
// reach the job's work (its Run) through its state and through contexts.
type Job struct {
	env        *Env
	Name       string
	Experiment string
	Log        *Logger
	client     pubsub.Client
	// inbox runs the handlers of every subscription, in the broker's order.
	inbox *sched.Queue[delivery]

	mu       sync.Mutex
	state    State
	shutdown bool
	settings map[string]*Setting
	values   map[string]any
	order    []string
	hooks    Hooks
	started  bool

	done      sched.Signal
	closeOnce sync.Once
	release   func()
	// lost is set while the MQTT connection is down.
	lost atomic.Bool
}

// NewJob registers a job, connects it to MQTT and publishes $state=init. It
// fails if a job of the same name runs on the unit.
func NewJob(env *Env, name, experiment string, hooks Hooks) (*Job, error) {
	if name != strings.ToLower(name) || !settingName.MatchString(name) || disallowedNames[name] {
		return nil, fmt.Errorf("job name %q: want lowercase words joined by _, not one of run, dosing_events, leds, led_change_events, unit_label, pwm, assignment", name)
	}
	if !env.claim(name) {
		return nil, fmt.Errorf("%s %w on %s", name, ErrJobRunning, env.Unit)
	}
	release := func() { env.release(name) }
	if env.Registry != nil {
		rel, err := env.Registry.Acquire(name, env.Unit, experiment)
		if err != nil {
			release()
			return nil, err
		}
		release = func() { rel(); env.release(name) }
	}
	j := &Job{env: env, Name: name, Experiment: experiment, state: Init, hooks: hooks,
		settings: map[string]*Setting{}, values: map[string]any{}, release: release,
		done: env.Sched.NewSignal()}
	j.inbox = sched.NewQueue(env.Sched, name+" inbox", func(d delivery) { d.handle(d.msg) })
	will := &pubsub.Message{Topic: topic.State(env.Unit, experiment, name), Payload: []byte(Lost), QoS: 2, Retained: true}
	client, err := env.Connect(pubsub.Options{
		ClientID:    fmt.Sprintf("%s-%s-%s", name, env.Unit, experiment),
		Will:        will,
		OnLost:      j.connectionLost,
		OnReconnect: j.republish,
	})
	if err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	j.client = client
	j.Log = newLogger(env, client, experiment, name)
	j.settings["state"] = &Setting{Name: "state", Datatype: payload.TypeString, Settable: true, Persist: true}
	j.order = append(j.order, "state")
	j.publishState(Init)
	j.Log.Debug("Init.")
	return j, nil
}

// Client is the job's MQTT connection.
func (j *Job) Client() pubsub.Client { return j.client }

// Env is the environment the job runs in.
func (j *Job) Env() *Env { return j.env }

// JobName is the job's name (the Runner interface).
func (j *Job) JobName() string { return j.Name }

// Connected reports whether the job's MQTT connection is up.
func (j *Job) Connected() bool { return !j.lost.Load() }

func (j *Job) connectionLost(err error) {
	j.lost.Store(true)
	if j.hooks.OnConnectionLost != nil {
		j.hooks.OnConnectionLost(err)
	}
	j.env.console().Warn("lost the MQTT connection", "job", j.Name, "err", err)
}

func (j *Job) republish() {
	j.lost.Store(false)
	j.mu.Lock()
	names := append([]string(nil), j.order...)
	j.mu.Unlock()
	for _, n := range names {
		j.publishSetting(n)
	}
	j.Log.Info("Sub client reconnected to the MQTT broker.")
}

// Subscribe delivers the messages on filter to handle, on the job's inbox
// actor, in the broker's order.
func (j *Job) Subscribe(filter string, qos byte, handle func(pubsub.Message)) error {
	err := j.client.Subscribe(filter, qos, func(m pubsub.Message) {
		j.inbox.Put(delivery{handle: handle, msg: m})
	})
	if err != nil {
		return fmt.Errorf("%s: subscribe %s: %w", j.Name, filter, err)
	}
	return nil
}

// AddSetting declares a published setting and, if initial is not nil,
// publishes it.
func (j *Job) AddSetting(s Setting, initial any) error {
	if !settingName.MatchString(s.Name) {
		return fmt.Errorf("%s: setting name %q: want alphanumeric words joined by _", j.Name, s.Name)
	}
	if !payload.KnownDatatype(s.Datatype) {
		return fmt.Errorf("%s: setting %s: unknown datatype %q", j.Name, s.Name, s.Datatype)
	}
	j.mu.Lock()
	if _, dup := j.settings[s.Name]; dup {
		j.mu.Unlock()
		return fmt.Errorf("%s: setting %s declared twice", j.Name, s.Name)
	}
	set := s
	j.settings[s.Name] = &set
	j.order = append(j.order, s.Name)
	if initial != nil {
		j.values[s.Name] = initial
	}
	j.mu.Unlock()
	if initial != nil {
		j.publishSetting(s.Name)
	}
	return nil
}

// SetValue assigns a setting and publishes it (nil clears the retained topic).
func (j *Job) SetValue(name string, v any) {
	j.mu.Lock()
	s := j.settings[name]
	if v == nil {
		delete(j.values, name)
	} else {
		j.values[name] = v
	}
	j.mu.Unlock()
	j.publishSetting(name)
	if s != nil && s.Settable && name != "state" && j.hooks.OnSettingChanged != nil {
		j.hooks.OnSettingChanged(name)
	}
}

// Value returns a setting's current value.
func (j *Job) Value(name string) any {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.values[name]
}

// Setting returns a declared setting's current value.
func (j *Job) Setting(name string) (any, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.settings[name]; !ok {
		return nil, false
	}
	return j.values[name], true
}

// SettableValues returns every settable setting's value, state included.
func (j *Job) SettableValues() map[string]any {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[string]any{"state": string(j.state)}
	for _, n := range j.order {
		if s := j.settings[n]; s.Settable && n != "state" {
			out[n] = j.values[n]
		}
	}
	return out
}

// PublishSetting republishes a setting's current value.
func (j *Job) PublishSetting(name string) { j.publishSetting(name) }

func (j *Job) publishSetting(name string) {
	j.mu.Lock()
	var body []byte
	if name == "state" {
		body = []byte(j.state)
	} else {
		body = payload.EncodeSetting(j.values[name])
	}
	j.mu.Unlock()
	leaf := name
	if name == "state" {
		leaf = "$state"
	}
	t := j.env.Topic(j.Experiment, j.Name, leaf)
	if err := j.client.Publish(t, body, 2, true); err != nil {
		j.env.console().Warn("publish failed", "topic", t, "err", err)
	}
}

func (j *Job) publishState(s State) {
	t := topic.State(j.env.Unit, j.Experiment, j.Name)
	if err := j.client.Publish(t, []byte(s), 2, true); err != nil {
		j.env.console().Warn("publish failed", "topic", t, "err", err)
	}
}

// Start subscribes to the job's /set topics, starts its inbox actor and
// moves it to ready.
func (j *Job) Start() error {
	j.mu.Lock()
	if j.started {
		j.mu.Unlock()
		return fmt.Errorf("%s: started twice", j.Name)
	}
	j.started = true
	j.mu.Unlock()
	for _, unit := range []string{j.env.Unit, topic.Broadcast} {
		if err := j.Subscribe(topic.Join(unit, j.Experiment, j.Name, "+", "set"), 2, j.onSet); err != nil {
			return err
		}
	}
	if err := j.Subscribe(topic.State(j.env.Unit, j.Experiment, j.Name), 0, j.confirmState); err != nil {
		return err
	}
	j.inbox.Start()
	j.SetState(Ready)
	return nil
}

// confirmState heals a spurious "lost" (a last will fired by a flaky link)
// by republishing the real state.
func (j *Job) confirmState(m pubsub.Message) {
	if string(m.Payload) != string(Lost) {
		return
	}
	st := j.State()
	if st != Lost && st != Init {
		j.publishState(st)
	}
}

// State returns the current state.
func (j *Job) State() State {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state
}

// Wait blocks the calling actor until the job is disconnected or ctx ends.
func (j *Job) Wait(ctx context.Context) error {
	for j.State() != Disconnected {
		if err := j.done.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// SetState moves the job to s. Ready and sleeping alternate as upstream
// allows; disconnected is terminal.
func (j *Job) SetState(s State) {
	j.mu.Lock()
	if s == Disconnected {
		if j.shutdown {
			j.mu.Unlock()
			return
		}
		j.shutdown = true
	} else if j.shutdown {
		j.mu.Unlock()
		return
	}
	if s == j.state {
		j.mu.Unlock()
		return
	}
	from := j.state
	if s != Disconnected {
		j.state = s
	}
	j.mu.Unlock()

	switch s {
	case Ready:
		j.publishState(s)
		if j.hooks.OnReady != nil {
			j.hooks.OnReady(from)
		}
		j.Log.Info("Ready.")
	case Sleeping:
		j.publishState(s)
		if j.hooks.OnSleeping != nil {
			j.hooks.OnSleeping()
		}
		j.Log.Debug("Sleeping.")
	case Disconnected:
		if j.hooks.OnDisconnected != nil {
			j.hooks.OnDisconnected()
		}
		j.mu.Lock()
		j.state = Disconnected
		j.mu.Unlock()
		j.publishState(s)
		j.Log.Info("Disconnected.")
		j.done.Notify()
	default:
		j.publishState(s)
	}
}

// Close disconnects the job, clears its non-persistent settings, releases its
// name, stops its inbox actor and closes its MQTT connection cleanly. It is
// idempotent.
func (j *Job) Close() {
	j.closeOnce.Do(func() {
		j.SetState(Disconnected)
		j.mu.Lock()
		var clear []string
		for _, n := range j.order {
			if s := j.settings[n]; !s.Persist && j.values[n] != nil {
				clear = append(clear, n)
			}
		}
		j.mu.Unlock()
		for _, n := range clear {
			_ = j.client.Publish(topic.Setting(j.env.Unit, j.Experiment, j.Name, n), nil, 2, true)
		}
		j.inbox.Close()
		j.release()
		j.client.Close()
	})
}

// onSet handles .../<job>/<setting>/set.
func (j *Job) onSet(m pubsub.Message) {
	if m.Retained {
		return // upstream ignores retained commands
	}
	parts := strings.Split(m.Topic, "/")
	if len(parts) != 6 {
		return
	}
	name := strings.TrimPrefix(parts[4], "$")
	if len(m.Payload) > MaxSettingBytes {
		j.Log.Error("%s: a value of %d bytes is more than a setting takes (%d bytes); %s is unchanged", m.Topic, len(m.Payload), MaxSettingBytes, name)
		return
	}
	text := string(m.Payload)
	if name == "state" {
		st, ok := parseRequestedState(text)
		if !ok {
			j.Log.Error("%s: saw %.100q: not a state a job can be asked for (%s); %s stays %s", m.Topic, text, requestable, j.Name, j.State())
			return
		}
		j.SetState(st)
		return
	}
	j.mu.Lock()
	s, ok := j.settings[name]
	old := j.values[name]
	j.mu.Unlock()
	if !ok {
		j.Log.Debug("Unable to set %s in %s: no such setting.", name, j.Name)
		return
	}
	if !s.Settable {
		j.Log.Warning("Unable to set %s in %s. %s is read-only.", name, j.Name, name)
		return
	}
	v, err := payload.CastPayload(s.Datatype, text)
	if err != nil {
		j.Log.Error("%s: %s: %v; %s stays %s", m.Topic, name, err, name, payload.EncodeSetting(old))
		return
	}
	if s.Set != nil {
		if err := s.Set(v); err != nil {
			j.Log.Error("%s: %s: %v; %s stays %s", m.Topic, name, err, name, payload.EncodeSetting(old))
			return
		}
	} else {
		j.SetValue(name, v)
	}
	j.Log.Info("Updated %s from %s to %s.", name, payload.EncodeSetting(old), payload.EncodeSetting(j.Value(name)))
}
