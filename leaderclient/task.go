package leaderclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// accepted is a 202 reply: the work goes on in a task.
type accepted struct {
	TaskID        string `json:"task_id"`
	ResultURLPath string `json:"result_url_path"`
	Status        string `json:"status"`
}

// taskStatus is a poll of /unit_api/task_results/<id>.
type taskStatus struct {
	Status string          `json:"status"` // pending, running, succeeded, failed
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// fanOut sends a request answered by a fan-out envelope, either at once
// (200) or through a task (202), and returns the per-unit results.
func (c *Client) fanOut(ctx context.Context, method, p string, body any) ([]Result, error) {
	var raw json.RawMessage
	status, err := c.call(ctx, method, p, body, &raw)
	if err != nil {
		return nil, err
	}
	if status == http.StatusAccepted {
		var a accepted
		if err := json.Unmarshal(raw, &a); err != nil || (a.TaskID == "" && a.ResultURLPath == "") {
			if err == nil {
				err = fmt.Errorf("no task_id")
			}
			return nil, c.unreadable(method, p, status, err)
		}
		raw, err = c.Wait(ctx, a.TaskID, a.ResultURLPath)
		if err != nil {
			return nil, err
		}
	}
	rs, err := DecodeEnvelope(raw)
	if err != nil {
		return nil, c.unreadable(method, p, status, err)
	}
	return rs, nil
}

// Wait polls the task id (at resultPath if not empty, else
// /unit_api/task_results/<id>) every PollInterval until it ends or
// TaskTimeout passes, and returns its result.
func (c *Client) Wait(ctx context.Context, id, resultPath string) (json.RawMessage, error) {
	if resultPath == "" {
		resultPath = "/unit_api/task_results/" + esc(id)
	}
	if !strings.HasPrefix(resultPath, "/") {
		return nil, c.unreadable("GET", resultPath, http.StatusAccepted, fmt.Errorf("result_url_path %q is not a path", resultPath))
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.TaskTimeout)
	defer cancel()
	tick := time.NewTicker(c.o.PollInterval)
	defer tick.Stop()
	for {
		var st taskStatus
		code, err := c.call(ctx, "GET", resultPath, nil, &st)
		if err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				return nil, c.taskTimeout(id)
			}
			return nil, err
		}
		switch st.Status {
		case "succeeded":
			return st.Result, nil
		case "failed":
			ue, derr := decodeUnitError(st.Error)
			if derr != nil {
				return nil, c.unreadable("GET", resultPath, code, derr)
			}
			return nil, &Error{URL: c.URL(), Call: "GET " + resultPath, Status: code, Message: "the leader's task " + id + " failed: " + ue.Error()}
		case "pending", "running", "accepted", "":
			if code != http.StatusAccepted && st.Status == "" {
				return nil, c.unreadable("GET", resultPath, code, fmt.Errorf("no status"))
			}
		default:
			return nil, c.unreadable("GET", resultPath, code, fmt.Errorf("unknown task status %q", st.Status))
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, c.taskTimeout(id)
			}
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func (c *Client) taskTimeout(id string) error {
	return &NetError{URL: c.URL(), Call: "task " + id, Waited: c.o.TaskTimeout,
		Err: fmt.Errorf("its task %s had not ended", id)}
}
