// Package pio_test checks the direction of dependencies: the runtime and the
// script API stay free of network MQTT, the embedded broker, and hardware
// hosts, which only the commands wire in.
package pio_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestDependencyDirection(t *testing.T) {
	forbidden := []string{
		"github.com/eclipse/paho.mqtt.golang",
		"github.com/mochi-mqtt/server",
		"periph.io/x/host",
		"github.com/piolab/pio/pubsub/mqttnet",
		"github.com/piolab/pio/cmd",
		"github.com/piolab/pio/unit",
	}
	for _, pkg := range []string{"./runtime", "./dosing", "./sched", "./payload", "./script", "./builtins", "./hw", "./hw/sim", "./liquid", "./clock", "./pubsub", "./topic", "./calibration", "./config", "./outbox", "./supervise", "./automation", "./readings", "./control", "./leds", "./odreading", "./growthrate", "./stirring", "./temperature", "./stdlib", "./stdlib/lib", "./customjob", "./scriptnet", "./scriptlib", "./cluster", "./daemon", "./profile", "./auth", "./dbstream", "./leaderapi", "./leaderclient"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
			if dep == "testing" {
				t.Errorf("%s links the testing package", pkg)
			}
		}
	}
}
