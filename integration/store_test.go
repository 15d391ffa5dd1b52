package integration

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

// journaled is a dosing event as a unit's outbox journal recorded it.
type journaled struct {
	unit, experiment string
	id               string
	event            string
	volume           float64
	at               time.Time
	done             bool // the monitor confirmed it
	topic            string
	body             []byte // the event as published
}

// key is what identifies an event in the leader's dosing_events, which
// keeps no event id: the unit, the experiment, the event and its time.
func (e journaled) key() string {
	return fmt.Sprintf("%s/%s %s %s %g", e.unit, e.experiment, e.at.UTC().Format("2006-01-02T15:04:05.000Z"), e.event, e.volume)
}

// readJournals reads every event of the journals under <home>/outbox (the
// format of package outbox: one JSON object a line, an event or a done
// mark; a torn last line was never published and is skipped).
func readJournals(t *testing.T, home string) []journaled {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(home, "outbox", "*.journal"))
	if err != nil {
		t.Fatal(err)
	}
	var all []journaled
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("journal: %v", err)
		}
		var events []journaled
		done := map[int]bool{}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec struct {
				Topic string          `json:"topic"`
				Event json.RawMessage `json:"event"`
				Done  *int            `json:"done"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			var ev struct {
				VolumeChange float64 `json:"volume_change"`
				Event        string  `json:"event"`
				Timestamp    string  `json:"timestamp"`
				ID           string  `json:"event_id"`
			}
			switch {
			case rec.Done != nil:
				done[*rec.Done] = true
			case len(rec.Event) > 0:
				if err := json.Unmarshal(rec.Event, &ev); err != nil {
					t.Fatalf("%s: an event that is no dosing event: %s", p, rec.Event)
				}
				parts := strings.Split(rec.Topic, "/")
				if len(parts) != 4 || parts[3] != "dosing_events" {
					t.Fatalf("%s: an event on topic %q", p, rec.Topic)
				}
				at, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
				if err != nil {
					t.Fatalf("%s: event %s: %v", p, ev.ID, err)
				}
				events = append(events, journaled{unit: parts[1], experiment: parts[2], id: ev.ID,
					event: ev.Event, volume: ev.VolumeChange, at: at, topic: rec.Topic, body: bytes.Clone(rec.Event)})
			}
		}
		for i := range events {
			events[i].done = done[i]
		}
		all = append(all, events...)
	}
	return all
}

// pending counts the events of the journals the monitor has not confirmed.
func pending(events []journaled) int {
	n := 0
	for _, e := range events {
		if !e.done {
			n++
		}
	}
	return n
}

// openStore opens the leader's database read-only.
func openStore(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storedDosingEvents counts the leader's dosing_events rows by key.
func storedDosingEvents(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT experiment, pioreactor_unit, timestamp, event, volume_change_ml FROM dosing_events`)
	if err != nil {
		t.Fatalf("dosing_events: %v", err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var e journaled
		var stamp string
		if err := rows.Scan(&e.experiment, &e.unit, &stamp, &e.event, &e.volume); err != nil {
			t.Fatal(err)
		}
		if e.at, err = time.Parse(time.RFC3339Nano, stamp); err != nil {
			t.Fatalf("dosing_events: timestamp %q: %v", stamp, err)
		}
		got[e.key()]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// problem is a journaled event the leader did not store exactly once (or a
// stored row no unit journaled: events is then empty).
type problem struct {
	msg    string
	events []journaled
}

// compareDosingEvents reports every journaled event the leader did not
// store exactly once, and every stored row no unit journaled.
func compareDosingEvents(journal []journaled, stored map[string]int) (problems []problem) {
	want := map[string][]journaled{}
	for _, e := range journal {
		want[e.key()] = append(want[e.key()], e)
	}
	for k, es := range want {
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.id
		}
		var msg string
		switch n := stored[k]; {
		case n == 0:
			msg = fmt.Sprintf("lost: event %s (%s) is in the unit's journal but not in dosing_events", strings.Join(ids, ","), k)
		case n > len(es):
			msg = fmt.Sprintf("counted %d times: event %s (%s)", n, strings.Join(ids, ","), k)
		case n < len(es):
			msg = fmt.Sprintf("stored %d times for %d journaled events %s (%s)", n, len(es), strings.Join(ids, ","), k)
		default:
			continue
		}
		problems = append(problems, problem{msg, es})
	}
	for k, n := range stored {
		if _, ok := want[k]; !ok {
			problems = append(problems, problem{msg: fmt.Sprintf("stored %d times but journaled by no unit: %s", n, k)})
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].msg < problems[j].msg })
	return problems
}

func messages(ps []problem) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.msg
	}
	return s
}

// storedLogs counts the leader's logs rows by key (logKey).
func storedLogs(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT experiment, pioreactor_unit, timestamp, message FROM logs`)
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var exp, unit, stamp, msg string
		if err := rows.Scan(&exp, &unit, &stamp, &msg); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			t.Fatalf("logs: timestamp %q: %v", stamp, err)
		}
		got[logKey(unit, exp, at, msg)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func logKey(unit, experiment string, at time.Time, message string) string {
	return fmt.Sprintf("%s/%s %s %q", unit, experiment, at.UTC().Format("2006-01-02T15:04:05.000Z"), message)
}

// probeUnit is the unit name of the test's own log records.
const probeUnit = "cluster-test"

// waitStreamBack publishes a log record as the leader's user every 100 ms
// until the leader's database holds one of them, and returns when the first
// record it holds was published: from then on, the leader's stream is
// subscribed again.
func waitStreamBack(t *testing.T, addr, password, database string, within time.Duration) time.Time {
	t.Helper()
	c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "cluster-test-probe", Username: "leader", Password: password}, 5*time.Second)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	defer c.Close()
	db := openStore(t, database)
	sent := map[string]time.Time{}
	deadline := time.Now().Add(within)
	for i := 1; ; i++ {
		msg := fmt.Sprintf("probe %d", i)
		at := time.Now()
		body := fmt.Sprintf(`{"message":%q,"level":"INFO","task":"cluster_test","source":"cluster_test","timestamp":%q}`,
			msg, at.UTC().Format(time.RFC3339Nano))
		if c.Publish("pioreactor/"+probeUnit+"/exp1/logs/cluster_test/info", []byte(body), 1, false) == nil {
			sent[msg] = at
		}
		time.Sleep(100 * time.Millisecond)
		var first time.Time
		rows, err := db.Query(`SELECT message FROM logs WHERE pioreactor_unit = ?`, probeUnit)
		if err == nil {
			for rows.Next() {
				var m string
				if rows.Scan(&m) == nil {
					if at, ok := sent[m]; ok && (first.IsZero() || at.Before(first)) {
						first = at
					}
				}
			}
			rows.Close()
		}
		if !first.IsZero() {
			return first
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader's stream stored none of the %d log records published within %v of the broker's restart (last query error: %v): it did not subscribe again", len(sent), within, err)
		}
	}
}
