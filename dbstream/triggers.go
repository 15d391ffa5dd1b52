package dbstream

import "strings"

// activityTrigger is upstream's trigger that upserts each row of src into
// pioreactor_unit_activity_data, keyed by experiment, unit and timestamp:
// cols are the activity columns it sets from the values vals of the new row.
// merge keeps a column's old value when the new row leaves it NULL (the
// LED and dosing events, which set one of several columns).
func activityTrigger(src string, cols, vals []string, merge bool) string {
	var set []string
	for _, c := range cols {
		if merge {
			set = append(set, c+" = COALESCE(excluded."+c+", pioreactor_unit_activity_data."+c+")")
		} else {
			set = append(set, c+" = excluded."+c)
		}
	}
	return "CREATE TRIGGER IF NOT EXISTS update_pioreactor_unit_activity_data_from_" + src +
		" AFTER INSERT ON " + src + "\nBEGIN\n" +
		"    INSERT INTO pioreactor_unit_activity_data (pioreactor_unit, experiment, timestamp, " + strings.Join(cols, ", ") + ")\n" +
		"    VALUES (new.pioreactor_unit, new.experiment, new.timestamp, " + strings.Join(vals, ", ") + ")\n" +
		"    ON CONFLICT (experiment, pioreactor_unit, timestamp) DO UPDATE SET " + strings.Join(set, ", ") + ";\nEND;\n"
}

// Triggers are upstream's create_triggers.sql for the activity table: every
// row stored in od_readings, od_readings_fused, od_readings_filtered,
// growth_rates, temperature_readings, stirring_rates, led_change_events and
// dosing_events is also upserted into pioreactor_unit_activity_data (one
// row per experiment, unit and timestamp), which the UI's overview reads.
// Open creates them; they cost the stream about a third of its SQLite time
// (docs/leader-store.md).
var Triggers = strings.Join([]string{
	activityTrigger("od_readings", []string{"od_reading"}, []string{"new.od_reading"}, false),
	activityTrigger("od_readings_fused", []string{"od_fused"}, []string{"new.od_reading"}, false),
	activityTrigger("od_readings_filtered", []string{"normalized_od_reading"}, []string{"new.normalized_od_reading"}, false),
	activityTrigger("growth_rates", []string{"growth_rate"}, []string{"new.rate"}, false),
	activityTrigger("temperature_readings", []string{"temperature_c"}, []string{"new.temperature_c"}, false),
	activityTrigger("stirring_rates", []string{"measured_rpm"}, []string{"new.measured_rpm"}, false),
	activityTrigger("led_change_events",
		[]string{"led_a_intensity_update", "led_b_intensity_update", "led_c_intensity_update", "led_d_intensity_update"},
		[]string{"CASE WHEN new.channel = 'A' THEN new.intensity END", "CASE WHEN new.channel = 'B' THEN new.intensity END",
			"CASE WHEN new.channel = 'C' THEN new.intensity END", "CASE WHEN new.channel = 'D' THEN new.intensity END"}, true),
	activityTrigger("dosing_events",
		[]string{"add_media_ml", "remove_waste_ml", "add_alt_media_ml"},
		[]string{"CASE WHEN new.event = 'add_media' THEN new.volume_change_ml END",
			"CASE WHEN new.event = 'remove_waste' THEN new.volume_change_ml END",
			"CASE WHEN new.event = 'add_alt_media' THEN new.volume_change_ml END"}, true),
}, "\n")
