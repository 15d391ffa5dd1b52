package customjob

import (
	"fmt"
	"regexp"
	"strings"
)

var jobNameRe = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// Reserved are the names a custom job may not take: pio's own jobs and
// actions (a second job of the same name would be refused at start, or
// would fight it for its topics), and the topics a unit publishes at the
// level of a job's name.
var Reserved = map[string]string{
	"od_reading":              "pio's OD reading job",
	"growth_rate_calculating": "pio's growth-rate job",
	"stirring":                "pio's stirring job",
	"dosing_automation":       "the dosing automation's job",
	"temperature_automation":  "the temperature automation's job",
	"led_automation":          "the LED automation's job",
	"monitor":                 "pio's monitor job",
	"add_media":               "pio's media pump action",
	"add_alt_media":           "pio's alt-media pump action",
	"remove_waste":            "pio's waste pump action",
	"led_intensity":           "pio's LED action",
	"self_test":               "pio's self-test",
	"bioreactor":              "the liquid model's topics",
	"logs":                    "the unit's log topics",
	"dosing_events":           "the dosing events' topic",
	"dosing_events_handled":   "the monitor's topic",
	"daemon":                  "the unit daemon's job (pio daemon)",
	"mqtt_to_db_streaming":    "the leader's database stream",
	"experiment_profile":      "the experiment profile's job",
	"run":                     "a name upstream reserves",
	"leds":                    "a name upstream reserves",
	"led_change_events":       "a name upstream reserves",
	"unit_label":              "a name upstream reserves",
	"pwm":                     "a name upstream reserves",
	"assignment":              "a name upstream reserves",
}

// CheckName refuses a job_name a custom job may not have: one that is not
// lowercase words joined by _, one of Reserved, or pump_<device> (the
// action of any other pump).
func CheckName(name string) error {
	if !jobNameRe.MatchString(name) {
		return fmt.Errorf("job_name %q: want lowercase words joined by _, such as \"ph_reading\"", name)
	}
	if what, ok := Reserved[name]; ok {
		return fmt.Errorf("job_name %q is %s: choose another name, such as \"my_%s\"", name, what, name)
	}
	if strings.HasPrefix(name, "pump_") {
		return fmt.Errorf("job_name %q: names starting with pump_ are pio's pump actions (pump_<device>): choose another name", name)
	}
	return nil
}

// publishNameRe is the name of a reading a job publishes, as upstream's
// published settings are named.
var publishNameRe = regexp.MustCompile(`^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$`)
