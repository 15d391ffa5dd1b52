package scriptnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// MaxRedirects is how many redirects a request follows, each to a host
// allowed_hosts grants.
const MaxRedirects = 5

// MaxResponseHeaders bounds a response's headers, in bytes, as
// [scripts.http] max_response_kb bounds its body.
const MaxResponseHeaders = 64 * 1024

// CheckURL checks that a script may request u: its scheme is http or https
// and its host is one [scripts.http] allowed_hosts grants, "host" for the
// scheme's default port or "host:port".
func (g *Grants) CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: only http and https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("the URL has no host")
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return fmt.Errorf("host %q: %v", u.Hostname(), err)
	}
	port := u.Port()
	def := "80"
	if u.Scheme == "https" {
		def = "443"
	}
	want := host
	if port != "" && port != def {
		want = host + ":" + port
	}
	if g.Hosts[host+":"+orDefault(port, def)] || (orDefault(port, def) == def && g.Hosts[host]) {
		return nil
	}
	return fmt.Errorf("host %s: %w; add %s to [%s] allowed_hosts", want, ErrNotGranted, want, HTTPSection)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// transport is shared by every script's requests: it keeps connections
// alive across calls. It connects to the granted host itself, never
// through a proxy from the environment (HTTP_PROXY, HTTPS_PROXY): a proxy
// is a host the lab did not grant, and it would see every request.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxResponseHeaderBytes = MaxResponseHeaders
	t.DialContext = (&net.Dialer{Timeout: MaxTimeout, KeepAlive: 30 * time.Second}).DialContext
	return t
}()

// request is one call of http.get or http.post.
type request struct {
	call    string // "http.get(\"https://...\")" for errors
	method  string
	url     string
	headers *starlark.Dict
	body    []byte
	ctype   string
	timeout starlark.Value
	// overdue is the run's error at its max_execute_minutes when that
	// comes before the request's time-out, else nil.
	overdue error
}

// get is http.get(url, headers=None, timeout=None).
func (h Host) get(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r := request{method: http.MethodGet, timeout: starlark.None}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &r.url, "headers?", &r.headers, "timeout?", &r.timeout); err != nil {
		return nil, err
	}
	r.call = fmt.Sprintf("%s(%q)", b.Name(), r.url)
	return h.do(th, &r)
}

// post is http.post(url, json=None, body=None, headers=None, timeout=None).
func (h Host) post(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r := request{method: http.MethodPost, timeout: starlark.None}
	var js, body starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &r.url, "json?", &js, "body?", &body,
		"headers?", &r.headers, "timeout?", &r.timeout); err != nil {
		return nil, err
	}
	r.call = fmt.Sprintf("%s(%q)", b.Name(), r.url)
	switch {
	case js != starlark.None && body != starlark.None:
		return nil, fmt.Errorf("%s: give json or body, not both", r.call)
	case js != starlark.None:
		s, err := encodeJSON(th, js)
		if err != nil {
			return nil, fmt.Errorf("%s: json: %v", r.call, err)
		}
		r.body, r.ctype = []byte(s), "application/json"
	case body != starlark.None:
		switch v := body.(type) {
		case starlark.String:
			r.body = []byte(v)
		case starlark.Bytes:
			r.body = []byte(v)
		default:
			return nil, fmt.Errorf("%s: body: got %s, want string or bytes (or give json=)", r.call, body.Type())
		}
		r.ctype = "text/plain; charset=utf-8"
	}
	return h.do(th, &r)
}

// encodeJSON encodes v with starlark-go's json.encode.
func encodeJSON(th *starlark.Thread, v starlark.Value) (string, error) {
	s, err := starlark.Call(th, starjson.Module.Members["encode"], starlark.Tuple{v}, nil)
	if err != nil {
		return "", err
	}
	return string(s.(starlark.String)), nil
}

// do checks and sends a request. Refusals (a host or scheme not granted, a
// redirect to one, bad arguments) and a stop of the job are errors; what
// goes wrong on the network (a time-out, a refused connection, a body over
// the cap) is a response with status 0 or the server's status, ok False and
// error saying what happened, so a script can log it and go on.
func (h Host) do(th *starlark.Thread, r *request) (starlark.Value, error) {
	job, err := h.Job(th)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.call, err)
	}
	g := job.Grants
	u, err := url.Parse(r.url)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", r.call, err)
	}
	if err := g.CheckURL(u); err != nil {
		return nil, fmt.Errorf("%s: %w", r.call, err)
	}
	timeout, err := callTimeout(r.timeout, g.Timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: timeout: %v", r.call, err)
	}
	if job.Left != nil {
		left, overdue := job.Left()
		if left <= 0 {
			return nil, fmt.Errorf("%s: %w", r.call, overdue)
		}
		if left < timeout {
			timeout, r.overdue = left, overdue
		}
	}
	parent := h.Context(th)
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", r.call, err)
	}
	if r.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("User-Agent", "pio-script")
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.headers != nil {
		for _, kv := range r.headers.Items() {
			k, ok1 := starlark.AsString(kv[0])
			v, ok2 := starlark.AsString(kv[1])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: headers: want string names and values, got %s: %s", r.call, kv[0].Type(), kv[1].Type())
			}
			if err := checkHeader(k, v); err != nil {
				return nil, fmt.Errorf("%s: headers: %v", r.call, err)
			}
			req.Header.Set(k, v)
		}
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(next *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		if err := g.CheckURL(next.URL); err != nil {
			return refusal{fmt.Errorf("redirect to %s: %w", next.URL.Redacted(), err)}
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		return h.failed(r, parent, ctx, timeout, g, 0, nil, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, g.MaxResponse+1))
	if err != nil {
		return h.failed(r, parent, ctx, timeout, g, resp.StatusCode, resp.Header, err)
	}
	if int64(len(body)) > g.MaxResponse {
		return h.failed(r, parent, ctx, timeout, g, resp.StatusCode, resp.Header,
			fmt.Errorf("response body over %d kB ([%s] max_response_kb)", g.MaxResponse/1024, HTTPSection))
	}
	return response(r.call, resp.StatusCode, resp.Header, string(body), ""), nil
}

// checkHeader checks a header a script sets: a name made of HTTP's token
// characters, a value without line breaks or NUL, and not one of those
// that pio sets itself from the URL and the body (Go would drop them
// silently).
func checkHeader(name, value string) error {
	if name == "" || strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	}) >= 0 {
		return fmt.Errorf("%q is not a header name", name)
	}
	switch http.CanonicalHeaderKey(name) {
	case "Host":
		return fmt.Errorf("%q is set from the URL", name)
	case "Content-Length", "Transfer-Encoding", "Trailer":
		return fmt.Errorf("%q is set from the body", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("the value of %q has a line break or NUL", name)
	}
	return nil
}

// refusal is a redirect that CheckURL refused: an error of the call, not a
// response.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// failed turns what went wrong into a response, or an error when the job
// is stopping, the run reached its max_execute_minutes or a redirect was
// refused.
func (h Host) failed(r *request, parent, ctx context.Context, timeout time.Duration, g *Grants, status int, hdr http.Header, err error) (starlark.Value, error) {
	if parent.Err() != nil {
		return nil, fmt.Errorf("%s: %w", r.call, parent.Err())
	}
	var ref refusal
	if errors.As(err, &ref) {
		return nil, fmt.Errorf("%s: %w", r.call, ref.err)
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	if strings.Contains(msg, "server response headers exceeded") { // net/http's error, which has no type
		msg = fmt.Sprintf("response headers over %d kB", MaxResponseHeaders/1024)
	}
	if ctx.Err() != nil && r.overdue != nil {
		return nil, fmt.Errorf("%s: %w", r.call, r.overdue)
	}
	if ctx.Err() != nil {
		msg = fmt.Sprintf("timed out after %s s", seconds(timeout))
		if timeout == g.Timeout {
			msg += fmt.Sprintf(" ([%s] timeout_seconds)", HTTPSection)
		}
	}
	return response(r.call, status, hdr, "", msg), nil
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// callTimeout is a call's timeout= (None: the limit), capped by the limit.
func callTimeout(v starlark.Value, limit time.Duration) (time.Duration, error) {
	if v == starlark.None {
		return limit, nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("got %s, want a number of seconds", v.Type())
	}
	if math.IsNaN(f) || f <= 0 {
		return 0, fmt.Errorf("want a number of seconds more than 0, got %v", v)
	}
	if f >= limit.Seconds() {
		return limit, nil
	}
	return time.Duration(f * float64(time.Second)), nil
}

// response is the Starlark value of a response: status, ok, error, body,
// headers and the method json().
func response(call string, status int, hdr http.Header, body, errMsg string) starlark.Value {
	headers := starlark.NewDict(len(hdr))
	names := make([]string, 0, len(hdr))
	for k := range hdr {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		headers.SetKey(starlark.String(strings.ToLower(k)), starlark.String(strings.Join(hdr[k], ", ")))
	}
	headers.Freeze()
	decode := starlark.NewBuiltin("json", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackPositionalArgs(call+".json", args, kwargs, 0); err != nil {
			return nil, err
		}
		v, err := starlark.Call(th, starjson.Module.Members["decode"], starlark.Tuple{starlark.String(body)}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s.json(): the body is not JSON (%s)", call, strings.TrimPrefix(err.Error(), "json.decode: "))
		}
		return v, nil
	})
	return starlarkstruct.FromStringDict(starlark.String("http.response"), starlark.StringDict{
		"status":  starlark.MakeInt(status),
		"ok":      starlark.Bool(errMsg == "" && status >= 200 && status < 300),
		"error":   starlark.String(errMsg),
		"body":    starlark.String(body),
		"headers": headers,
		"json":    decode,
	})
}
