package leaderapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/piolab/pio/cluster"
)

// Entry is one unit's result in a fan-out envelope.
type Entry struct {
	OK         bool        `json:"ok"`
	Unit       string      `json:"unit"`
	Value      any         `json:"value,omitempty"`
	Error      *EntryError `json:"error,omitempty"`
	StatusCode int         `json:"status_code,omitempty"`
	Retryable  bool        `json:"retryable,omitempty"`
}

// MarshalJSON writes upstream's two shapes exactly: {ok, unit, value} (value
// null when the unit sent none) and {ok, unit, error, status_code,
// retryable} (retryable false included).
func (e Entry) MarshalJSON() ([]byte, error) {
	if e.OK {
		return json.Marshal(struct {
			OK    bool   `json:"ok"`
			Unit  string `json:"unit"`
			Value any    `json:"value"`
		}{true, e.Unit, e.Value})
	}
	return json.Marshal(struct {
		OK         bool        `json:"ok"`
		Unit       string      `json:"unit"`
		Error      *EntryError `json:"error"`
		StatusCode int         `json:"status_code"`
		Retryable  bool        `json:"retryable"`
	}{false, e.Unit, e.Error, e.StatusCode, e.Retryable})
}

// EntryError says why a unit failed.
type EntryError struct {
	Kind        string `json:"kind"`
	Message     string `json:"message"`
	Cause       string `json:"cause,omitempty"`
	Remediation string `json:"remediation,omitempty"`
}

// Envelope maps each unit to its entry (JSON sorts the keys: by unit).
type Envelope map[string]Entry

// failure is a failed entry of kind for unit.
func failure(unit, kind, msg, remedy string) Entry {
	status, retry := http.StatusInternalServerError, false
	switch kind {
	case "refused":
		status = http.StatusBadRequest
	case "unreachable", "lost":
		status, retry = http.StatusServiceUnavailable, true
	case "timeout":
		status, retry = http.StatusGatewayTimeout, true
	}
	return Entry{Unit: unit, Error: &EntryError{Kind: kind, Message: msg, Remediation: remedy}, StatusCode: status, Retryable: retry}
}

// envelope turns the daemons' replies into one envelope with an entry for
// every unit asked; a unit without a reply is unreachable.
func envelope(units []string, replies []cluster.Reply) Envelope {
	env := Envelope{}
	for _, rep := range replies {
		if rep.OK {
			env[rep.Unit] = Entry{OK: true, Unit: rep.Unit, Value: valueOf(rep)}
			continue
		}
		kind, msg, remedy := "internal", "the daemon failed without saying why", ""
		if rep.Error != nil {
			kind, msg, remedy = rep.Error.Kind, rep.Error.Message, rep.Error.Remediation
		}
		env[rep.Unit] = failure(rep.Unit, kind, msg, remedy)
	}
	for _, u := range units {
		if _, ok := env[u]; !ok {
			env[u] = failure(u, "unreachable", "no reply from "+u+"'s daemon",
				"check that `pio daemon` runs on "+u+" and reaches the broker")
		}
	}
	return env
}

func valueOf(rep cluster.Reply) any {
	if rep.Value == nil && rep.Output != "" {
		return map[string]any{"output": rep.Output}
	}
	return rep.Value
}

// send sends req to units' daemons and returns the envelope.
func (a *API) send(units []string, req cluster.Request) Envelope {
	if len(units) == 0 {
		return Envelope{}
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.timeout)
	defer cancel()
	req.SentAt = a.now().UTC()
	if req.ID == "" {
		req.ID = newID()
	}
	units = append([]string(nil), units...)
	sort.Strings(units)
	return envelope(units, a.dispatch.SendAll(ctx, units, req))
}

// publishAll publishes one message per unit (topic built from the unit)
// and returns the envelope of the publishes.
func (a *API) publishAll(units []string, topic func(unit string) string, payload []byte, qos byte) Envelope {
	env := Envelope{}
	for _, u := range units {
		if err := a.client.Publish(topic(u), payload, qos, false); err != nil {
			env[u] = failure(u, "unreachable", "publishing to the broker: "+err.Error(), "check the leader's broker")
			continue
		}
		env[u] = Entry{OK: true, Unit: u, Value: map[string]any{"topic": topic(u), "published_at": a.now().UTC().Format(time.RFC3339Nano)}}
	}
	return env
}
