// Package odreading is the od_reading job: it reads the photodiodes of a
// unit with the IR LED on, at samples_per_second, and publishes optical
// density as upstream Pioreactor's ODReader does (topics
// pioreactor/<unit>/<experiment>/od_reading/ods, od1..od4,
// ir_led_intensity, interval, first_od_obs_time and
// relative_intensity_of_ir_led).
//
// A reading turns the IR LED on (and the other LEDs off, locked, when
// turn_off_leds_during_reading), takes a burst of 40 samples per channel
// from the board's ADCs, subtracts each channel's dark offset, estimates the
// signal with a least-squares sine fit at the mains frequency pulled toward
// the previous estimate, checks for over-voltage, normalises by the
// reference photodiode (REF) and subtracts the experiment's blank.
//
// Time comes from the job's scheduler only: the same code reads a
// simulated reactor in virtual time (pio simulate) and a HAT in real time.
// docs/od_reading.md describes the settings, topics and payloads.
package odreading
