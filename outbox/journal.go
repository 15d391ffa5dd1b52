package outbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/piolab/pio/payload"
)

// A journal is one process's append-only file of dosing events,
// <dir>/<stream>.journal, one JSON object a line:
//
//	{"topic":"pioreactor/u/e/dosing_events","event":{…,"event_id":"…"}}
//	{"done":0}
//
// An event line records an event before it is published; a done line says
// that the event of that index (the count of event lines before it) was
// confirmed by the monitor, and by the leader's stream when there is one. The owning process holds an exclusive flock on the file,
// which the kernel drops however the process ends: a journal nobody holds
// belongs to a process that is gone, and the next process adopts it and
// publishes what was not confirmed. A torn last line (a crash while writing
// it) was never published and is skipped.
type journal struct {
	path    string
	f       *os.File
	n       int   // event lines written
	pending int   // events not confirmed
	size    int64 // bytes in the file
	dirty   bool  // events written since the last sync
}

const journalExt = ".journal"

// compactAt is the size above which a journal with nothing pending is
// emptied.
const compactAt = 1 << 20

// createJournal creates and locks this process's journal.
func createJournal(dir, stream string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	path := filepath.Join(dir, stream+journalExt)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: lock %s: %w", path, err)
	}
	return &journal{path: path, f: f}, nil
}

// recorded is an event read back from a journal.
type recorded struct {
	index int
	topic string
	body  []byte
}

// adoptJournal locks the journal at path if no live process holds it and
// returns the events it holds that were not confirmed. ok is false if a live
// process holds it (or it vanished).
func adoptJournal(path string) (j *journal, events []recorded, ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("outbox: %w", err)
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		f.Close()
		return nil, nil, false, nil
	}
	j = &journal{path: path, f: f}
	events, err = j.read()
	if err != nil {
		j.close(false)
		return nil, nil, false, err
	}
	return j, events, true, nil
}

// read returns the events of the journal not marked done.
func (j *journal) read() ([]recorded, error) {
	if _, err := j.f.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("outbox: %s: %w", j.path, err)
	}
	var all []recorded
	done := map[int]bool{}
	r := bufio.NewReader(j.f)
	for {
		line, err := r.ReadBytes('\n')
		j.size += int64(len(line))
		if err != nil {
			break // EOF; a last line without its newline is torn
		}
		var rec struct {
			Topic string          `json:"topic"`
			Event json.RawMessage `json:"event"`
			Done  *int            `json:"done"`
		}
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		switch {
		case rec.Done != nil:
			done[*rec.Done] = true
		case rec.Topic != "" && len(rec.Event) > 0:
			all = append(all, recorded{index: j.n, topic: rec.Topic, body: bytes.Clone(rec.Event)})
			j.n++
		}
	}
	var open []recorded
	for _, e := range all {
		if !done[e.index] {
			open = append(open, e)
		}
	}
	j.pending = len(open)
	return open, nil
}

// appendEvent records an event and returns its index. It is written at once
// (a process that dies keeps it), and synced by sync before it is published.
func (j *journal) appendEvent(topic string, body []byte) (int, error) {
	if bytes.IndexByte(body, '\n') >= 0 {
		return 0, fmt.Errorf("outbox: dosing event %.80q holds a newline", body)
	}
	line := make([]byte, 0, len(topic)+len(body)+24)
	line = append(line, `{"topic":`...)
	line = payload.AppendJSONString(line, topic)
	line = append(line, `,"event":`...)
	line = append(line, body...)
	line = append(line, "}\n"...)
	if err := j.write(line); err != nil {
		return 0, err
	}
	j.dirty = true
	j.n++
	j.pending++
	return j.n - 1, nil
}

// appendDone marks the event of index confirmed. It is never synced: if it
// is lost, the event is published again and the monitor counts it once.
func (j *journal) appendDone(index int) error {
	j.pending--
	return j.write(fmt.Appendf(nil, "{\"done\":%d}\n", index))
}

func (j *journal) write(line []byte) error {
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("outbox: %s: %w", j.path, err)
	}
	j.size += int64(len(line))
	return nil
}

// takeDirty reports whether events were written since the last call: the
// caller then syncs (the flag is guarded by the outbox's lock, the sync
// itself need not be).
func (j *journal) takeDirty() bool {
	d := j.dirty
	j.dirty = false
	return d
}

// sync makes what was written durable.
func (j *journal) sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("outbox: %s: %w", j.path, err)
	}
	return nil
}

// compact empties a large journal that holds nothing pending.
func (j *journal) compact() error {
	if j.pending > 0 || j.size < compactAt {
		return nil
	}
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("outbox: %s: %w", j.path, err)
	}
	j.n, j.size = 0, 0
	return nil
}

// close releases the journal; remove deletes it first (nothing in it is
// pending), so that no other process adopts it meanwhile.
func (j *journal) close(remove bool) {
	if remove {
		os.Remove(j.path)
	}
	j.f.Close() // drops the lock
}

// journalsIn lists the journals in dir.
func journalsIn(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	var paths []string
	for _, de := range des {
		if !de.IsDir() && strings.HasSuffix(de.Name(), journalExt) {
			paths = append(paths, filepath.Join(dir, de.Name()))
		}
	}
	return paths, nil
}
