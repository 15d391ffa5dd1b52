package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/piolab/pio/pubsub"
)

// DefaultRequestTimeout is how long Send waits for a reply when the
// Requester sets none ([cluster.daemon] request_timeout_seconds is the
// configured one).
const DefaultRequestTimeout = 10 * time.Second

// Requester sends Requests to units' daemons over one MQTT connection and
// waits for their Replies. It is safe for concurrent use: the leader's API
// fans one request out to many units at once.
type Requester struct {
	// Client is the connection requests go out on and replies come in on.
	Client pubsub.Client
	// Timeout bounds the wait for a reply (0: DefaultRequestTimeout).
	Timeout time.Duration
	// Name fills a Request's Requester when it is empty.
	Name string

	mu     sync.Mutex
	states map[string]*stateWatch
}

// stateWatch follows one unit's daemon $state for the Sends that need it.
type stateWatch struct {
	ready chan struct{} // closed once subscribed (or failed)
	err   error         // the subscription's error
	users int

	mu      sync.Mutex
	state   string // "" until a $state arrived
	changed chan struct{}
}

// NewRequester returns a Requester on client that waits timeout for each
// reply.
func NewRequester(client pubsub.Client, timeout time.Duration) *Requester {
	return &Requester{Client: client, Timeout: timeout}
}

// NewID returns a fresh request id: 16 random bytes, hex.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}

// Send sends req to unit's daemon and returns its reply. It never fails
// with an error: a daemon that is lost, absent or silent, a refused
// request, or a broken connection is a Reply with OK false and an Error
// saying which, in one line that names the unit. If the daemon's retained
// $state says it is lost or stopped, Send answers at once instead of
// waiting out the timeout. An empty req.ID gets a fresh one.
func (r *Requester) Send(ctx context.Context, unit string, req Request) Reply {
	if req.ID == "" {
		req.ID = NewID()
	}
	if req.Requester == "" {
		req.Requester = r.Name
	}
	if req.SentAt.IsZero() {
		req.SentAt = time.Now().UTC()
	}
	fail := func(kind, msg, fix string) Reply {
		return Reply{ID: req.ID, Unit: unit, Error: &Error{Kind: kind, Message: "unit " + unit + ": " + msg, Remediation: fix}}
	}
	if len(req.Argv) == 0 {
		return fail("refused", "the request names no command (want run, run-script, kill or status)", "")
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	w, err := r.watch(unit)
	defer r.unwatch(unit) // a failed watch too: the next Send subscribes again
	if err != nil {
		return fail("internal", fmt.Sprintf("cannot follow its daemon's $state: %v", err), "check the connection to the broker")
	}

	// The reply topic also carries an empty probe, published after both
	// subscriptions: a client's messages come in the broker's order, so
	// when the probe is back, the retained $state (if any) is too.
	replyTopic := ReplyTopic(unit, req.ID)
	probe := make(chan struct{}, 1)
	replies := make(chan Reply, 1)
	err = r.Client.Subscribe(replyTopic, 1, func(m pubsub.Message) {
		if len(m.Payload) == 0 {
			select {
			case probe <- struct{}{}:
			default:
			}
			return
		}
		var rep Reply
		if json.Unmarshal(m.Payload, &rep) != nil || rep.ID != req.ID {
			return
		}
		select {
		case replies <- rep:
		default:
		}
	})
	if err != nil {
		return fail("internal", fmt.Sprintf("cannot subscribe to %s: %v", replyTopic, err), "check the connection to the broker")
	}
	defer r.Client.Unsubscribe(replyTopic)
	if err := r.Client.Publish(replyTopic, nil, 1, false); err != nil {
		return fail("internal", fmt.Sprintf("cannot publish on %s: %v", replyTopic, err), "check the connection to the broker")
	}
	select {
	case <-probe:
	case <-ctx.Done():
		return r.timedOut(ctx, fail, timeout)
	}
	if rep, ok := stateReply(w, fail); !ok {
		return rep
	}

	body, err := json.Marshal(req)
	if err != nil {
		return fail("internal", fmt.Sprintf("cannot encode the request: %v", err), "")
	}
	if err := r.Client.Publish(RequestTopic(unit), body, 1, false); err != nil {
		return fail("unreachable", fmt.Sprintf("cannot publish the request on %s: %v", RequestTopic(unit), err), "check the connection to the broker")
	}
	for {
		w.mu.Lock()
		changed := w.changed
		w.mu.Unlock()
		select {
		case rep := <-replies:
			rep.Unit = unit
			if !rep.OK && rep.Error == nil {
				rep.Error = &Error{Kind: "internal", Message: "unit " + unit + ": its daemon answered neither a value nor an error"}
			}
			return rep
		case <-changed:
			if rep, ok := stateReply(w, fail); !ok {
				return rep
			}
		case <-ctx.Done():
			return r.timedOut(ctx, fail, timeout)
		}
	}
}

// timedOut is the reply when ctx ended before the daemon answered.
func (r *Requester) timedOut(ctx context.Context, fail func(kind, msg, fix string) Reply, timeout time.Duration) Reply {
	if ctx.Err() == context.Canceled {
		return fail("timeout", "the request was cancelled before its daemon answered", "")
	}
	return fail("timeout", fmt.Sprintf("its daemon did not answer within %v", timeout),
		"check that pio daemon runs there and reaches the broker, or raise [cluster.daemon] request_timeout_seconds")
}

// stateReply says whether the daemon's $state lets a request through; if
// not, the reply that says why.
func stateReply(w *stateWatch, fail func(kind, msg, fix string) Reply) (Reply, bool) {
	w.mu.Lock()
	st := w.state
	w.mu.Unlock()
	switch st {
	case "lost":
		return fail("lost", "its daemon is lost (pio daemon is not running there)", "start pio daemon on the unit, or check its power and network"), false
	case "":
		return fail("unreachable", "no daemon has announced itself there (pio daemon is not running there)", "start pio daemon on the unit"), false
	case "disconnected":
		return fail("unreachable", "its daemon has stopped (pio daemon is not running there)", "start pio daemon on the unit"), false
	}
	return Reply{}, true
}

// watch subscribes to unit's daemon $state, once for all concurrent Sends.
func (r *Requester) watch(unit string) (*stateWatch, error) {
	r.mu.Lock()
	if r.states == nil {
		r.states = map[string]*stateWatch{}
	}
	w, ok := r.states[unit]
	if ok {
		w.users++
		r.mu.Unlock()
		<-w.ready
		return w, w.err
	}
	w = &stateWatch{ready: make(chan struct{}), users: 1, changed: make(chan struct{})}
	r.states[unit] = w
	r.mu.Unlock()
	w.err = r.Client.Subscribe(StateTopic(unit), 1, func(m pubsub.Message) {
		w.mu.Lock()
		w.state = string(m.Payload)
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	})
	close(w.ready)
	return w, w.err
}

// unwatch ends a Send's use of unit's $state subscription.
func (r *Requester) unwatch(unit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.states[unit]
	if w == nil {
		return
	}
	w.users--
	if w.users == 0 {
		delete(r.states, unit)
		if w.err == nil {
			r.Client.Unsubscribe(StateTopic(unit))
		}
	}
}

// SendAll sends req to every unit at once (each with its own id) and
// returns their replies sorted by unit.
func (r *Requester) SendAll(ctx context.Context, units []string, req Request) []Reply {
	out := make([]Reply, len(units))
	var wg sync.WaitGroup
	for i, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := req
			q.ID = ""
			out[i] = r.Send(ctx, u, q)
		}()
	}
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out
}
