package dbstream

import "strings"

// table is one table the stream writes: its name and the columns of its
// INSERT, in the order of Row.Values.
type table struct {
	name    string
	columns []string
	stamp   int // the column of the row's timestamp, in upstream's stored form
	// conflict, if set, ends the INSERT: a row it skips is a duplicate.
	conflict string
}

// The tables the stream writes, with upstream's names and columns.
var (
	odReadings         = table{"od_readings", []string{"experiment", "pioreactor_unit", "timestamp", "od_reading", "angle", "channel"}, 2, ""}
	rawODReadings      = table{"raw_od_readings", []string{"experiment", "pioreactor_unit", "timestamp", "od_reading", "channel"}, 2, ""}
	odReadingsFused    = table{"od_readings_fused", []string{"experiment", "pioreactor_unit", "timestamp", "od_reading"}, 2, ""}
	odReadingsFiltered = table{"od_readings_filtered", []string{"experiment", "pioreactor_unit", "timestamp", "normalized_od_reading"}, 2, ""}
	growthRates        = table{"growth_rates", []string{"experiment", "pioreactor_unit", "timestamp", "rate"}, 2, ""}
	dosingEvents       = table{"dosing_events", []string{"experiment", "pioreactor_unit", "timestamp", "volume_change_ml", "event", "source_of_event", "event_id"}, 2,
		" ON CONFLICT (pioreactor_unit, event_id) DO NOTHING"} // see DosingEventIDs
	ledChangeEvents   = table{"led_change_events", []string{"experiment", "pioreactor_unit", "timestamp", "channel", "intensity", "source_of_event"}, 2, ""}
	temperatureReads  = table{"temperature_readings", []string{"experiment", "pioreactor_unit", "timestamp", "temperature_c"}, 2, ""}
	stirringRates     = table{"stirring_rates", []string{"experiment", "pioreactor_unit", "timestamp", "measured_rpm"}, 2, ""}
	altMediaFractions = table{"alt_media_fractions", []string{"experiment", "pioreactor_unit", "timestamp", "alt_media_fraction"}, 2, ""}
	liquidVolumes     = table{"liquid_volumes", []string{"experiment", "pioreactor_unit", "timestamp", "liquid_volume"}, 2, ""}
	irLEDIntensities  = table{"ir_led_intensities", []string{"experiment", "pioreactor_unit", "timestamp", "relative_intensity"}, 2, ""}
	logs              = table{"logs", []string{"experiment", "pioreactor_unit", "timestamp", "message", "task", "level", "source"}, 2, ""}
	odBlanks          = table{"od_blanks", []string{"experiment", "pioreactor_unit", "timestamp", "od_reading", "channel", "angle"}, 2, ""}
	pwmDCs            = table{"pwm_dcs", []string{"experiment", "pioreactor_unit", "timestamp", "channel_1", "channel_2", "channel_3", "channel_4", "channel_5"}, 2, ""}
	profileRuns       = table{"experiment_profile_runs", []string{"started_at", "experiment_profile_name", "experiment"}, 0, ""}

	dosingAutomationSettings      = settingsTable("dosing_automation_settings")
	ledAutomationSettings         = settingsTable("led_automation_settings")
	temperatureAutomationSettings = settingsTable("temperature_automation_settings")
	dosingAutomationEvents        = eventsTable("dosing_automation_events")
	ledAutomationEvents           = eventsTable("led_automation_events")
	temperatureAutomationEvents   = eventsTable("temperature_automation_events")
)

// settingsTable is one of upstream's <family>_automation_settings tables.
func settingsTable(name string) table {
	return table{name, []string{"experiment", "pioreactor_unit", "started_at", "ended_at", "automation_name", "settings"}, 2, ""}
}

// eventsTable is one of upstream's <family>_automation_events tables.
func eventsTable(name string) table {
	return table{name, []string{"experiment", "pioreactor_unit", "timestamp", "event_name", "message", "data"}, 2, ""}
}

// tables lists every table the stream inserts into.
var tables = []*table{
	&odReadings, &rawODReadings, &odReadingsFused, &odReadingsFiltered, &growthRates, &dosingEvents,
	&ledChangeEvents, &temperatureReads, &stirringRates, &altMediaFractions, &liquidVolumes,
	&irLEDIntensities, &logs, &odBlanks, &pwmDCs, &profileRuns,
	&dosingAutomationSettings, &ledAutomationSettings, &temperatureAutomationSettings,
	&dosingAutomationEvents, &ledAutomationEvents, &temperatureAutomationEvents,
}

// insertSQL is the table's INSERT statement.
func (t table) insertSQL() string {
	return "INSERT INTO " + t.name + " (" + strings.Join(t.columns, ", ") + ") VALUES (?" +
		strings.Repeat(", ?", len(t.columns)-1) + ")" + t.conflict
}

// Schema is upstream's create_tables.sql for the tables the stream writes
// (and experiments, which they reference, and pioreactor_unit_activity_data
// with its per-minute rollup view, which Triggers fill), with upstream's
// indexes. Foreign keys are declared but, as upstream's streamer does, not
// enforced on the stream's connection.
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

CREATE TABLE IF NOT EXISTS od_blanks (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    channel TEXT CHECK (channel IN ('1', '2')) NOT NULL,
    angle INTEGER NOT NULL,
    od_reading REAL NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS od_blanks_ix ON od_blanks (experiment, pioreactor_unit, timestamp);

CREATE TABLE IF NOT EXISTS dosing_automation_settings (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    automation_name TEXT NOT NULL,
    settings BLOB NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS dosing_automation_settings_ix ON dosing_automation_settings (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS led_automation_settings (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    automation_name TEXT NOT NULL,
    settings BLOB NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS led_automation_settings_ix ON led_automation_settings (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS temperature_automation_settings (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    automation_name TEXT NOT NULL,
    settings BLOB NOT NULL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS temperature_automation_settings_ix ON temperature_automation_settings (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS temperature_automation_events (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    event_name TEXT NOT NULL,
    message TEXT,
    data TEXT,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS temperature_automation_events_ix ON temperature_automation_events (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS dosing_automation_events (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    event_name TEXT NOT NULL,
    message TEXT,
    data TEXT,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS dosing_automation_events_ix ON dosing_automation_events (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS led_automation_events (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    event_name TEXT NOT NULL,
    message TEXT,
    data TEXT,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS led_automation_events_ix ON led_automation_events (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS pwm_dcs (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    channel_1 REAL,
    channel_2 REAL,
    channel_3 REAL,
    channel_4 REAL,
    channel_5 REAL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS pwm_dcs_ix ON pwm_dcs (experiment, pioreactor_unit);

CREATE TABLE IF NOT EXISTS experiment_profile_runs (
    started_at TEXT NOT NULL,
    experiment_profile_name TEXT NOT NULL,
    experiment TEXT,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS experiment_profile_runs_ix ON experiment_profile_runs (experiment);

CREATE TABLE IF NOT EXISTS pioreactor_unit_activity_data (
    experiment TEXT NOT NULL,
    pioreactor_unit TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    od_reading REAL,
    od_fused REAL,
    normalized_od_reading REAL,
    temperature_c REAL,
    growth_rate REAL,
    measured_rpm REAL,
    led_a_intensity_update REAL,
    led_b_intensity_update REAL,
    led_c_intensity_update REAL,
    led_d_intensity_update REAL,
    add_media_ml REAL,
    remove_waste_ml REAL,
    add_alt_media_ml REAL,
    FOREIGN KEY (experiment) REFERENCES experiments (experiment) ON DELETE CASCADE
);
-- the triggers' ON CONFLICT needs exactly this unique index
CREATE UNIQUE INDEX IF NOT EXISTS pioreactor_unit_activity_data_ix
    ON pioreactor_unit_activity_data (experiment, pioreactor_unit, timestamp);

CREATE VIEW IF NOT EXISTS pioreactor_unit_activity_data_rollup AS
SELECT
    experiment,
    pioreactor_unit,
    datetime(strftime('%Y-%m-%dT%H:%M:00', timestamp)) AS timestamp,
    avg(od_reading) AS avg_od_reading,
    avg(od_fused) AS avg_od_fused,
    avg(normalized_od_reading) AS avg_normalized_od_reading,
    avg(temperature_c) AS avg_temperature_c,
    avg(growth_rate) AS avg_growth_rate,
    avg(measured_rpm) AS avg_measured_rpm,
    sum(add_media_ml) AS sum_add_media_ml,
    sum(remove_waste_ml) AS sum_remove_waste_ml,
    sum(add_alt_media_ml) AS sum_add_alt_media_ml
FROM pioreactor_unit_activity_data
GROUP BY experiment, pioreactor_unit, datetime(strftime('%Y-%m-%dT%H:%M:00', timestamp));
`
