package script

import (
	"github.com/piolab/pio/builtins"
	"github.com/piolab/pio/config"
	"github.com/piolab/pio/runtime"
)

// Every family's host gives its scripts the http and mqtt modules, checked
// against the job's configuration (docs/script-network.md).
var (
	_ builtins.NetHost = (*host)(nil)
	_ builtins.NetHost = (*temperatureHost)(nil)
	_ builtins.NetHost = (*ledHost)(nil)
)

// jobPublish publishes for a script through its job's MQTT connection.
func jobPublish(job *runtime.Job, topic string, payload []byte, qos byte, retain bool) error {
	return job.Client().Publish(topic, payload, qos, retain)
}

// NetConfig, JobName and Publish implement builtins.NetHost for dosing scripts.
func (h *host) NetConfig() *config.Config { return h.a.Env().Config }
func (h *host) JobName() string           { return h.a.Job.Name }
func (h *host) Publish(topic string, payload []byte, qos byte, retain bool) error {
	return jobPublish(h.a.Job, topic, payload, qos, retain)
}

// NetConfig, JobName and Publish implement builtins.NetHost for temperature scripts.
func (h *temperatureHost) NetConfig() *config.Config { return h.a.Env().Config }
func (h *temperatureHost) JobName() string           { return h.a.Job.Name }
func (h *temperatureHost) Publish(topic string, payload []byte, qos byte, retain bool) error {
	return jobPublish(h.a.Job, topic, payload, qos, retain)
}

// NetConfig, JobName and Publish implement builtins.NetHost for LED scripts.
func (h *ledHost) NetConfig() *config.Config { return h.a.Env().Config }
func (h *ledHost) JobName() string           { return h.a.Job.Name }
func (h *ledHost) Publish(topic string, payload []byte, qos byte, retain bool) error {
	return jobPublish(h.a.Job, topic, payload, qos, retain)
}
