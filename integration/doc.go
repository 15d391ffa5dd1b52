// Package integration holds the cluster's end-to-end test: a leader (pio
// leader on an external Mosquitto), three unit daemons (pio daemon) and the
// cluster commands (pio workers, pio experiments, pios), each a separate
// process on the loopback interface, as they run in a lab. The test checks
// that jobs reach the units through the leader, that a setting changes on
// one unit only, that a unit killed outright is reported lost while the
// others keep dosing, that everyone comes back after a broker restart, and
// that every dosing event the units journaled is stored in the leader's
// database exactly once. docs/cluster-test.md says how to run it.
//
// The package has no code of its own: it is its test.
package integration
