// Package dbstream is the leader's MQTT-to-database stream, upstream's
// mqtt_to_db_streaming: it subscribes to the topics upstream stores, turns
// each message into a row of upstream's tables (Schema) and writes the rows
// to SQLite (modernc.org/sqlite, pure Go, WAL) in transactions bounded in
// size and in time, through one writer.
//
// A message is counted once as received when its handler sees it, and ends
// as exactly one of stored, rejected (a payload that cannot be stored: one
// WARN line naming the topic and the reason), ignored (a retained copy, an
// empty payload, a /_testing_ topic) or duplicate (a replayed dosing event,
// DosingEventIDs). The handler only parses and queues, so
// it never waits for the database, only for room in a bounded queue (the
// backpressure a publisher feels); Close flushes every queued row.
package dbstream

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/piolab/pio/pubsub"
)

// Open opens (creating if needed) the SQLite database at path with WAL,
// synchronous=NORMAL, a busy timeout and one connection (one writer), and
// creates the stream's tables (Schema) and upstream's triggers (Triggers),
// and adds pio's dosing_events.event_id to a database that lacks it
// (DosingEventIDs).
func Open(path string) (*sql.DB, error) { return open(path, Schema+Triggers) }

// open is Open with the statements that create the tables (benchmarks
// measure the triggers' cost by leaving them out).
func open(path, schema string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_pragma=wal_autocheckpoint(16384)&_pragma=foreign_keys(0)")
	if err != nil {
		return nil, fmt.Errorf("dbstream: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("dbstream: create tables in %s: %w", path, err)
	}
	if err := migrateDosingEventIDs(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("dbstream: %s: %w", path, err)
	}
	return db, nil
}

// Options configure a Stream. Zero values take the defaults.
type Options struct {
	// BatchRows is the most rows in one transaction (default 1000).
	BatchRows int
	// BatchDelay is the longest a row waits for its transaction (default
	// 20 ms; upstream's is 100 ms).
	BatchDelay time.Duration
	// MaxQueued bounds the rows waiting for the writer (default 20,000, 20
	// full batches). A handler that finds the queue full waits for the
	// writer to take a batch: with mqttnet's Local client, that holds back
	// the publishing connection (backpressure instead of loss); with a
	// network client, the client's own queue grows instead. Close releases
	// every waiting handler.
	MaxQueued int
	// QoS of the subscriptions (default 1; upstream subscribes with 2).
	QoS byte
	// Log gets a WARN line per rejected message and per failed commit.
	Log *slog.Logger
	// Now is the leader's clock, for the rows upstream stamps with it.
	Now func() time.Time
	// OnCommit, if set, is called by the writer after each commit with the
	// rows it stored (benchmarks measure delay with it).
	OnCommit func(rows []Row, at time.Time)
	// OnCommitted, if set, is called by the writer after each commit with
	// the rows the database holds (Held: stored now, or before), not the
	// ones it refused; the slice is reused after the call. The leader
	// confirms dosing events with it (Confirmer).
	OnCommitted func(held []Held)
	// StatsEvery is how often a stats line is logged at INFO (default 60 s,
	// as upstream's inserts_in_last_60s; negative: never).
	StatsEvery time.Duration
	// After is the clock the stats line waits on (default time.After).
	After func(time.Duration) <-chan time.Time
}

// Stats are a Stream's counts. After Close, Received = Stored + Rejected +
// Ignored + Duplicate.
type Stats struct {
	Received, Stored, Rejected, Ignored int64
	// Duplicate counts the replays of a dosing event already stored (same
	// unit, same event id; DosingEventIDs).
	Duplicate int64
}

// Stream is a running MQTT-to-SQLite stream.
type Stream struct {
	db      *sql.DB
	client  pubsub.Client
	opts    Options
	filters []string
	stmts   map[*table]*sql.Stmt
	held    []Held // the rows of the writer's commit the database holds (OnCommitted)

	mu      sync.Mutex
	room    sync.Cond // signalled when the writer takes rows or Close begins
	queue   []Row
	closing bool
	exited  bool          // the writer has taken its last rows
	wake    chan struct{} // a row was queued (capacity 1)
	done    chan struct{} // closed when the writer has flushed and ended

	received, stored, rejected, ignored, duplicate atomic.Int64
}

// Start subscribes client to every topic the stream stores and starts the
// writer.
func Start(db *sql.DB, client pubsub.Client, opts Options) (*Stream, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 1000
	}
	if opts.BatchDelay <= 0 {
		opts.BatchDelay = 20 * time.Millisecond
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 20000
	}
	opts.MaxQueued = max(opts.MaxQueued, opts.BatchRows)
	if opts.QoS == 0 {
		opts.QoS = 1
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StatsEvery == 0 {
		opts.StatsEvery = time.Minute
	}
	if opts.After == nil {
		opts.After = time.After
	}
	s := &Stream{db: db, client: client, opts: opts, stmts: map[*table]*sql.Stmt{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.room.L = &s.mu
	for _, t := range tables {
		st, err := db.Prepare(t.insertSQL())
		if err != nil {
			s.closeStmts()
			return nil, fmt.Errorf("dbstream: %w", err)
		}
		s.stmts[t] = st
	}
	go s.write()
	if opts.StatsEvery > 0 {
		go s.logStats()
	}
	for _, f := range Filters() {
		if err := client.Subscribe(f, opts.QoS, s.handle); err != nil {
			s.Close()
			return nil, fmt.Errorf("dbstream: subscribe %s: %w", f, err)
		}
		s.filters = append(s.filters, f)
	}
	return s, nil
}

// handle parses one message and queues its row. It never waits for the
// database, only, while MaxQueued rows are waiting, for the writer to take
// some (or for Close). Handlers may run concurrently.
func (s *Stream) handle(m pubsub.Message) {
	s.received.Add(1)
	if m.Retained {
		s.ignored.Add(1) // upstream ignores retained messages
		return
	}
	row, err := Parse(m.Topic, m.Payload, s.opts.Now())
	if err != nil {
		if Ignored(err) {
			s.ignored.Add(1)
			return
		}
		s.rejected.Add(1)
		s.opts.Log.Warn("dbstream: rejected a message", "topic", m.Topic, "reason", err.Error())
		return
	}
	s.mu.Lock()
	for len(s.queue) >= s.opts.MaxQueued && !s.closing {
		s.room.Wait()
	}
	if s.exited {
		s.mu.Unlock()
		s.rejected.Add(1)
		s.opts.Log.Warn("dbstream: rejected a message", "topic", m.Topic, "reason", "arrived after Close")
		return
	}
	s.queue = append(s.queue, row)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns up to n queued rows, and whether the stream is closing.
func (s *Stream) take(n int) ([]Row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > len(s.queue) {
		n = len(s.queue)
	}
	rows := make([]Row, n)
	copy(rows, s.queue)
	s.queue = s.queue[n:]
	if n > 0 {
		s.room.Broadcast()
	}
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
		if s.closing && n == 0 {
			s.exited = true
		}
	}
	return rows, s.closing
}

func (s *Stream) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Stream) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// write is the one writer: it waits for a row, gives the batch up to
// BatchDelay to fill to BatchRows, and commits it.
func (s *Stream) write() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		<-s.wake
		if n := s.queued(); n > 0 && n < s.opts.BatchRows {
			timer.Reset(s.opts.BatchDelay)
		fill:
			for s.queued() < s.opts.BatchRows && !s.isClosing() {
				select {
				case <-timer.C:
					break fill
				case <-s.wake:
				}
			}
			timer.Stop()
		}
		for {
			rows, closing := s.take(s.opts.BatchRows)
			if len(rows) > 0 {
				s.commit(rows)
			}
			if closing && len(rows) == 0 {
				return
			}
			if !closing && len(rows) < s.opts.BatchRows {
				break
			}
		}
	}
}

// commit writes rows in one transaction, retrying until the database takes
// them; a row SQLite refuses (a constraint) is rejected alone.
func (s *Stream) commit(rows []Row) {
	for attempt := 0; ; attempt++ {
		stored, rejected, duplicate, err := s.tryCommit(rows)
		if err == nil {
			s.stored.Add(stored)
			s.rejected.Add(rejected)
			s.duplicate.Add(duplicate)
			if s.opts.OnCommit != nil {
				s.opts.OnCommit(rows, time.Now())
			}
			if s.opts.OnCommitted != nil {
				s.opts.OnCommitted(s.held)
			}
			return
		}
		s.opts.Log.Warn("dbstream: commit failed; retrying", "rows", len(rows), "attempt", attempt+1, "err", err.Error())
		time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, 2*time.Second))
	}
}

func (s *Stream) tryCommit(rows []Row) (stored, rejected, duplicate int64, err error) {
	ctx := context.Background()
	s.held = s.held[:0]
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	// One transaction-bound statement per table and batch, not per row.
	txStmts := make(map[*table]*sql.Stmt, len(tables))
	defer func() {
		for _, st := range txStmts {
			st.Close()
		}
	}()
	for _, r := range rows {
		st := txStmts[r.table]
		if st == nil {
			st = tx.StmtContext(ctx, s.stmts[r.table])
			txStmts[r.table] = st
		}
		res, err := st.ExecContext(ctx, r.Values...)
		if err != nil {
			rejected++
			s.opts.Log.Warn("dbstream: rejected a row", "table", r.table.name, "reason", err.Error())
			continue
		}
		if r.table.conflict != "" {
			if n, err := res.RowsAffected(); err == nil && n == 0 {
				duplicate++ // ON CONFLICT DO NOTHING skipped it
				s.hold(r, true)
				continue
			}
		}
		stored++
		s.hold(r, false)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, 0, err
	}
	return stored, rejected, duplicate, nil
}

// Stats returns the counts so far.
func (s *Stream) Stats() Stats {
	return Stats{Received: s.received.Load(), Stored: s.stored.Load(),
		Rejected: s.rejected.Load(), Ignored: s.ignored.Load(), Duplicate: s.duplicate.Load()}
}

// Queued is the number of rows waiting for the writer.
func (s *Stream) Queued() int { return s.queued() }

// Close unsubscribes, stores every queued row and stops the writer. It does
// not close the client or the database.
func (s *Stream) Close() error {
	var first error
	for _, f := range s.filters {
		if err := s.client.Unsubscribe(f); err != nil && first == nil {
			first = err
		}
	}
	s.mu.Lock()
	already := s.closing
	s.closing = true
	s.room.Broadcast() // handlers waiting for room queue their rows now
	s.mu.Unlock()
	if !already {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	<-s.done
	s.closeStmts()
	return first
}

func (s *Stream) closeStmts() {
	for _, st := range s.stmts {
		st.Close()
	}
}

// logStats logs the counts every StatsEvery until the writer has ended: the
// totals, the rows stored in the last period and the rows waiting.
func (s *Stream) logStats() {
	var last int64
	for {
		select {
		case <-s.done:
			return
		case <-s.opts.After(s.opts.StatsEvery):
		}
		st := s.Stats()
		s.opts.Log.Info("dbstream: stats", "stored_last_period", st.Stored-last, "period", s.opts.StatsEvery.String(),
			"received", st.Received, "stored", st.Stored, "rejected", st.Rejected, "ignored", st.Ignored, "duplicate", st.Duplicate, "queued", s.Queued())
		last = st.Stored
	}
}
