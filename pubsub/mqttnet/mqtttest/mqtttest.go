// Package mqtttest starts MQTT brokers for tests: the embedded mochi-mqtt
// broker, and a real Mosquitto on a free loopback port. Both stop when the
// test ends.
//
// StartMosquitto needs /usr/sbin/mosquitto (Debian's mosquitto package). If it
// is missing, the test is skipped, unless the environment variable CI is set
// (and not "false" or "0"): on CI a missing Mosquitto fails the test instead
// of silently skipping it.
package mqtttest

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub/mqttnet"
)

// MosquittoPath is where StartMosquitto looks for the broker.
const MosquittoPath = "/usr/sbin/mosquitto"

// StartEmbedded starts the embedded broker on a free loopback port and returns
// its address. It closes when the test ends.
func StartEmbedded(t testing.TB) (addr string) {
	t.Helper()
	b, err := mqttnet.StartEmbedded("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("embedded broker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b.Addr()
}

// onCI reports whether the CI environment variable asks for strict tests.
func onCI() bool {
	v, ok := os.LookupEnv("CI")
	if !ok || v == "" {
		return false
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return true
}

// StartMosquitto starts /usr/sbin/mosquitto listening on a free port of
// 127.0.0.1, anonymous access allowed, and returns its address once the port
// accepts connections. The broker is killed when the test ends. Its own log
// is reported if it fails to start.
func StartMosquitto(t testing.TB) (addr string) {
	t.Helper()
	return StartMosquittoWith(t, MosquittoConfig{})
}

// MosquittoConfig is what StartMosquittoWith adds to the broker's
// configuration.
type MosquittoConfig struct {
	// Passwd is the text of a password_file (auth.MosquittoPasswd lines);
	// set, anonymous clients are refused.
	Passwd string
	// ACL is the text of an acl_file (auth.MosquittoACL).
	ACL string
	// TLS makes the listener speak TLS only, with this certificate.
	TLS *TLSFiles
	// Extra is more mosquitto.conf directives, one a line (LeaderQueueConf).
	Extra string
}

// StartMosquittoWith is StartMosquitto with users, rules or TLS.
func StartMosquittoWith(t testing.TB, c MosquittoConfig) (addr string) {
	t.Helper()
	if _, err := os.Stat(MosquittoPath); err != nil {
		if onCI() {
			t.Fatalf("mosquitto is not installed (%v); CI must install it (apt-get install mosquitto)", err)
		}
		t.Skipf("mosquitto is not installed (%s): skipping the test against a real broker", MosquittoPath)
	}
	var lastErr error
	// The free port is found by listening and closing, so another process
	// may take it first: try a few ports.
	for attempt := 0; attempt < 5; attempt++ {
		addr, err := startMosquitto(t, c)
		if err == nil {
			return addr
		}
		lastErr = err
	}
	t.Fatalf("mosquitto: %v", lastErr)
	return ""
}

// lockedBuffer collects the broker's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startMosquitto(t testing.TB, c MosquittoConfig) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	text, err := mosquittoConf(dir, port, c)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", err
	}
	var out lockedBuffer
	cmd := exec.Command(MosquittoPath, "-c", conf)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return "", fmt.Errorf("exited at start (%v): %s", cmd.ProcessState, out.String())
		default:
		}
		// "running" is logged once the listener is bound: until then the
		// port may belong to someone else, who took it after we closed it.
		if strings.Contains(out.String(), " running") {
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("port %d did not accept connections within 10 s: %s", port, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(stop)
	return addr, nil
}

// mosquittoConf writes the configuration of a broker on port, and the
// files it names into dir.
func mosquittoConf(dir string, port int, c MosquittoConfig) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "per_listener_settings false\nlistener %d 127.0.0.1\n", port)
	if c.TLS != nil {
		fmt.Fprintf(&b, "cafile %s\ncertfile %s\nkeyfile %s\n", c.TLS.CA, c.TLS.Cert, c.TLS.Key)
	}
	b.WriteString("persistence false\nlog_dest stderr\n")
	if os.Geteuid() == 0 {
		// Mosquitto started as root reads its files as the mosquitto
		// user, who may not enter the test's temporary directory.
		b.WriteString("user root\n")
	}
	if c.Passwd == "" {
		b.WriteString("allow_anonymous true\n")
	} else {
		path := filepath.Join(dir, "passwd")
		if err := os.WriteFile(path, []byte(c.Passwd), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "allow_anonymous false\npassword_file %s\n", path)
	}
	if c.ACL != "" {
		path := filepath.Join(dir, "acl")
		if err := os.WriteFile(path, []byte(c.ACL), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "acl_file %s\n", path)
	}
	b.WriteString(c.Extra)
	return b.String(), nil
}

// Broker is a kind of real broker a test can start.
type Broker struct {
	Name  string
	Start func(testing.TB) (addr string)
}

// Brokers are the real brokers integration tests run against: the embedded
// one and Mosquitto.
var Brokers = []Broker{{"embedded", StartEmbedded}, {"mosquitto", StartMosquitto}}
