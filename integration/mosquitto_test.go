package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/auth"
)

// mosquitto is a real broker on a fixed loopback port, with pio's users and
// topic rules, that the test can stop and start again on the same port.
type mosquitto struct {
	lab  *lab
	port int
	conf string
	p    *proc
}

// brokerUser is one MQTT user of the lab.
type brokerUser struct {
	name, password string
	role           auth.Role
}

// newMosquitto writes the broker's configuration (its password file and ACL
// made from users, as docs/cluster-security.md does) and starts it on a
// free port.
func newMosquitto(l *lab, users []brokerUser) *mosquitto {
	t := l.t
	t.Helper()
	dir := t.TempDir()
	var usersText, passwd strings.Builder
	for _, u := range users {
		fmt.Fprintf(&usersText, "%s %s %s\n", u.name, auth.HashPassword(u.password), u.role)
		line, err := auth.MosquittoPasswd(u.name, u.password)
		if err != nil {
			t.Fatal(err)
		}
		passwd.WriteString(line + "\n")
	}
	parsed, err := auth.ParseUsers(strings.NewReader(usersText.String()), "the test's users")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "passwd"), passwd.String(), 0o600)
	writeFile(t, filepath.Join(dir, "acl"), auth.MosquittoACL(parsed), 0o600)

	m := &mosquitto{lab: l, conf: filepath.Join(dir, "mosquitto.conf")}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ { // another process may take the free port first
		m.port = freePort(t)
		var b strings.Builder
		fmt.Fprintf(&b, "listener %d 127.0.0.1\n", m.port)
		// No persistence, as Mosquitto's default: a restart forgets the
		// sessions and the retained messages. No queue limit: the leader's
		// stream must never be dropped a message.
		b.WriteString("persistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nlog_timestamp_format %H:%M:%S\n")
		b.WriteString("max_queued_messages 0\nmax_inflight_messages 1000\n")
		fmt.Fprintf(&b, "allow_anonymous false\npassword_file %s\nacl_file %s\n",
			filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"))
		if os.Geteuid() == 0 {
			// Started as root, Mosquitto reads its files as the mosquitto
			// user, who may not enter the test's temporary directory.
			b.WriteString("user root\n")
		}
		writeFile(t, m.conf, b.String(), 0o644)
		if lastErr = m.start(); lastErr == nil {
			return m
		}
	}
	t.Fatalf("mosquitto: %v", lastErr)
	return nil
}

func (m *mosquitto) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// start starts the broker and waits until its port accepts connections.
func (m *mosquitto) start() error {
	m.p = m.lab.start("mosquitto", os.Environ(), mosquittoPath, "-c", m.conf)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m.p.exited() {
			return fmt.Errorf("exited at start (%v): %s", m.p.cmd.ProcessState, m.p.readLog())
		}
		// "running" is logged once the listener is bound: until then the
		// port may be someone else's.
		if strings.Contains(m.p.readLog(), " running") {
			if c, err := net.DialTimeout("tcp", m.addr(), 200*time.Millisecond); err == nil {
				c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			m.p.kill(m.lab.t)
			return fmt.Errorf("port %d did not accept connections within 10 s: %s", m.port, m.p.readLog())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// restart stops the broker with SIGTERM and starts it again on its port.
func (m *mosquitto) restart(t *testing.T) {
	t.Helper()
	m.p.stop(t, 10*time.Second)
	if err := m.start(); err != nil {
		t.Fatalf("mosquitto did not start again on port %d: %v", m.port, err)
	}
}
