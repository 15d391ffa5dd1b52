// Package growthrate is the growth_rate_calculating job: upstream's
// growth-rate calculator. It reads od_reading/ods and dosing_events, learns
// per-channel normalisation factors and noise from a warm-up window, and runs
// a three-state Kalman filter on log OD ([log_od, growth_rate,
// growth_rate_drift]) that publishes growth_rate (h⁻¹) and od_filtered (the
// normalised OD, about 1.0 at start).
//
// The filter itself (warmup.go, ekf.go) is pure code with no clock and no
// MQTT, so tests and benchmarks drive it directly; calculator.go is the
// stream logic (skipping, warm-up, post-dose flags, dt); job.go wires it to a
// runtime.Job. See docs/growth_rate.md.
package growthrate
