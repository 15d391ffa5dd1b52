package mqttnet_test

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/piolab/pio/auth"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// The cluster's users in these tests, and their passwords.
var (
	roles     = map[string]auth.Role{"leader": auth.RoleLeader, "worker1": auth.RoleUnit, "worker2": auth.RoleUnit, "viewer": auth.RoleViewer}
	passwords = map[string]string{"leader": "leader-password-0001", "worker1": "worker1-password-0001", "worker2": "worker2-password-0001", "viewer": "viewer-password-0001"}
)

func testUsers(t testing.TB) *auth.Users {
	t.Helper()
	var b strings.Builder
	for name, role := range roles {
		fmt.Fprintf(&b, "%s %s %s\n", name, auth.HashPassword(passwords[name]), role)
	}
	us, err := auth.ParseUsers(strings.NewReader(b.String()), "users")
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// securedBroker starts a broker that knows testUsers, with TLS if files
// is not nil, and returns its address.
type securedBroker struct {
	name  string
	start func(t testing.TB, files *mqtttest.TLSFiles) string
}

var securedBrokers = []securedBroker{
	{"embedded", func(t testing.TB, files *mqtttest.TLSFiles) string {
		return startEmbeddedWith(t, files, nil)
	}},
	{"mosquitto", func(t testing.TB, files *mqtttest.TLSFiles) string {
		users := testUsers(t)
		var passwd strings.Builder
		for _, u := range users.List() {
			line, err := auth.MosquittoPasswd(u.Name, passwords[u.Name])
			if err != nil {
				t.Fatal(err)
			}
			passwd.WriteString(line + "\n")
		}
		return mqtttest.StartMosquittoWith(t, mqtttest.MosquittoConfig{Passwd: passwd.String(), ACL: auth.MosquittoACL(users), TLS: files})
	}},
}

func startEmbeddedWith(t testing.TB, files *mqtttest.TLSFiles, audit func(string, string, []byte)) string {
	t.Helper()
	o := mqttnet.EmbeddedOptions{Users: testUsers(t), Audit: audit}
	if files != nil {
		c, err := auth.ServerTLS(files.Cert, files.Key)
		if err != nil {
			t.Fatal(err)
		}
		o.TLS = c
	}
	b, err := mqttnet.StartEmbeddedWith("127.0.0.1:0", slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.Addr()
}

func dialAs(user string, addr string, mod func(*pubsub.Options)) (pubsub.Client, error) {
	o := pubsub.Options{ClientID: "test-" + user, Username: user, Password: passwords[user]}
	if mod != nil {
		mod(&o)
	}
	return mqttnet.Dial(addr, o, 5*time.Second)
}

func mustDial(t *testing.T, user, addr string, mod func(*pubsub.Options)) pubsub.Client {
	t.Helper()
	c, err := dialAs(user, addr, mod)
	if err != nil {
		t.Fatalf("dial as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder collects the topics a subscription receives.
type recorder struct {
	mu     sync.Mutex
	topics []string
}

func (r *recorder) handle(m pubsub.Message) {
	r.mu.Lock()
	r.topics = append(r.topics, m.Topic)
	r.mu.Unlock()
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.topics)
}

// waitTopic waits, on network delivery, until r has received topic.
func (r *recorder) waitTopic(t *testing.T, topic string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(r.seen(), topic) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never arrived; got %q", topic, r.seen())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// watch subscribes the leader to the whole tree.
func watch(t *testing.T, addr string) *recorder {
	t.Helper()
	r := new(recorder)
	c := mustDial(t, "leader", addr, nil)
	if err := c.Subscribe("pioreactor/#", 1, r.handle); err != nil {
		t.Fatal(err)
	}
	return r
}

// handled returns once the broker has handled everything c sent before:
// a broker handles one connection's packets in order, and a SUBACK comes
// after the SUBSCRIBE.
func handled(t *testing.T, c pubsub.Client) {
	t.Helper()
	if err := c.Subscribe("pioreactor/handled", 0, func(pubsub.Message) {}); err != nil {
		t.Fatalf("handled: %v", err)
	}
}

// checkNoneArrived publishes a marker as the leader, waits for it, and
// fails if any of refused reached the watcher: each was handled by the
// broker before the marker was sent, so it would have arrived first.
func checkNoneArrived(t *testing.T, addr string, r *recorder, refused []string) {
	t.Helper()
	leader := mustDial(t, "leader", addr, nil)
	marker := fmt.Sprintf("pioreactor/leader/marker/%d", time.Now().UnixNano())
	if err := leader.Publish(marker, []byte("m"), 1, false); err != nil {
		t.Fatal(err)
	}
	r.waitTopic(t, marker)
	for _, topic := range r.seen() {
		if slices.Contains(refused, topic) {
			t.Errorf("a refused publish reached a subscriber: %s", topic)
		}
	}
}

// Topics worker1 must never write.
var notWorker1 = []string{
	"pioreactor/worker2/exp/stirring/target_rpm/set",
	"pioreactor/worker2/$experiment/daemon/request",
	"pioreactor/$broadcast/exp/stirring/$state/set",
	"pioreactor/worker10/exp/stirring/target_rpm/set",
	"pioreactor/worker1x/exp/stirring/target_rpm/set",
}

func TestUnitWritesOnlyItsOwnTree(t *testing.T) {
	for _, b := range securedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t, nil)
			r := watch(t, addr)
			w1 := mustDial(t, "worker1", addr, nil)
			for _, topic := range notWorker1 {
				if err := w1.Publish(topic, []byte("1"), 0, false); err != nil {
					t.Fatalf("publish %s at QoS 0: %v", topic, err)
				}
			}
			// Its own tree, its own daemon's request topic included.
			own := "pioreactor/worker1/$experiment/daemon/request"
			if err := w1.Publish(own, []byte("{}"), 1, false); err != nil {
				t.Fatal(err)
			}
			r.waitTopic(t, own)
			checkNoneArrived(t, addr, r, notWorker1)
		})
	}
}

// At QoS 1 mochi closes the connection of an MQTT 3.1.1 client that
// publishes where it may not (the client reconnects by itself); Mosquitto
// acknowledges and drops the message. Either way nobody receives it.
func TestUnitRefusedAtQoS1(t *testing.T) {
	for _, b := range securedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t, nil)
			r := watch(t, addr)
			// mochi's closing the connection leaves paho's publish
			// unanswered until the client's timeout: keep it short.
			o := pubsub.Options{ClientID: "test-worker1", Username: "worker1", Password: passwords["worker1"]}
			w1, err := mqttnet.Dial(addr, o, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer w1.Close()
			topic := "pioreactor/worker2/$experiment/daemon/request"
			err = w1.Publish(topic, []byte("{}"), 1, false)
			if b.name == "embedded" && err == nil {
				t.Errorf("publish %s at QoS 1: no error, want the broker to close the connection", topic)
			}
			t.Logf("publish at QoS 1 where refused: %v", err)
			checkNoneArrived(t, addr, r, []string{topic})
		})
	}
}

func TestViewerCannotWrite(t *testing.T) {
	for _, b := range securedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t, nil)
			r := watch(t, addr)
			v := mustDial(t, "viewer", addr, nil)
			refused := []string{"pioreactor/viewer/x", "pioreactor/worker1/exp/stirring/target_rpm/set"}
			for _, topic := range refused {
				if err := v.Publish(topic, []byte("1"), 0, false); err != nil {
					t.Fatal(err)
				}
			}
			handled(t, v)
			checkNoneArrived(t, addr, r, refused)
			// It reads the whole tree.
			seen := new(recorder)
			if err := v.Subscribe("pioreactor/#", 1, seen.handle); err != nil {
				t.Fatal(err)
			}
			w1 := mustDial(t, "worker1", addr, nil)
			if err := w1.Publish("pioreactor/worker1/exp/od_reading/od1", []byte("0.1"), 1, false); err != nil {
				t.Fatal(err)
			}
			seen.waitTopic(t, "pioreactor/worker1/exp/od_reading/od1")
		})
	}
}

// A unit or a viewer reads nothing outside pioreactor/: the embedded
// broker refuses a subscription to "#"; Mosquitto accepts it and delivers
// only what the rules let the subscriber read.
func TestNothingOutsideTheTreeIsRead(t *testing.T) {
	for _, b := range securedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t, nil)
			leader := mustDial(t, "leader", addr, nil)
			for _, user := range []string{"worker1", "viewer"} {
				c := mustDial(t, user, addr, nil)
				r := new(recorder)
				err := c.Subscribe("#", 0, r.handle)
				if b.name == "embedded" && (err == nil || !strings.Contains(err.Error(), "refused by the broker")) {
					t.Errorf("%s subscribing to #: err = %v, want a refusal", user, err)
				}
				if err := c.Subscribe("pioreactor/leader/#", 0, r.handle); err != nil {
					t.Fatal(err)
				}
				outside := "other/" + user
				marker := "pioreactor/leader/marker/" + user
				for _, topic := range []string{outside, marker} {
					if err := leader.Publish(topic, []byte("x"), 1, false); err != nil {
						t.Fatal(err)
					}
				}
				r.waitTopic(t, marker)
				if slices.Contains(r.seen(), outside) {
					t.Errorf("%s received %s", user, outside)
				}
			}
		})
	}
}

func TestBadCredentialsRefusedAtConnect(t *testing.T) {
	for _, b := range securedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t, nil)
			for _, tc := range []struct {
				name string
				mod  func(*pubsub.Options)
				want string
			}{
				{"wrong password", func(o *pubsub.Options) { o.Password = passwords["worker2"] }, `as user "worker1": the broker refused the user name or password`},
				{"unknown user", func(o *pubsub.Options) { o.Username = "worker3" }, `as user "worker3": the broker refused`},
				{"anonymous", func(o *pubsub.Options) { o.Username, o.Password = "", "" }, `anonymously (no user name): the broker refused`},
			} {
				c, err := dialAs("worker1", addr, tc.mod)
				if err == nil {
					c.Close()
					t.Errorf("%s: connected", tc.name)
					continue
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
				}
			}
		})
	}
}

// A last will is published by the broker on the client's behalf, so a will
// under another unit's tree would bypass the rules: the embedded broker
// refuses the connection; Mosquitto accepts it and checks the will when it
// fires. Either way nobody receives it.
func TestWillOutsideOwnTreeRefused(t *testing.T) {
	for _, b := range securedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t, nil)
			r := watch(t, addr)
			topic := "pioreactor/worker2/exp/stirring/$state"
			code := connectWithWillAndDrop(t, addr, "worker1", topic)
			if b.name == "embedded" && code == 0 {
				t.Errorf("CONNACK code 0, want a refusal")
			}
			t.Logf("CONNACK code %d", code)
			// The same with its own will is accepted, and the will fires.
			own := "pioreactor/worker1/exp/stirring/$state"
			if code := connectWithWillAndDrop(t, addr, "worker1", own); code != 0 {
				t.Fatalf("own will: CONNACK code %d, want 0", code)
			}
			r.waitTopic(t, own)
			checkNoneArrived(t, addr, r, []string{topic})
		})
	}
}

// connectWithWillAndDrop connects as user with a last will on topic over a
// raw connection, then drops the connection without DISCONNECT, so that
// the broker fires the will if it accepted it. It returns the CONNACK's
// return code.
func connectWithWillAndDrop(t *testing.T, addr, user, topic string) byte {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.CleanSession = true
	cp.ClientIdentifier = fmt.Sprintf("raw-%s-%d", user, time.Now().UnixNano())
	cp.Keepalive = 30
	cp.UsernameFlag, cp.Username = true, user
	cp.PasswordFlag, cp.Password = true, []byte(passwords[user])
	cp.WillFlag, cp.WillTopic, cp.WillMessage, cp.WillQos = true, topic, []byte("lost"), 1
	if err := cp.Write(conn); err != nil {
		t.Fatal(err)
	}
	p, err := packets.ReadPacket(conn)
	if err != nil {
		return 0xff // closed without a CONNACK: refused too
	}
	ack, ok := p.(*packets.ConnackPacket)
	if !ok {
		t.Fatalf("got %v, want a CONNACK", p)
	}
	return ack.ReturnCode
}

func TestAuditRecordsAcceptedCommands(t *testing.T) {
	type entry struct{ cred, topic, payload string }
	var mu sync.Mutex
	var got []entry
	addr := startEmbeddedWith(t, nil, func(cred, topic string, payload []byte) {
		mu.Lock()
		got = append(got, entry{cred, topic, string(payload)})
		mu.Unlock()
	})
	w1 := mustDial(t, "worker1", addr, nil)
	leader := mustDial(t, "leader", addr, nil)
	steps := []struct {
		c     pubsub.Client
		topic string
		qos   byte
	}{
		{w1, "pioreactor/worker2/exp/stirring/target_rpm/set", 0}, // refused
		{w1, "pioreactor/worker1/exp/stirring/target_rpm/set", 1},
		{w1, "pioreactor/worker1/exp/stirring/target_rpm", 1}, // not a command
		{leader, "pioreactor/worker2/$experiment/daemon/request", 1},
	}
	for _, s := range steps {
		if err := s.c.Publish(s.topic, []byte("p"), s.qos, false); err != nil {
			t.Fatal(err)
		}
	}
	// The broker calls Audit after it acknowledged the publish: wait for
	// what is expected, then check nothing else came (a refused publish
	// would have come first).
	want := []entry{
		{"worker1", "pioreactor/worker1/exp/stirring/target_rpm/set", "p"},
		{"leader", "pioreactor/worker2/$experiment/daemon/request", "p"},
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	handled(t, w1)
	handled(t, leader)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("audit = %q, want %q", got, want)
	}
}

func TestAudited(t *testing.T) {
	for topic, want := range map[string]bool{
		"pioreactor/w1/exp/stirring/target_rpm/set":     true,
		"pioreactor/w1/exp/stirring/$state/set":         true,
		"pioreactor/$broadcast/exp/stirring/$state/set": true,
		"pioreactor/w1/$experiment/daemon/request":      true,
		"pioreactor/w1/$experiment/daemon/reply/7":      false,
		"pioreactor/w1/exp/stirring/target_rpm":         false,
		"pioreactor/w1/exp/x/daemon/request/extra":      false,
	} {
		if got := mqttnet.Audited(topic); got != want {
			t.Errorf("Audited(%q) = %v, want %v", topic, got, want)
		}
	}
}

func TestTLS(t *testing.T) {
	for _, b := range securedBrokers {
		t.Run(b.name, func(t *testing.T) {
			files := mqtttest.NewTLSFiles(t)
			addr := b.start(t, &files)
			trusting, err := auth.ClientTLS(files.CA)
			if err != nil {
				t.Fatal(err)
			}
			withTLS := func(c *tls.Config) func(*pubsub.Options) {
				return func(o *pubsub.Options) { o.TLS = c }
			}
			// A round trip over TLS.
			r := new(recorder)
			sub := mustDial(t, "leader", addr, withTLS(trusting))
			if err := sub.Subscribe("pioreactor/#", 1, r.handle); err != nil {
				t.Fatal(err)
			}
			w1 := mustDial(t, "worker1", addr, withTLS(trusting))
			if err := w1.Publish("pioreactor/worker1/exp/od_reading/od1", []byte("0.1"), 1, false); err != nil {
				t.Fatal(err)
			}
			r.waitTopic(t, "pioreactor/worker1/exp/od_reading/od1")

			other := mqtttest.NewTLSFiles(t)
			otherCA, err := auth.ClientTLS(other.CA)
			if err != nil {
				t.Fatal(err)
			}
			system, _ := auth.ClientTLS("")
			for _, tc := range []struct {
				name string
				mod  func(*pubsub.Options)
				want string
			}{
				{"another CA", withTLS(otherCA), "certificate signed by unknown authority"},
				{"system roots", withTLS(system), "certificate signed by unknown authority"},
				{"no TLS", nil, "mqtt: connect to " + addr},
			} {
				c, err := dialAs("worker1", addr, tc.mod)
				if err == nil {
					c.Close()
					t.Errorf("%s: connected", tc.name)
					continue
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
				}
				t.Logf("%s: %v", tc.name, err)
			}
		})
	}
}

// AuditSkip leaves out the publishes of the client it names (by credential
// and client ID), and only those.
func TestAuditSkip(t *testing.T) {
	var mu sync.Mutex
	var got []string
	o := mqttnet.EmbeddedOptions{Users: testUsers(t),
		Audit: func(cred, topic string, _ []byte) {
			mu.Lock()
			got = append(got, cred+" "+topic)
			mu.Unlock()
		},
		// Dial adds a random suffix to the client ID.
		AuditSkip: func(cred, clientID string) bool { return cred == "leader" && strings.HasPrefix(clientID, "api-") },
	}
	b, err := mqttnet.StartEmbeddedWith("127.0.0.1:0", slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	api := mustDial(t, "leader", b.Addr(), func(o *pubsub.Options) { o.ClientID = "api" })
	other := mustDial(t, "leader", b.Addr(), func(o *pubsub.Options) { o.ClientID = "profile" })
	api.Publish("pioreactor/worker1/exp/stirring/target_rpm/set", []byte("1"), 1, false)
	other.Publish("pioreactor/worker1/exp/stirring/target_rpm/set", []byte("2"), 1, false)
	want := []string{"leader pioreactor/worker1/exp/stirring/target_rpm/set"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	handled(t, api) // the api's publish came first: it would be in by now
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("audit = %q, want %q", got, want)
	}
}
