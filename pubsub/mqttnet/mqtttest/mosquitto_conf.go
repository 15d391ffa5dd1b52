package mqtttest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// LeaderQueueConf is the configuration that keeps Mosquitto from dropping
// QoS 1 messages for a subscriber that falls behind (the leader's database
// stream): no limit on the messages queued for a client (the default, 1000,
// drops the rest silently) and a window of 1000 messages in flight to it
// (the default, 20, makes the subscriber wait for the broker).
const LeaderQueueConf = "max_queued_messages 0\nmax_inflight_messages 1000\n"

// StartMosquittoConf is StartMosquitto with lines (mosquitto.conf
// directives, one a line) added to the broker's configuration.
func StartMosquittoConf(t testing.TB, lines string) (addr string) {
	t.Helper()
	if _, err := os.Stat(MosquittoPath); err != nil {
		if onCI() {
			t.Fatalf("mosquitto is not installed (%v); CI must install it (apt-get install mosquitto)", err)
		}
		t.Skipf("mosquitto is not installed (%s): skipping the test against a real broker", MosquittoPath)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ { // another process may take the free port first
		addr, err := startMosquittoConf(t, lines)
		if err == nil {
			return addr
		}
		lastErr = err
	}
	t.Fatalf("mosquitto: %v", lastErr)
	return ""
}

func startMosquittoConf(t testing.TB, lines string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n%s", port, lines)
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
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		select {
		case <-exited:
			return "", fmt.Errorf("exited at start (%v): %s", cmd.ProcessState, out.String())
		default:
		}
		if strings.Contains(out.String(), " running") { // logged once the listener is bound
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("port %d did not accept connections within 10 s: %s", port, out.String())
		}
	}
	t.Cleanup(stop)
	return addr, nil
}
