package script

import (
	"time"

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

// ExecLimit implements builtins.NetHost: a request ends at the run's
// max_execute_minutes.
func (h *host) ExecLimit() (time.Time, error) {
	return h.deadline, overdue("execute()", h.a.Limits.MaxExecute)
}
func (h *temperatureHost) ExecLimit() (time.Time, error) {
	return h.deadline, overdue("execute()", h.maxExecute)
}
func (h *ledHost) ExecLimit() (time.Time, error) {
	return h.deadline, overdue("the script", h.a.Limits.MaxExecute)
}
func (h *jobHost) ExecLimit() (time.Time, error) {
	return h.deadline, overdue(h.what, h.j.Limits.MaxExecute)
}

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
