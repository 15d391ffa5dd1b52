// Package leader assembles the leader of a lab: the MQTT broker (embedded
// mochi, or an external one), the MQTT-to-SQLite stream (dbstream), the HTTP
// API (leaderapi) with its audit trail, and the requester that sends jobs
// and scripts to the units' daemons (cluster.Requester).
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/piolab/pio/auth"
	"github.com/piolab/pio/cluster"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/dbstream"
	"github.com/piolab/pio/leaderapi"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

// Options configure Run.
type Options struct {
	// Config is the leader's configuration ([mqtt], [cluster.*]).
	Config config.Options
	// Home is pio's home: the database defaults to <home>/pio.sqlite and
	// exports go to <home>/exports.
	Home string
	// Unit is the leader's own unit name (GET /api/units lists it).
	Unit string
	// Broker, if set ("host:port"), is an external broker (Mosquitto) the
	// leader connects to instead of starting the embedded one.
	Broker string
	// Listen overrides Config.Cluster.Listen() (tests use "127.0.0.1:0").
	Listen string
	// BrokerListen overrides the embedded broker's address (default
	// ":" + [mqtt] broker_port).
	BrokerListen string
	// Tokens overrides the tokens of [cluster.security] api_tokens_file.
	Tokens leaderapi.Tokens
	// Log gets the leader's records (default: discard).
	Log *slog.Logger
	// Ready, if set, is called once everything is up with the API's URL and
	// the broker's address.
	Ready func(apiURL, broker string)
}

// Run starts the leader and serves until ctx is done, then stops the API,
// flushes the stream and closes the broker. It returns the first error that
// stops it.
func Run(ctx context.Context, opts Options) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := opts.Config.Cluster
	tokens := opts.Tokens
	if tokens == nil {
		if c.Security.APITokensFile == "" {
			return errors.New("leader: no API tokens: set [cluster.security] api_tokens_file (one `name token` a line; pio auth new-token prints a new token) so that the API can accept changes")
		}
		t, err := auth.LoadTokens(c.Security.APITokensFile)
		if err != nil {
			return fmt.Errorf("leader: %w", err)
		}
		if err := auth.CheckPrivate(c.Security.APITokensFile, "[cluster.security] api_tokens_file"); err != nil {
			log.Warn("leader: " + err.Error())
		}
		tokens = t
	}

	// The database first, so that the audit hook has somewhere to go.
	dbPath := c.Database
	if dbPath == "" {
		dbPath = filepath.Join(opts.Home, "pio.sqlite")
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		return fmt.Errorf("leader: database folder: %w", err)
	}
	db, err := dbstream.Open(dbPath)
	if err != nil {
		return fmt.Errorf("leader: %w", err)
	}
	defer db.Close()

	// The broker.
	audits := make(chan leaderapi.AuditEntry, 1024)
	apiClientID := fmt.Sprintf("pio-leader-api-%d", os.Getpid())
	brokerAddr := opts.Broker
	var embedded *mqttnet.Embedded
	if brokerAddr == "" {
		listen := opts.BrokerListen
		if listen == "" {
			listen = ":" + strconv.Itoa(opts.Config.MQTT.BrokerPort)
		}
		eo := mqttnet.EmbeddedOptions{}
		if f := c.Security.BrokerUsersFile; f != "" {
			users, err := auth.LoadUsers(f)
			if err != nil {
				return fmt.Errorf("leader: %w", err)
			}
			if err := auth.CheckPrivate(f, "[cluster.security] broker_users_file"); err != nil {
				log.Warn("leader: " + err.Error())
			}
			eo.Users = users
			eo.Audit = brokerAudit(audits, log)
			// The API records its own publishes with the token's name;
			// another client with the leader's credential (a profile run
			// on the leader, pio run handed to the leader's daemon, pio
			// mqtt) is recorded. (mqttnet.Dial adds "-<random>" to the
			// client ID.)
			own := opts.Config.MQTT.Username
			eo.AuditSkip = func(cred, clientID string) bool {
				return cred == own && strings.HasPrefix(clientID, apiClientID+"-")
			}
		}
		if f := c.Security.TLSCertFile; f != "" && c.Security.MQTTUseTLS {
			if eo.TLS, err = auth.ServerTLS(f, c.Security.TLSKeyFile); err != nil {
				return fmt.Errorf("leader: %w", err)
			}
		}
		b, err := mqttnet.StartEmbeddedWith(listen, log, eo)
		if err != nil {
			return fmt.Errorf("leader: %w", err)
		}
		defer b.Close()
		embedded = b
		brokerAddr = dialable(b.Addr())
	}

	po := pubsub.Options{Username: opts.Config.MQTT.Username, Password: opts.Config.MQTT.Password}
	if c.Security.MQTTUseTLS {
		if po.TLS, err = auth.ClientTLS(c.Security.TLSCAFile); err != nil {
			return fmt.Errorf("leader: %w", err)
		}
	}
	dial := func(id string) (pubsub.Client, error) {
		o := po
		o.ClientID = id
		return mqttnet.Dial(brokerAddr, o, 5*time.Second)
	}
	// The stream takes the embedded broker's messages in-process, holding
	// back a unit that publishes faster than SQLite takes rows (mochi would
	// drop them for a network client); an external broker queues them
	// itself (docs/leader-store.md).
	// The stream also confirms the units' dosing events once stored, and
	// announces itself with a retained $state (ready; lost by its will):
	// the units keep each event until it has confirmed it, and publish
	// again what it missed when it is ready again (docs/design.md).
	streamUnit := c.LeaderHostname
	if streamUnit == "" {
		streamUnit = opts.Unit
	}
	var confirmer atomic.Pointer[dbstream.Confirmer]
	var streamClient pubsub.Client
	if embedded != nil {
		streamClient = embedded.Local(fmt.Sprintf("pio-leader-db-%d", os.Getpid()))
	} else {
		o := po
		o.ClientID = fmt.Sprintf("pio-leader-db-%d", os.Getpid())
		o.Will = dbstream.StreamWill(streamUnit)
		o.OnReconnect = func() { // called once the stream has subscribed again
			if cf := confirmer.Load(); cf != nil {
				if err := cf.Ready(); err != nil {
					log.Warn("leader: the stream's $state was not published", "err", err)
				}
			}
		}
		if streamClient, err = mqttnet.Dial(brokerAddr, o, 5*time.Second); err != nil {
			return fmt.Errorf("leader: broker %s: %w", brokerAddr, err)
		}
	}
	defer streamClient.Close()
	confirm := dbstream.NewConfirmer(streamClient, streamUnit, log)
	defer confirm.Close()
	stream, err := dbstream.Start(db, streamClient, dbstream.Options{Log: log, OnCommitted: confirm.Committed})
	if err != nil {
		return fmt.Errorf("leader: %w", err)
	}
	defer stream.Close()
	confirmer.Store(confirm)
	if err := confirm.Ready(); err != nil {
		return fmt.Errorf("leader: publish the stream's $state: %w", err)
	}

	apiClient, err := dial(apiClientID)
	if err != nil {
		return fmt.Errorf("leader: broker %s: %w", brokerAddr, err)
	}
	defer apiClient.Close()
	api, err := leaderapi.New(leaderapi.Options{
		DB: db, Client: apiClient, Dispatcher: cluster.NewRequester(apiClient, c.RequestTimeout),
		Tokens: tokens, Log: log, Leader: opts.Unit, ExportDir: filepath.Join(opts.Home, "exports"),
		DispatchTimeout: c.RequestTimeout + 5*time.Second,
	})
	if err != nil {
		return fmt.Errorf("leader: %w", err)
	}
	defer api.Close()
	// MQTT-origin actions, queued by the broker's hook, go to the audit
	// trail until the API closes (the channel is never closed: the broker
	// may still report while it shuts down).
	auditDone := make(chan struct{})
	go func() {
		for {
			select {
			case e := <-audits:
				if err := api.Audit(e); err != nil {
					log.Error("leader audit", "err", err)
				}
			case <-auditDone:
				return
			}
		}
	}()
	defer close(auditDone)

	// The API.
	listen := opts.Listen
	if listen == "" {
		listen = c.Listen()
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("leader: API: listen on %s ([cluster.leader] api_listen or [ui] port): %w", listen, err)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Minute}
	proto := "http"
	served := make(chan error, 1)
	if c.Security.TLSCertFile != "" {
		proto = "https"
		go func() { served <- srv.ServeTLS(ln, c.Security.TLSCertFile, c.Security.TLSKeyFile) }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	if opts.Ready != nil {
		opts.Ready(proto+"://"+dialable(ln.Addr().String()), brokerAddr)
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("leader: API: %w", err)
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

// dialable turns a listening address into one to dial: an unspecified host
// becomes 127.0.0.1.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// brokerAudit is the embedded broker's audit hook: it queues the entry of
// each publish the broker reports (the queue's reader writes it).
func brokerAudit(q chan<- leaderapi.AuditEntry, log *slog.Logger) func(cred, topic string, payload []byte) {
	return func(cred, topic string, payload []byte) {
		select {
		case q <- mqttAudit(cred, topic, payload):
		default:
			log.Warn("leader audit queue full: an MQTT action was not recorded", "credential", cred, "topic", topic)
		}
	}
}

// mqttAudit is the audit entry of an MQTT publish the broker reports: a
// setting's /set (its job, setting and value) or a daemon request (its
// argv and a script's checksum).
func mqttAudit(cred, topic string, payload []byte) leaderapi.AuditEntry {
	e := leaderapi.AuditEntry{Credential: "mqtt:" + cred, Action: "mqtt", Detail: topic + " " + truncate(string(payload), 500)}
	lv := strings.Split(topic, "/")
	if len(lv) >= 3 {
		e.Unit, e.Experiment = lv[1], lv[2]
	}
	switch {
	case strings.HasSuffix(topic, "/daemon/request"):
		var req cluster.Request
		if err := jsonUnmarshal(payload, &req); err == nil {
			e.Action, e.Detail, e.Experiment = "request", strings.Join(req.Argv, " "), req.Experiment
			if len(req.Argv) > 1 {
				e.Job = req.Argv[1]
			}
			if req.Script != nil {
				e.SHA256 = cluster.Checksum(req.Script.Content)
			}
		}
	case strings.HasSuffix(topic, "/set") && len(lv) >= 6:
		e.Job = lv[3]
		e.Action = "update"
		if lv[4] == "$state" {
			e.Action = string(payload) // sleeping, ready, disconnected
		}
		e.Detail = lv[4] + "=" + truncate(string(payload), 500)
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
