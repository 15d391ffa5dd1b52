package leaderapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Error is the body of every error reply, upstream's shape.
type Error struct {
	Error       string `json:"error"`
	Status      int    `json:"status"`
	Cause       string `json:"cause"`
	Remediation string `json:"remediation"`
}

// httpError is an error a handler answers with.
type httpError struct {
	status             int
	msg, cause, remedy string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, remedy, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...), remedy: remedy}
}

// fail writes an error reply.
func fail(w http.ResponseWriter, status int, msg, cause, remediation string) {
	if cause == "" {
		cause = msg
	}
	writeJSON(w, status, Error{Error: msg, Status: status, Cause: cause, Remediation: remediation})
}

// failWith writes err: an *httpError as itself, anything else as a 500.
func (a *API) failWith(w http.ResponseWriter, r *http.Request, err error) {
	if he, ok := err.(*httpError); ok {
		fail(w, he.status, he.msg, he.cause, he.remedy)
		return
	}
	a.log.Error("leader API", "request", r.Method+" "+r.URL.Path, "err", err)
	fail(w, http.StatusInternalServerError, "the leader could not answer "+r.Method+" "+r.URL.Path,
		err.Error(), "see the leader's log; retry")
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(Error{Error: "cannot encode the reply", Status: status, Cause: err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

// maxBody bounds a request body (a script with its modules fits).
const maxBody = 4 << 20

// readBody reads a request body up to maxBody.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "", "reading the request body: %v", err)
	}
	if len(b) > maxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "send a smaller body",
			"request body: over the limit of %d bytes", maxBody)
	}
	return b, nil
}

// decodeJSON decodes b, a JSON object, into v and checks that each required
// field is present and not null. A bad body is a 400 that lists the fields.
func decodeJSON(b []byte, v any, fields []string, required ...string) error {
	want := func() string {
		s := "want a JSON object with " + strings.Join(fields, ", ")
		if len(required) > 0 {
			s += " (required: " + strings.Join(required, ", ") + ")"
		}
		return s
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return &httpError{status: http.StatusBadRequest, msg: "request body: " + want(),
			cause: fmt.Sprintf("not a JSON object: %.80s", b), remedy: want()}
	}
	var missing []string
	for _, f := range required {
		if r, ok := raw[f]; !ok || bytes.Equal(bytes.TrimSpace(r), []byte("null")) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return &httpError{status: http.StatusBadRequest, msg: "request body: missing " + strings.Join(missing, ", "),
			cause: "missing required fields: " + strings.Join(missing, ", "), remedy: want()}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &httpError{status: http.StatusBadRequest, msg: "request body: " + err.Error(),
			cause: err.Error(), remedy: want()}
	}
	return nil
}

// decode reads the request body and decodes it (decodeJSON).
func decode(r *http.Request, v any, fields []string, required ...string) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 && len(required) == 0 {
		return nil
	}
	return decodeJSON(b, v, fields, required...)
}
