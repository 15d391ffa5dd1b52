package dbstream

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/piolab/pio/pubsub"
)

// publishDosing streams the payloads of dosing events on unit u1,
// experiment e1, into db and returns the stream's counts and the stored
// events (volume, event id).
func publishDosing(t *testing.T, db *sql.DB, payloads ...string) (Stats, []string) {
	t.Helper()
	broker := pubsub.NewMemory()
	s, err := Start(db, broker.Connect(pubsub.Options{ClientID: "leader"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := broker.Connect(pubsub.Options{ClientID: "u1"})
	for _, p := range payloads {
		if err := u.Publish("pioreactor/u1/e1/dosing_events", []byte(p), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT volume_change_ml, COALESCE(event_id, 'NULL') FROM dosing_events ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v float64
		var id string
		if err := rows.Scan(&v, &id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	return s.Stats(), got
}

// addedMedia is what the UI's activity tables say was added in e1.
func addedMedia(t *testing.T, db *sql.DB) (activity, rollup float64) {
	t.Helper()
	if err := db.QueryRow(`SELECT COALESCE(SUM(add_media_ml), 0) FROM pioreactor_unit_activity_data WHERE experiment = 'e1'`).Scan(&activity); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COALESCE(SUM(sum_add_media_ml), 0) FROM pioreactor_unit_activity_data_rollup WHERE experiment = 'e1'`).Scan(&rollup); err != nil {
		t.Fatal(err)
	}
	return activity, rollup
}

const (
	dose1 = `{"volume_change":1.5,"event":"add_media","source_of_event":"chemostat","timestamp":"2026-01-02T03:04:05.123Z","event_id":"0123456789abcdef-1"}`
	dose2 = `{"volume_change":1.5,"event":"add_media","source_of_event":"chemostat","timestamp":"2026-01-02T03:04:05.123Z","event_id":"0123456789abcdef-2"}`
	// Upstream's event: no id.
	doseUpstream = `{"volume_change":1.5,"event":"add_media","source_of_event":"chemostat","timestamp":"2026-01-02T03:05:05.123Z"}`
)

func TestDosingEventStoredOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payloads []string
		ids      []string
		dup      int64
		added    float64 // add_media_ml in the activity table and its rollup
	}{
		{"a replay is a duplicate", []string{dose1, dose1}, []string{"0123456789abcdef-1"}, 1, 1.5},
		{"a replay in a later batch", []string{dose1, dose2, dose1, dose2}, []string{"0123456789abcdef-1", "0123456789abcdef-2"}, 2, 1.5},
		{"two events alike but for their ids", []string{dose1, dose2}, []string{"0123456789abcdef-1", "0123456789abcdef-2"}, 0, 1.5},
		// Two rows; one activity row, as upstream's trigger upserts by timestamp.
		{"events without an id are stored each time", []string{doseUpstream, doseUpstream}, []string{"NULL", "NULL"}, 0, 1.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			st, ids := publishDosing(t, db, tc.payloads...)
			if !reflect.DeepEqual(ids, tc.ids) {
				t.Errorf("stored ids %q, want %q", ids, tc.ids)
			}
			want := Stats{Received: int64(len(tc.payloads)), Stored: int64(len(tc.ids)), Duplicate: tc.dup}
			if st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
			// Events of one timestamp share an activity row (upstream's
			// trigger sets the column, it does not add); the rollup sums the
			// minute's rows.
			if a, r := addedMedia(t, db); a != tc.added || r != tc.added {
				t.Errorf("add_media_ml %v in the activity table, %v in its rollup; want %v", a, r, tc.added)
			}
		})
	}
}

// TestDosingReplayAcrossRestarts: the index holds across streams (a leader
// restart while a unit's outbox replays).
func TestDosingReplayAcrossRestarts(t *testing.T) {
	db := openTemp(t)
	publishDosing(t, db, dose1)
	st, ids := publishDosing(t, db, dose1, dose2)
	if st.Stored != 1 || st.Duplicate != 1 || len(ids) != 2 {
		t.Errorf("stats %+v, ids %q: want dose2 stored and dose1 a duplicate", st, ids)
	}
}

// TestOpenMigratesDosingEvents opens a database made with upstream's
// dosing_events (no event_id): Open adds the column and its index, keeps
// the rows, and is idempotent.
func TestOpenMigratesDosingEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pioreactor.sqlite")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(Schema + Triggers); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO dosing_events (experiment, pioreactor_unit, timestamp, event, volume_change_ml, source_of_event)
		VALUES ('e1', 'u1', '2026-01-01T00:00:00.000Z', 'add_media', 1.0, 'chemostat')`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	for i := 0; i < 2; i++ {
		db, err := Open(path)
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		st, ids := publishDosing(t, db, dose1, dose1)
		db.Close()
		wantIDs := []string{"NULL", "0123456789abcdef-1"}
		if want := (Stats{Received: 2, Stored: 1 - int64(i), Duplicate: 1 + int64(i)}); st != want || !reflect.DeepEqual(ids, wantIDs) {
			t.Errorf("open %d: stats %+v, ids %q; want %+v, %q", i+1, st, ids, want, wantIDs)
		}
	}
}
