// Package stirring is the stirring job (upstream's Stirrer): it drives the
// stirrer's PWM output, measures the stirrer's RPM from the board's
// revolution counter, and holds a target RPM with a PID on the measured RPM
// (package control). Around each OD reading it can "dodge": stop (or slow)
// the stirrer just before the reading and restore it just after, timed from
// od_reading's interval and first_od_obs_time.
//
// # Topics
//
// Under pioreactor/<unit>/<experiment>/stirring/: target_rpm (settable, RPM;
// empty without an RPM sensor), measured_rpm ({"measured_rpm", "timestamp"}),
// duty_cycle (settable, %), enable_dodging_od (settable), currently_dodging_od,
// and, while dodging, target_rpm_during_od_reading and
// target_rpm_outside_od_reading (settable). Each PID update publishes its
// terms on pid_log/rpm (not retained). docs/stirring.md has the details.
//
// # Concurrency
//
// The job's work runs on one actor, Run: every duty write other than "off",
// the PID, and the duty estimate belong to it. The job's MQTT handlers (on
// its inbox actor) validate /set commands, publish what was asked, and hand
// the work to Run through an inbox of commands. Only two things happen in a
// handler directly: sleeping and disconnecting turn the stirrer off at once
// (under the job's lock, after which Run's writes of a non-zero duty are
// refused) and cancel whatever Run is waiting on.
package stirring
