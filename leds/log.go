package leds

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/piolab/pio/payload"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/runtime"
)

// logger writes the controller's records as a job's Logger does: to the
// console and to pioreactor/<unit>/<experiment>/logs/<task>/<level>, with
// upstream's JSON keys. The controller is not a job, so it has its own.
type logger struct {
	env        *runtime.Env
	client     pubsub.Client
	experiment string
	task       string
}

func newLogger(env *runtime.Env, client pubsub.Client, experiment, task string) *logger {
	return &logger{env: env, client: client, experiment: experiment, task: task}
}

func (l *logger) log(level slog.Level, name, msg string) {
	if l.env.Console != nil {
		l.env.Console.Log(context.Background(), level, msg, "job", l.task, "unit", l.env.Unit, "experiment", l.experiment)
	}
	rec := payload.LogRecord{Message: msg, Level: name, Task: l.task, Source: l.task,
		Timestamp: payload.LogTimestamp(l.env.Sched.Now())}
	_ = l.client.Publish(l.env.Topic(l.experiment, "logs", l.task, levelSegment(name)), rec.AppendJSON(nil), 0, false)
}

func levelSegment(name string) string {
	switch name {
	case "INFO":
		return "info"
	case "WARNING":
		return "warning"
	case "ERROR":
		return "error"
	}
	return "debug"
}

func (l *logger) info(format string, a ...any) {
	l.log(slog.LevelInfo, "INFO", fmt.Sprintf(format, a...))
}

func (l *logger) warning(format string, a ...any) {
	l.log(slog.LevelWarn, "WARNING", fmt.Sprintf(format, a...))
}

func (l *logger) error(format string, a ...any) {
	l.log(slog.LevelError, "ERROR", fmt.Sprintf(format, a...))
}
