package simulate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/piolab/pio/runtime"
)

// console writes the unit's log records and the progress line of a
// simulation. Log lines carry the virtual time elapsed since the start, not
// the wall clock, so the same seed prints the same lines:
//
//	2h05m00s  INFO     dosing_automation: added 1.0 mL
//
// The progress line is redrawn in place (a carriage return, no newline); a
// log line first clears it, so the two can share a terminal.
type console struct {
	now      func() time.Duration // virtual time since the start
	log      io.Writer            // nil: no log lines
	level    slog.Level
	progress io.Writer // nil: no progress line

	mu    sync.Mutex
	shown bool // the progress line is on the screen
	buf   []byte
}

// progressWidth is the width the progress line is cleared to.
const progressWidth = 72

// Progress redraws the progress line.
func (c *console) Progress(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.progress, "\r%-*s", progressWidth, line)
	c.shown = true
}

// ClearProgress removes the progress line, if it is shown.
func (c *console) ClearProgress() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *console) clearLocked() {
	if c.shown {
		fmt.Fprintf(c.progress, "\r%s\r", strings.Repeat(" ", progressWidth))
		c.shown = false
	}
}

// handler is the slog.Handler of the unit's console (runtime.Env.Console).
type handler struct {
	c     *console
	attrs []slog.Attr
}

// Enabled implements slog.Handler.
func (h handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.c.level }

// WithAttrs implements slog.Handler.
func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	return handler{c: h.c, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup implements slog.Handler; groups are not shown.
func (h handler) WithGroup(string) slog.Handler { return h }

// Handle implements slog.Handler: one line per record, with the virtual time,
// the level, the job and the message, then any attributes but the unit and
// the experiment (the same on every line of a simulation).
func (h handler) Handle(_ context.Context, r slog.Record) error {
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
	job := ""
	var extra []slog.Attr
	add := func(a slog.Attr) bool {
		switch a.Key {
		case "job":
			job = a.Value.String()
		case "unit", "experiment":
		default:
			extra = append(extra, a)
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b := append(c.buf[:0], "  "...)
	b = append(b, Elapsed(c.now())...)
	b = append(b, "  "...)
	b = append(b, fmt.Sprintf("%-7s  ", LevelName(r.Level))...)
	if job != "" {
		b = append(b, job...)
		b = append(b, ": "...)
	}
	b = append(b, r.Message...)
	for _, a := range extra {
		b = append(b, ' ')
		b = append(b, a.Key...)
		b = append(b, '=')
		if v := a.Value.String(); strings.ContainsAny(v, " \"=") {
			b = append(b, fmt.Sprintf("%q", v)...)
		} else {
			b = append(b, v...)
		}
	}
	b = append(b, '\n')
	c.buf = b
	_, err := c.log.Write(b)
	return err
}

// LevelName is upstream's name of a level (DEBUG, INFO, NOTICE, WARNING,
// ERROR), as pio simulate prints it.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < runtime.LevelNotice:
		return "INFO"
	case l < slog.LevelWarn:
		return "NOTICE"
	case l < slog.LevelError:
		return "WARNING"
	}
	return "ERROR"
}

// Elapsed formats virtual time since the start of a simulation with fixed
// fields, so that log lines align: "  0h00m02s", " 26h05m00s", and from 1,000
// hours on, wider. Fractions of a second are cut, not rounded: a line never
// shows a time later than its own.
func Elapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%3dh%02dm%02ds", s/3600, s/60%60, s%60)
}
