package builtins

import (
	"errors"
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/scriptnet"
)

// NetHost is a Host whose job lets its scripts use the http and mqtt
// modules (package scriptnet, docs/script-network.md).
type NetHost interface {
	Host
	// NetConfig is the configuration whose [scripts.http] and
	// [scripts.mqtt] sections grant hosts and topics.
	NetConfig() *config.Config
	// JobName is the job's name: its own topics are
	// pioreactor/<unit>/<experiment>/<job>/.
	JobName() string
	// Publish sends a message through the job's MQTT connection.
	Publish(topic string, payload []byte, qos byte, retain bool) error
	// ExecLimit is when the run (execute(), run() or a handler) reaches its
	// max_execute_minutes on the job's clock (Now), and the error that
	// stops it then: a request ends there.
	ExecLimit() (deadline time.Time, overdue error)
}

// ErrNoNet is the error of http and mqtt in a job that gives its scripts
// no network access.
var ErrNoNet = errors.New("this job gives its scripts no network access")

var netHost = scriptnet.Host{Job: netJob, Context: Context}

var (
	httpModule = scriptnet.HTTP(netHost)
	mqttModule = scriptnet.MQTT(netHost)
)

// HTTP returns the Starlark module http: http.get(url, headers=None,
// timeout=None) and http.post(url, json=None, body=None, headers=None,
// timeout=None), to the hosts [scripts.http] allowed_hosts grants.
func HTTP() starlark.Value { return httpModule }

// MQTT returns the Starlark module mqtt: mqtt.publish(topic, payload,
// qos=1, retain=False), beyond the job's own topics to those [scripts.mqtt]
// publish grants.
func MQTT() starlark.Value { return mqttModule }

const netKey = "pio.net"

// netCache is a thread's job, with the grants read once.
type netCache struct {
	host NetHost
	job  *scriptnet.Job
}

func netJob(th *starlark.Thread) (*scriptnet.Job, error) {
	if nb, _ := th.Local(nonBlockingKey).(bool); nb {
		return nil, errors.New("not available in a setting's check function, which must not wait (use it from execute())")
	}
	h, ok := th.Local(hostKey).(Host)
	if !ok {
		return nil, ErrLoadTime
	}
	nh, ok := h.(NetHost)
	if !ok {
		return nil, ErrNoNet
	}
	if c, ok := th.Local(netKey).(*netCache); ok && c.host == nh {
		return c.job, nil
	}
	g, err := scriptnet.ReadGrants(nh.NetConfig())
	if err != nil {
		return nil, fmt.Errorf("the configuration's grants: %w", err)
	}
	job := &scriptnet.Job{Grants: g, Unit: nh.Unit(), Experiment: nh.Experiment(), Name: nh.JobName(), Publish: nh.Publish,
		Left: func() (time.Duration, error) {
			deadline, overdue := nh.ExecLimit()
			return deadline.Sub(nh.Now()), overdue
		}}
	th.SetLocal(netKey, &netCache{host: nh, job: job})
	return job, nil
}
