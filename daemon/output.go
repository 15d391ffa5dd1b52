package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// replyWriter collects what a command prints until its reply is sent
// (detach); after that, each line goes to the daemon's console instead,
// tagged with the job.
type replyWriter struct {
	log *slog.Logger
	job string

	mu       sync.Mutex
	buf      bytes.Buffer
	detached bool
}

func (w *replyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.detached {
		return w.buf.Write(p)
	}
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			w.log.Info(line, "job", w.job)
		}
	}
	return len(p), nil
}

// detach returns what was printed so far; later output goes to the log.
func (w *replyWriter) detach() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.detached = true
	s := w.buf.String()
	w.buf.Reset()
	return s
}
