// Package leaderclient is a small typed client of the leader's HTTP API: the
// workers and experiments of a lab, starting, changing and stopping jobs on
// units, exports and the audit trail. Paths, bodies and replies are
// upstream's (/api/workers, /api/experiments, jobs/run|update|stop, the 202
// + /unit_api/task_results contract and the per-unit fan-out envelope), so
// the same client speaks to pio's leader and to upstream's.
//
// Every call is bounded: a leader that does not answer is an error of one
// line naming its URL and the time waited, never a hang. An error reply
// ({error, status, cause, remediation}) becomes an *Error whose text is one
// line: what went wrong, then what to do.
package leaderclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/piolab/pio/config"
)

// Defaults of Options.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultTaskTimeout  = 60 * time.Second
	DefaultPollInterval = 200 * time.Millisecond
)

// Options configure a Client.
type Options struct {
	// URL is the leader's base URL, "http://leader.local:8080".
	URL string
	// Token is sent as "Authorization: Bearer <token>" when not empty
	// ([cluster.security] api_token).
	Token string
	// CAFile is a PEM file of the CA that signed an https leader's
	// certificate ([cluster.security] tls_ca_file); empty: the system's.
	CAFile string
	// Timeout bounds each call until its reply has been read (and an
	// export between two reads of its stream). Zero: DefaultTimeout.
	Timeout time.Duration
	// TaskTimeout bounds the wait for a 202's task. Zero: DefaultTaskTimeout.
	TaskTimeout time.Duration
	// PollInterval is the time between two polls of a task: 100 to 250 ms.
	// Zero: DefaultPollInterval.
	PollInterval time.Duration
	// HTTP is the client to use; nil: one of this package's (with CAFile).
	HTTP *http.Client
}

// Client talks to one leader. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	o     Options
}

// New returns a client of the leader at o.URL.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the leader's URL %q is not an http:// or https:// URL with a host (--leader, or [cluster.topology] leader_address and [ui] port, proto)", o.URL)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.TaskTimeout <= 0 {
		o.TaskTimeout = DefaultTaskTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	o.PollInterval = min(max(o.PollInterval, 100*time.Millisecond), 250*time.Millisecond)
	hc := o.HTTP
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if u.Scheme == "https" && o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("the leader's CA file ([cluster.security] tls_ca_file): %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("the leader's CA file %s ([cluster.security] tls_ca_file) holds no PEM certificate", o.CAFile)
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		hc = &http.Client{Transport: tr}
	}
	return &Client{base: u, token: o.Token, http: hc, o: o}, nil
}

// URL is the leader's base URL.
func (c *Client) URL() string { return c.base.String() }

// call sends method path with body (JSON-encoded unless nil) and decodes a
// 2xx reply's JSON into out (unless nil). It returns the status.
func (c *Client) call(ctx context.Context, method, path string, body, out any) (int, error) {
	x, err := c.send(ctx, method, path, body)
	if err != nil {
		return 0, err
	}
	defer x.done()
	resp := x.resp
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, c.netError(x.ctx, method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, DecodeError(c.URL(), method+" "+path, resp.StatusCode, b)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, c.unreadable(method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// exchange is a request under way: its response (headers read), the
// timer that bounds it (Reset it to allow more time), and done, which ends
// it.
type exchange struct {
	resp  *http.Response
	ctx   context.Context
	timer *time.Timer
	done  func()
}

// send starts a request bounded by the timeout and returns it once the
// headers are in. Until done, the body must be read before the timer fires.
func (c *Client) send(ctx context.Context, method, path string, body any) (*exchange, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.o.Timeout, func() { cancel(errTimeout) })
	done := func() { timer.Stop(); cancel(nil) }
	req, err := http.NewRequestWithContext(ctx, method, c.URL()+path, r)
	if err != nil {
		done()
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		err = c.netError(ctx, method, path, err)
		done()
		return nil, err
	}
	return &exchange{resp: resp, ctx: ctx, timer: timer, done: done}, nil
}

var errTimeout = errors.New("timed out")

// netError is the one line for a leader that could not be reached or did
// not answer in time.
func (c *Client) netError(ctx context.Context, method, path string, err error) error {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return &NetError{URL: c.URL(), Call: method + " " + path, Err: fmt.Errorf("no reply to %s %s", method, path), Waited: c.o.Timeout}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &NetError{URL: c.URL(), Call: method + " " + path, Err: err}
}

// NetError is a leader that was not reached or did not answer.
type NetError struct {
	URL    string
	Call   string        // "GET /api/workers"
	Waited time.Duration // non-zero: the call timed out after this long
	Err    error
}

func (e *NetError) Error() string {
	if e.Waited > 0 {
		return fmt.Sprintf("the leader at %s did not answer within %s: %v (is pio leader running there?)", e.URL, e.Waited, e.Err)
	}
	return fmt.Sprintf("the leader at %s did not answer: %v (is pio leader running there? --leader URL or [cluster.topology] leader_address names it)", e.URL, e.Err)
}

func (e *NetError) Unwrap() error { return e.Err }

func (c *Client) unreadable(method, path string, status int, err error) error {
	return &Error{URL: c.URL(), Call: method + " " + path, Status: status,
		Message:     fmt.Sprintf("the leader's reply to %s %s (status %d) is not what pio expects: %v", method, path, status, err),
		Remediation: "check that " + c.URL() + " is a pio or Pioreactor leader of a compatible version"}
}

// esc escapes one path segment (a unit, an experiment, a job).
func esc(s string) string { return url.PathEscape(s) }

// ConfigOptions are the Options a machine's config gives: the leader's URL
// ([cluster.topology] leader_address, [ui] port and proto) unless leaderURL
// is set (a --leader flag), the API token and the CA file of
// [cluster.security], and each call bounded by [cluster.daemon]
// request_timeout_seconds.
func ConfigOptions(o config.ClusterOptions, leaderURL string) Options {
	u := leaderURL
	if u == "" {
		u = o.LeaderURL()
	} else if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	return Options{URL: u, Token: o.Security.APIToken, CAFile: o.Security.TLSCAFile, Timeout: o.RequestTimeout}
}
