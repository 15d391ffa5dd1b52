package dbstream

import (
	"database/sql"
	"fmt"
)

// DosingEventIDs is pio's extension of upstream's dosing_events: the id a
// unit's outbox gives each dosing event (package outbox), NULL for an event
// without one, and a unique index on the unit and the id. The outbox
// publishes an event at least once (again after a reconnect, or while the
// monitor has not confirmed it), so the stream inserts dosing events with
// ON CONFLICT DO NOTHING: a replay stores nothing (no row, and no second
// add_media_ml in pioreactor_unit_activity_data, whose trigger runs only on
// a stored row) and is counted as a duplicate. Events without an id (NULLs
// never conflict) are stored as upstream stores them. Upstream's columns
// are unchanged; migrateDosingEventIDs adds the column to a database made
// before it.
const DosingEventIDs = `
CREATE UNIQUE INDEX IF NOT EXISTS dosing_events_event_id_ux ON dosing_events (pioreactor_unit, event_id);
`

// migrateDosingEventIDs adds dosing_events.event_id when the table lacks it,
// then creates its index.
func migrateDosingEventIDs(db *sql.DB) error {
	rows, err := db.Query("SELECT name FROM pragma_table_info('dosing_events')")
	if err != nil {
		return fmt.Errorf("read the columns of dosing_events: %w", err)
	}
	has := false
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("read the columns of dosing_events: %w", err)
		}
		has = has || name == "event_id"
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the columns of dosing_events: %w", err)
	}
	if !has {
		if _, err := db.Exec("ALTER TABLE dosing_events ADD COLUMN event_id TEXT"); err != nil {
			return fmt.Errorf("add dosing_events.event_id: %w", err)
		}
	}
	if _, err := db.Exec(DosingEventIDs); err != nil {
		return fmt.Errorf("index dosing_events.event_id: %w", err)
	}
	return nil
}
