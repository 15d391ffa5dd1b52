package mqttnet

import (
	"context"
	"log/slog"
	"strings"
)

// brokerLog is the handler mochi logs through: its warnings and errors
// only (not its start-up chatter: hooks added, listener attached), and not
// the warning of a connection closed before it said CONNECT, which is what
// every TCP probe of the broker (Reachable, a unit looking for its broker
// at start) does.
type brokerLog struct{ slog.Handler }

func (h brokerLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h brokerLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "" && closedBeforeConnect(r) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h brokerLog) WithAttrs(as []slog.Attr) slog.Handler { return brokerLog{h.Handler.WithAttrs(as)} }
func (h brokerLog) WithGroup(g string) slog.Handler       { return brokerLog{h.Handler.WithGroup(g)} }

// closedBeforeConnect reports whether r is mochi's "read connection: EOF"
// for a connection that ended before its first packet.
func closedBeforeConnect(r slog.Record) bool {
	probe := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" && strings.Contains(a.Value.String(), "read connection: EOF") {
			probe = true
			return false
		}
		return true
	})
	return probe
}
