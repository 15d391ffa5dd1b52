package scriptnet

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// HTTP returns the Starlark module http:
//
//	http.get(url, headers=None, timeout=None)                        -> response
//	http.post(url, json=None, body=None, headers=None, timeout=None) -> response
//
// A response has status (int, 0 when none came), ok (status 2xx and no
// error), error ("" or what went wrong: a time-out, a refused connection,
// a body over the cap), body (string), headers (dict of lower-case names)
// and json() (the body decoded).
func HTTP(h Host) *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "http", Members: starlark.StringDict{
		"get":  starlark.NewBuiltin("http.get", h.get),
		"post": starlark.NewBuiltin("http.post", h.post),
	}}
}

// MaxPayload bounds a payload of mqtt.publish, in bytes. The job's own
// connection carries the message, and its state and safety messages wait
// behind it; a broker with a smaller limit drops the connection.
const MaxPayload = 256 * 1024

// MQTT returns the Starlark module mqtt:
//
//	mqtt.publish(topic, payload, qos=1, retain=False)
//
// payload is sent as is when a string or bytes, else encoded as JSON; it
// may have up to MaxPayload bytes.
func MQTT(h Host) *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "mqtt", Members: starlark.StringDict{
		"publish": starlark.NewBuiltin("mqtt.publish", h.publish),
	}}
}

// publish is mqtt.publish(topic, payload, qos=1, retain=False).
func (h Host) publish(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t string
	var payload starlark.Value
	qos, retain := 1, false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "topic", &t, "payload", &payload, "qos?", &qos, "retain?", &retain); err != nil {
		return nil, err
	}
	call := fmt.Sprintf("%s(%q)", b.Name(), t)
	if qos < 0 || qos > 2 {
		return nil, fmt.Errorf("%s: qos: want 0, 1 or 2, got %d", call, qos)
	}
	var data []byte
	switch v := payload.(type) {
	case starlark.String:
		data = []byte(v)
	case starlark.Bytes:
		data = []byte(v)
	default:
		s, err := encodeJSON(th, payload)
		if err != nil {
			return nil, fmt.Errorf("%s: payload: %v", call, err)
		}
		data = []byte(s)
	}
	if len(data) > MaxPayload {
		return nil, fmt.Errorf("%s: payload of %d bytes: more than mqtt.publish sends (%d bytes)", call, len(data), MaxPayload)
	}
	job, err := h.Job(th)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	if err := job.Grants.CheckPublish(job.Unit, job.Experiment, job.Name, t); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if job.Publish == nil {
		return nil, fmt.Errorf("%s: this job has no MQTT connection for scripts", call)
	}
	if err := job.Publish(t, data, byte(qos), retain); err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	return starlark.None, nil
}
