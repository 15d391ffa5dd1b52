package dbstream

import "strings"

// table is one table the stream writes: its name and the columns of its
// INSERT, in the order of Row.Values.
type table struct {
	name    string
	columns []string
}

// The tables the stream writes, with upstream's names and columns.
var (
	odReadings         = table{"od_readings", []string{"experiment", "pioreactor_unit", "timestamp", "od_reading", "angle", "channel"}}
	rawODReadings      = table{"raw_od_readings", []string{"experiment", "pioreactor_unit", "timestamp", "od_reading", "channel"}}
	odReadingsFused    = table{"od_readings_fused", []string{"experiment", "pioreactor_unit", "timestamp", "od_reading"}}
	odReadingsFiltered = table{"od_readings_filtered", []string{"experiment", "pioreactor_unit", "timestamp", "normalized_od_reading"}}
	growthRates        = table{"growth_rates", []string{"experiment", "pioreactor_unit", "timestamp", "rate"}}
	dosingEvents       = table{"dosing_events", []string{"experiment", "pioreactor_unit", "timestamp", "volume_change_ml", "event", "source_of_event"}}
	ledChangeEvents    = table{"led_change_events", []string{"experiment", "pioreactor_unit", "timestamp", "channel", "intensity", "source_of_event"}}
	temperatureReads   = table{"temperature_readings", []string{"experiment", "pioreactor_unit", "timestamp", "temperature_c"}}
	stirringRates      = table{"stirring_rates", []string{"experiment", "pioreactor_unit", "timestamp", "measured_rpm"}}
	altMediaFractions  = table{"alt_media_fractions", []string{"experiment", "pioreactor_unit", "timestamp", "alt_media_fraction"}}
	liquidVolumes      = table{"liquid_volumes", []string{"experiment", "pioreactor_unit", "timestamp", "liquid_volume"}}
	irLEDIntensities   = table{"ir_led_intensities", []string{"experiment", "pioreactor_unit", "timestamp", "relative_intensity"}}
	logs               = table{"logs", []string{"experiment", "pioreactor_unit", "timestamp", "message", "task", "level", "source"}}
)

// tables lists every table the stream inserts into.
var tables = []*table{
	&odReadings, &rawODReadings, &odReadingsFused, &odReadingsFiltered, &growthRates, &dosingEvents,
	&ledChangeEvents, &temperatureReads, &stirringRates, &altMediaFractions, &liquidVolumes,
	&irLEDIntensities, &logs,
}

// insertSQL is the table's INSERT statement.
func (t table) insertSQL() string {
	return "INSERT INTO " + t.name + " (" + strings.Join(t.columns, ", ") + ") VALUES (?" +
		strings.Repeat(", ?", len(t.columns)-1) + ")"
}

// Schema is upstream's create_tables.sql for the tables the stream writes
// (and experiments, which they reference), with upstream's indexes. Foreign
// keys are declared but, as upstream's streamer does, not enforced on the
// stream's connection.
const Schema = `
CREATE TABLE IF NOT EXISTS experiments (
    experiment TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    description TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS experiments_ix ON experiments (created_at, experiment, description);

CREATE TABLE IF NOT EXISTS od_readings (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    od_reading REAL NOT NULL,
    angle INTEGER NOT NULL,
    channel INTEGER CHECK (channel IN (1, 2, 3, 4)) NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS od_readings_ix ON od_readings (experiment, pioreactor_unit, channel, timestamp);

CREATE TABLE IF NOT EXISTS raw_od_readings (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    od_reading REAL NOT NULL,
    channel INTEGER CHECK (channel IN (1, 2, 3, 4)) NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS raw_od_readings_ix ON raw_od_readings (experiment, pioreactor_unit, channel, timestamp);

CREATE TABLE IF NOT EXISTS od_readings_fused (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    od_reading REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS od_readings_fused_ix ON od_readings_fused (experiment, pioreactor_unit, timestamp);

CREATE TABLE IF NOT EXISTS alt_media_fractions (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    alt_media_fraction REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS alt_media_fractions_ix ON alt_media_fractions (experiment);

CREATE TABLE IF NOT EXISTS liquid_volumes (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    liquid_volume REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS liquid_volumes_ix ON liquid_volumes (experiment);

CREATE TABLE IF NOT EXISTS od_readings_filtered (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    normalized_od_reading REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS od_readings_filtered_ix ON od_readings_filtered (experiment, pioreactor_unit, timestamp);

CREATE TABLE IF NOT EXISTS dosing_events (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    event TEXT NOT NULL,
    volume_change_ml REAL NOT NULL,
    source_of_event TEXT,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS dosing_events_ix ON dosing_events (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS led_change_events (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    channel TEXT CHECK (channel IN ('A', 'B', 'C', 'D')) NOT NULL,
    intensity REAL NOT NULL,
    source_of_event TEXT,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS led_change_events_ix ON led_change_events (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS growth_rates (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    rate REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS growth_rates_ix ON growth_rates (experiment, pioreactor_unit, timestamp);

CREATE TABLE IF NOT EXISTS logs (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    message TEXT NOT NULL,
    source TEXT NOT NULL,
    level TEXT,
    task TEXT,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS logs_exp_timestamp_ix ON logs (experiment, timestamp DESC);
CREATE INDEX IF NOT EXISTS logs_exp_level_timestamp_ix ON logs (experiment, level, timestamp DESC);
CREATE INDEX IF NOT EXISTS logs_unit_timestamp_ix ON logs (pioreactor_unit, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_logs_level_timestamp_desc ON logs (level, timestamp DESC);

CREATE TABLE IF NOT EXISTS temperature_readings (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    temperature_c REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS temperature_readings_ix ON temperature_readings (experiment, pioreactor_unit, timestamp);

CREATE TABLE IF NOT EXISTS stirring_rates (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    measured_rpm REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS stirring_rates_ix ON stirring_rates (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS ir_led_intensities (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    relative_intensity REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ir_led_intensities_ix ON ir_led_intensities (experiment, pioreactor_unit);
`
