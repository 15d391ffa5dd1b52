package leaderclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Error is an error reply of the leader: {error, status, cause,
// remediation}. Its text is one line.
type Error struct {
	URL         string // the leader's base URL
	Call        string // "POST /api/experiments"
	Status      int    // the HTTP status
	Message     string // error
	Cause       string // cause, if any
	Remediation string // remediation, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(oneLine(e.Message))
	if e.Cause != "" && !strings.Contains(e.Message, e.Cause) {
		b.WriteString(" (" + oneLine(e.Cause) + ")")
	}
	if e.Remediation != "" {
		b.WriteString(": " + oneLine(e.Remediation))
	}
	return b.String()
}

// wireError is the error body; upstream names the fields so, and older
// replies carry only "error" or "message".
type wireError struct {
	Error       any    `json:"error"`
	Message     string `json:"message"`
	Status      any    `json:"status"`
	Cause       string `json:"cause"`
	Remediation string `json:"remediation"`
}

// DecodeError makes the *Error for a non-2xx reply of status with body b to
// call at the leader url. A body that is not the error JSON still gives one
// line: the status and the start of the body.
func DecodeError(url, call string, status int, b []byte) *Error {
	e := &Error{URL: url, Call: call, Status: status}
	var w wireError
	if err := json.Unmarshal(b, &w); err == nil {
		switch v := w.Error.(type) {
		case string:
			e.Message = v
		case map[string]any: // {error: {message, remediation}} as in an envelope
			if m, ok := v["message"].(string); ok {
				e.Message = m
			}
			if r, ok := v["remediation"].(string); ok && w.Remediation == "" {
				w.Remediation = r
			}
		}
		if e.Message == "" {
			e.Message = w.Message
		}
		e.Cause, e.Remediation = w.Cause, w.Remediation
	}
	if e.Message == "" {
		body := strings.TrimSpace(string(b))
		if len(body) > 120 {
			body = body[:120] + "…"
		}
		e.Message = fmt.Sprintf("%s: %d %s", call, status, http.StatusText(status))
		if body != "" {
			e.Message += ": " + body
		}
	}
	if e.Remediation == "" {
		switch status {
		case http.StatusUnauthorized:
			e.Remediation = "set [cluster.security] api_token in this machine's config.ini to a token the leader accepts"
		case http.StatusForbidden:
			e.Remediation = "this machine's [cluster.security] api_token may not do that on the leader"
		}
	}
	return e
}

// oneLine folds a message's line breaks into spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
