package daemon

import (
	"fmt"

	"github.com/piolab/pio/runtime"
)

// connectionLost starts the broker-loss timer: if the broker is still
// unreachable after BrokerLostStop, every pump is stopped. Each job
// already stopped its own pumps when its connection dropped (runtime's
// OnConnectionLost) and starts none while it is down; this stop also
// covers a pump whose job missed that.
func (d *Daemon) connectionLost(err error) {
	d.mu.Lock()
	if d.lost != nil || d.o.BrokerLostStop <= 0 {
		d.mu.Unlock()
		return
	}
	back := make(chan struct{})
	d.lost = back
	d.mu.Unlock()
	d.o.Console.Warn("daemon: lost the MQTT connection", "err", err)
	timer := d.o.After(d.o.BrokerLostStop)
	go func() {
		select {
		case <-back:
			return
		case <-timer:
		}
		d.mu.Lock()
		if d.lost != back { // reconnected meanwhile
			d.mu.Unlock()
			return
		}
		d.halted = true
		d.mu.Unlock()
		var herr error
		if d.o.Halt != nil {
			herr = d.o.Halt()
		}
		msg := fmt.Sprintf("WARNING: the broker has been unreachable for %v ([cluster.daemon] broker_lost_stop_seconds): every pump is stopped and none starts until it is back", d.o.BrokerLostStop)
		if herr != nil {
			msg += fmt.Sprintf(" (halting reported: %v; check the pumps)", herr)
		}
		d.o.Console.Warn(msg)
	}()
}

// reconnected ends the broker-loss timer and announces the daemon again:
// its retained $state (the broker may have restarted without it) and, by
// paho, its last will, which the new CONNECT registers again. Each job
// republishes its own state and settings (runtime.Job).
func (d *Daemon) reconnected() {
	d.mu.Lock()
	if d.lost != nil {
		close(d.lost)
		d.lost = nil
	}
	halted := d.halted
	d.halted = false
	state := d.state
	d.mu.Unlock()
	if state == runtime.Init || state == runtime.Ready {
		d.publishState(state)
	}
	if halted {
		d.o.Console.Info("daemon: the broker is back; pumps start again only when a job or a request starts them")
	} else {
		d.o.Console.Info("daemon: reconnected to the broker")
	}
}

// Halted reports whether the daemon has halted the pump outputs because
// the broker was unreachable, and is still waiting for it.
func (d *Daemon) Halted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.halted
}
