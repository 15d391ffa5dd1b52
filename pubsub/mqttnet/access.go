package mqttnet

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	mochiauth "github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/piolab/pio/auth"
)

// EmbeddedOptions are the leader's settings of the embedded broker. The
// zero value is StartEmbedded's broker: anyone may connect and do anything,
// over plain TCP.
type EmbeddedOptions struct {
	// Users are the clients the broker accepts, and auth.Allowed what each
	// may read and write. nil: every client, anonymous or not, may do
	// anything.
	Users *auth.Users
	// TLS, if set, makes the listener speak TLS only (auth.ServerTLS).
	TLS *tls.Config
	// Audit, if set, is called for each publish the broker has accepted on
	// a topic ending in "/set" (a setting changed, a job paused or stopped)
	// or "/daemon/request" (a job or script sent to a unit's daemon), with
	// the MQTT user name that sent it ("" when Users is nil: the name an
	// unauthenticated client gives proves nothing), after the message went
	// out to the subscribers. It runs on the publisher's connection
	// goroutine: it must be quick (queue the row, do not write it there).
	// payload is the callback's own copy.
	Audit func(credential, topic string, payload []byte)
	// AuditSkip, if set, names the publishes Audit is not called for, by
	// the sender's credential (as Audit gets it) and MQTT client ID: the
	// leader's API client, whose actions the API records itself. A client
	// ID proves nothing by itself: match the credential too.
	AuditSkip func(credential, clientID string) bool
}

// StartEmbeddedWith starts the broker as StartEmbedded does, with o's
// users, rules, TLS and audit.
//
// With Users set:
//   - a CONNECT with an unknown user name or a wrong password is refused
//     with return code 4 ("bad user name or password"); Dial reports it;
//   - so is one whose last will the user may not write (mochi publishes a
//     will without asking the rules, so the broker checks it at connect);
//   - a PUBLISH the user may not write is dropped: nobody receives it. At
//     QoS 0 the client is told nothing (MQTT has no way to); at QoS 1 and
//     2 mochi, for MQTT 3.1.1 clients like pio's, which cannot be sent a
//     negative PUBACK, closes the connection (MQTT 3.1.1 §3.3.5 allows
//     either); the client reconnects by itself and its Publish fails;
//   - a SUBSCRIBE to a filter the user may not read is refused (SUBACK
//     0x80), and each message is checked again against the subscriber's
//     rules before it is sent to it.
func StartEmbeddedWith(addr string, log *slog.Logger, o EmbeddedOptions) (*Embedded, error) {
	return startEmbedded(addr, log, embeddedDefaults, o)
}

// accessHook is the hook that decides who connects and what they may do.
func accessHook(o EmbeddedOptions) mqtt.Hook {
	if o.Users == nil {
		return new(mochiauth.AllowHook)
	}
	return &usersHook{users: o.Users}
}

// usersHook authenticates clients against a users file and applies
// auth.Allowed to what they publish and read.
type usersHook struct {
	mqtt.HookBase
	users *auth.Users
}

func (h *usersHook) ID() string { return "pio-users" }

func (h *usersHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (h *usersHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	u, ok := h.users.Check(string(pk.Connect.Username), string(pk.Connect.Password))
	if !ok {
		return false
	}
	if pk.Connect.WillFlag && !auth.Allowed(u, pk.Connect.WillTopic, true) {
		return false
	}
	return true
}

func (h *usersHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	u, ok := h.users.Lookup(string(cl.Properties.Username))
	return ok && auth.Allowed(u, topic, write)
}

// auditHook reports the accepted publishes that command something.
type auditHook struct {
	mqtt.HookBase
	audit    func(credential, topic string, payload []byte)
	skip     func(credential, clientID string) bool
	verified bool // the user names were checked against passwords
}

func (h *auditHook) ID() string { return "pio-audit" }

func (h *auditHook) Provides(b byte) bool { return b == mqtt.OnPublished }

func (h *auditHook) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	if !Audited(pk.TopicName) {
		return
	}
	cred := ""
	if h.verified {
		cred = string(cl.Properties.Username)
	}
	if h.skip != nil && h.skip(cred, cl.ID) {
		return
	}
	h.audit(cred, pk.TopicName, bytes.Clone(pk.Payload))
}

// Audited reports whether a publish on topic is one the audit trail
// records: a setting's or state's /set, or a request to a unit's daemon.
func Audited(topic string) bool {
	return strings.HasSuffix(topic, "/set") || strings.HasSuffix(topic, "/daemon/request")
}
