package mqttnet

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestBrokerLog: mochi's warning for a connection closed before CONNECT
// (every TCP probe, Reachable) and its start-up chatter are dropped; its
// other warnings get through.
func TestBrokerLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(brokerLog{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}).With("listener", "pio")
	log.Warn("", "error", errors.New("read connection: EOF"))
	log.Info("added hook", "hook", "allow-all-auth")
	if buf.Len() != 0 {
		t.Errorf("logged:\n%s", buf.String())
	}
	log.Warn("client store quota reached", "client", "c1")
	log.Warn("", "error", errors.New("read connection: connection reset by peer"))
	if out := buf.String(); !strings.Contains(out, "client store quota reached") || !strings.Contains(out, "connection reset") {
		t.Errorf("a real warning of the broker was dropped:\n%s", out)
	}
}
