// Package control holds the streaming calculations every controller of a
// unit shares, as upstream's utils/streaming_calculations.py defines them:
// a PID controller (stirring's RPM loop, the thermostat, the PID
// morbidostat, and scripts through the pid builtin) and an exponential
// moving average.
//
// Both are plain values with no clock and no I/O: the caller passes the
// time step, and a job publishes a PID's Stats itself on
// pioreactor/<unit>/<experiment>/pid_log/<target_name> (not retained).
// Neither is safe for concurrent use; each belongs to one actor.
package control
