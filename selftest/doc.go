// Package selftest checks that a unit's hardware works, as upstream's
// self_test does on a real Pioreactor: every PWM output opens and reads its
// duty back, each pump moves liquid, the photodiodes read a dark offset near
// 0 with the LEDs off and a sane reference with the IR LED on, the LEDs
// respond, the heater warms the thermometer and the stirrer reaches its
// target RPM.
//
// The checks use only the hardware vocabulary (package hw) and wait only on
// the unit's scheduler (runtime.Env.Sched), so the same checks run in real
// time on a board and in virtual time on the simulated reactor (Simulate).
// Every output a check touches is back to 0 when the check ends, whether it
// passed, failed, panicked or was cancelled. docs/self-test.md describes each
// check.
package selftest
