package runtime

import (
	"context"
	"fmt"
	"github.com/piolab/pio/payload"
	"log/slog"
	"strings"

	"github.com/piolab/pio/pubsub"
)

// Logger writes a job's log records to the console and to MQTT on
// pioreactor/<unit>/<experiment>/logs/<job>/<level>, with upstream's JSON keys
// message, level, task, source and timestamp. Upstream puts its "source" in
// that topic segment ("app", or a plugin's name) and its consumers subscribe
// to logs/+/<level>; pio's jobs are their own source, so each job's log has a
// topic of its own and upstream's UI and leader still read it.
type Logger struct {
	env        *Env
	client     pubsub.Client
	experiment string
	task       string
	source     string
	// OnRecord, if set, sees every record (tests, the simulation summary).
	OnRecord func(level, msg string)
}

func newLogger(env *Env, client pubsub.Client, experiment, task string) *Logger {
	return &Logger{env: env, client: client, experiment: experiment, task: task, source: task}
}

func (l *Logger) log(level slog.Level, name, msg string) {
	l.env.console().Log(context.Background(), level, msg, "job", l.task, "unit", l.env.Unit, "experiment", l.experiment)
	if l.OnRecord != nil {
		l.OnRecord(name, msg)
	}
	if l.client == nil {
		return
	}
	rec := payload.LogRecord{Message: strings.ReplaceAll(msg, "\r\n", "\n"), Level: name, Task: l.task,
		Source: l.source, Timestamp: payload.LogTimestamp(l.env.Sched.Now())}
	_ = l.client.Publish(l.topic(name), rec.AppendJSON(make([]byte, 0, 160)), 0, false)
}

// topic is the log topic of a level.
func (l *Logger) topic(level string) string {
	return l.env.Topic(l.experiment, "logs", l.source, strings.ToLower(level))
}

// LevelNotice is upstream's NOTICE level, between INFO and WARNING.
const LevelNotice = slog.Level(2)

func (l *Logger) Debug(format string, a ...any) {
	l.log(slog.LevelDebug, "DEBUG", fmt.Sprintf(format, a...))
}
func (l *Logger) Info(format string, a ...any) {
	l.log(slog.LevelInfo, "INFO", fmt.Sprintf(format, a...))
}
func (l *Logger) Notice(format string, a ...any) {
	l.log(LevelNotice, "NOTICE", fmt.Sprintf(format, a...))
}
func (l *Logger) Warning(format string, a ...any) {
	l.log(slog.LevelWarn, "WARNING", fmt.Sprintf(format, a...))
}
func (l *Logger) Error(format string, a ...any) {
	l.log(slog.LevelError, "ERROR", fmt.Sprintf(format, a...))
}

// Level logs at a level named as in upstream (debug, info, notice, warning, error).
func (l *Logger) Level(level, msg string) error {
	switch strings.ToLower(level) {
	case "debug":
		l.Debug("%s", msg)
	case "info":
		l.Info("%s", msg)
	case "notice":
		l.Notice("%s", msg)
	case "warning", "warn":
		l.Warning("%s", msg)
	case "error", "critical":
		l.Error("%s", msg)
	default:
		return fmt.Errorf("unknown log level %q (want debug, info, notice, warning or error)", level)
	}
	return nil
}
