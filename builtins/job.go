package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
)

// JobHost is what the builtins of custom jobs need from the job.
type JobHost interface {
	Host
	// PublishReading publishes value (a number, bool, string, dict, list
	// or None) as the job's reading name.
	PublishReading(name string, value starlark.Value) error
}

// Job returns the builtins of custom jobs (scripts that declare job_name):
// publish. The readings, log, settings and the hw module are Common.
func Job() starlark.StringDict {
	return starlark.StringDict{
		"publish": starlark.NewBuiltin("publish", publish),
	}
}

// publish(name, value) -> None: publish a reading of the job, retained, on
// pioreactor/<unit>/<experiment>/<job_name>/<name>. Numbers are published
// as Python prints them (0.5, 7), booleans as True/False, strings as they
// are, dicts and lists as JSON; None clears the topic. The job clears every
// topic it published when it stops.
func publish(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var value starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "value", &value); err != nil {
		return nil, err
	}
	switch value.(type) {
	case starlark.NoneType, starlark.Bool, starlark.Int, starlark.Float, starlark.String, *starlark.Dict, *starlark.List, starlark.Tuple:
	default:
		return nil, fmt.Errorf("%s: value: got %s, want a number, bool, string, dict, list or None", b.Name(), value.Type())
	}
	if err := refuseBlocking(th, b); err != nil {
		return nil, err
	}
	h, _, err := host(th, b)
	if err != nil {
		return nil, err
	}
	j, ok := h.(JobHost)
	if !ok {
		return nil, fmt.Errorf("%s: only custom jobs (scripts that declare job_name) publish readings", b.Name())
	}
	if err := j.PublishReading(name, value); err != nil {
		return nil, wrap(b, err)
	}
	return starlark.None, nil
}
