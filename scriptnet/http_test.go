package scriptnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/piolab/pio/config"
)

// run runs src's main() with the modules bound to job and ctx.
func run(t *testing.T, ctx context.Context, job *Job, src string) (starlark.Value, error) {
	t.Helper()
	h := Host{
		Job:     func(*starlark.Thread) (*Job, error) { return job, nil },
		Context: func(*starlark.Thread) context.Context { return ctx },
	}
	pre := starlark.StringDict{"http": HTTP(h), "mqtt": MQTT(h), "json": starjson.Module}
	th := &starlark.Thread{Name: "test"}
	g, err := starlark.ExecFileOptions(&syntax.FileOptions{}, th, "test.star", src, pre)
	if err != nil {
		t.Fatal(err)
	}
	return starlark.Call(th, g["main"], nil, nil)
}

// jobFor is a job whose grants come from [scripts.http] and [scripts.mqtt]
// keys given as "section key" -> value.
func jobFor(t *testing.T, kv map[string]string) *Job {
	t.Helper()
	cfg := config.New()
	for k, v := range kv {
		sec, key, _ := strings.Cut(k, " ")
		cfg.Set(sec, key, v)
	}
	g, err := ReadGrants(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Grants: g, Unit: "u1", Experiment: "e1", Name: "reporter"}
}

func hostOf(s *httptest.Server) string {
	u, _ := url.Parse(s.URL)
	return u.Host
}

// recorder is a server that answers every request with a JSON body and
// keeps what it received.
type recorder struct {
	mu   sync.Mutex
	reqs []string // "METHOD path content-type body"
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, fmt.Sprintf("%s %s %s %s", req.Method, req.URL.Path, req.Header.Get("Content-Type"), b))
	r.mu.Unlock()
	w.Header().Set("X-Reply", "yes")
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"n": %d, "auth": %q}`, len(r.reqs), req.Header.Get("Authorization"))
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

func TestGetAndPostToAnAllowedHost(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv)})
	v, err := run(t, context.Background(), job, fmt.Sprintf(`
def main():
    r = http.get("%[1]s/status", headers={"Authorization": "Bearer x"})
    assert_(r.status == 200 and r.ok and r.error == "", r)
    assert_(r.headers["x-reply"] == "yes", r.headers)
    assert_(r.json() == {"n": 1, "auth": "Bearer x"}, r.body)
    p = http.post("%[1]s/summary", json={"od": 0.5, "pumps": ["media"]})
    assert_(p.ok, p)
    b = http.post("%[1]s/text", body="hello", timeout=2)
    return b.json()["n"]
`, srv.URL)+assertDef)
	if err != nil {
		t.Fatal(err)
	}
	if v != starlark.MakeInt(3) {
		t.Errorf("main() = %v", v)
	}
	want := []string{
		"GET /status  ",
		`POST /summary application/json {"od":0.5,"pumps":["media"]}`,
		"POST /text text/plain; charset=utf-8 hello",
	}
	if got := rec.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("server got %q\nwant %q", got, want)
	}
}

const assertDef = `
def assert_(cond, what):
    if not cond:
        fail("assertion failed: %s" % (what,))
`

// Refusals are errors naming what to grant; nothing is sent.
func TestRefused(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	other := httptest.NewServer(rec)
	defer other.Close()
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(other) + ", example.org"})
	h := hostOf(srv)
	for _, c := range []struct{ call, want string }{
		{fmt.Sprintf(`http.get("%s/x")`, srv.URL),
			fmt.Sprintf(`http.get("%s/x"): host %s: not granted; add %s to [scripts.http] allowed_hosts`, srv.URL, h, h)},
		{fmt.Sprintf(`http.post("%s/x", json={})`, srv.URL), "add " + h + " to [scripts.http] allowed_hosts"},
		{`http.get("http://example.org:8080/")`, "host example.org:8080: not granted; add example.org:8080 to [scripts.http] allowed_hosts"},
		{`http.get("http://EXAMPLE.org.evil.net/")`, "add example.org.evil.net to"},
		{`http.get("file:///etc/passwd")`, `http.get("file:///etc/passwd"): scheme "file": only http and https`},
		{`http.get("ftp://example.org/")`, `scheme "ftp": only http and https`},
		{`http.get("example.org/x")`, `scheme "": only http and https`},
		{`http.get("http:///x")`, `the URL has no host`},
		{`http.get("http://exa mple.org/")`, `invalid character " " in host name`},
		{`http.post("http://example.org/", json={}, body="x")`, "give json or body, not both"},
		{`http.post("http://example.org/", body=1)`, "body: got int, want string or bytes"},
		{`http.get("http://example.org/", timeout=0)`, "timeout: want a number of seconds more than 0, got 0"},
		{`http.get("http://example.org/", timeout="5")`, "timeout: got string, want a number of seconds"},
		{`http.get("http://example.org/", headers={"X": 1})`, "headers: want string names and values, got string: int"},
	} {
		_, err := run(t, context.Background(), job, "def main():\n    return "+c.call+"\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %q", c.call, err, c.want)
		}
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the servers got %q", got)
	}
}

// The default port of the scheme is granted by the bare name; a name
// granted with a port is not granted on the default port.
func TestCheckURL(t *testing.T) {
	g := &Grants{Hosts: map[string]bool{"a.lab": true, "b.lab:8080": true, "[::1]:9000": true, "10.0.0.5": true}}
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"http://a.lab/x", true},
		{"https://a.lab/x", true},
		{"http://a.lab:80/x", true},
		{"https://a.lab:443/x", true},
		{"http://a.lab:8080/x", false},
		{"https://a.lab:80/x", false},
		{"http://A.LAB./x", true},
		{"http://b.lab:8080/", true},
		{"https://b.lab:8080/", true},
		{"http://b.lab/", false},
		{"http://[::1]:9000/", true},
		{"http://[0::1]:9000/", true},
		{"http://[::1]/", false},
		{"http://10.0.0.5/", true},
		{"http://10.0.0.6/", false},
		{"http://user:pw@a.lab/", true},
		{"http://a.lab.evil/", false},
		{"http://evil/a.lab", false},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		err = g.CheckURL(u)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want allowed %v", c.url, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrNotGranted) {
			t.Errorf("%s: %v does not wrap ErrNotGranted", c.url, err)
		}
	}
}

func TestRedirects(t *testing.T) {
	refused := &recorder{}
	outside := httptest.NewServer(refused)
	defer outside.Close()
	allowed := &recorder{}
	inside := httptest.NewServer(allowed)
	defer inside.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/out", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, outside.URL+"/stolen", http.StatusFound)
	})
	mux.HandleFunc("/in", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inside.URL+"/fine", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	front := httptest.NewServer(mux)
	defer front.Close()
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(front) + "," + hostOf(inside)})

	_, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    return http.get(%q)\n", front.URL+"/out"))
	want := fmt.Sprintf(`http.get("%s/out"): redirect to %s/stolen: host %s: not granted; add %s to [scripts.http] allowed_hosts`,
		front.URL, outside.URL, hostOf(outside), hostOf(outside))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("redirect out: %v\nwant %q", err, want)
	}
	if got := refused.got(); len(got) != 0 {
		t.Errorf("the refused host got %q", got)
	}

	_, err = run(t, context.Background(), job, fmt.Sprintf("def main():\n    return http.get(%q)\n", front.URL+"/file"))
	if err == nil || !strings.Contains(err.Error(), `scheme "file": only http and https`) {
		t.Errorf("redirect to file: %v", err)
	}

	v, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    return http.get(%q).json()['n']\n", front.URL+"/in"))
	if err != nil || v != starlark.MakeInt(1) {
		t.Errorf("redirect in: %v, %v", v, err)
	}

	v, err = run(t, context.Background(), job, fmt.Sprintf("def main():\n    r = http.get(%q)\n    return (r.ok, r.status, r.error)\n", front.URL+"/loop"))
	if err != nil || !strings.Contains(v.String(), "stopped after 5 redirects") || !strings.Contains(v.String(), "(False, 0,") {
		t.Errorf("redirect loop: %v, %v", v, err)
	}
}

// hanging is a server whose handler blocks until the test ends; started
// is signalled when a request arrives.
func hanging(t *testing.T, headersFirst bool) (*httptest.Server, chan struct{}) {
	started := make(chan struct{}, 10)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headersFirst {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		started <- struct{}{}
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv, started
}

// A hanging endpoint returns at the call's time-out or the configured one,
// whichever is shorter, as a response with its error; the job goes on.
func TestTimeOut(t *testing.T) {
	for _, headersFirst := range []bool{false, true} {
		srv, _ := hanging(t, headersFirst)
		job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv), "scripts.http timeout_seconds": "0.1"})
		v, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    r = http.get(%q, timeout=60)\n    return (r.ok, r.error)\n", srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		if want := `(False, "timed out after 0.1 s ([scripts.http] timeout_seconds)")`; v.String() != want {
			t.Errorf("headers first %v: %v, want %s", headersFirst, v, want)
		}
		job = jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv)})
		v, err = run(t, context.Background(), job, fmt.Sprintf("def main():\n    r = http.post(%q, json={}, timeout=0.05)\n    return r.error\n", srv.URL))
		if err != nil || v.String() != `"timed out after 0.05 s"` {
			t.Errorf("headers first %v: %v, %v", headersFirst, v, err)
		}
	}
}

// A job stopped while a request hangs returns at once with the stop's
// error, whatever the time-out.
func TestCancelWhileHanging(t *testing.T) {
	for _, headersFirst := range []bool{false, true} {
		srv, started := hanging(t, headersFirst)
		job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv), "scripts.http timeout_seconds": "300"})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		_, err := run(t, ctx, job, fmt.Sprintf("def main():\n    return http.get(%q)\n", srv.URL))
		if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `http.get("`+srv.URL+`"): context canceled`) {
			t.Errorf("headers first %v: %v", headersFirst, err)
		}
	}
}

func TestResponseCap(t *testing.T) {
	size := 1024
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", size)))
	}))
	defer srv.Close()
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv), "scripts.http max_response_kb": "1"})
	src := fmt.Sprintf("def main():\n    r = http.get(%q)\n    return (r.ok, r.status, len(r.body), r.error)\n", srv.URL)
	v, err := run(t, context.Background(), job, src)
	if err != nil || v.String() != `(True, 200, 1024, "")` {
		t.Errorf("1024 bytes: %v, %v", v, err)
	}
	size = 1025
	v, err = run(t, context.Background(), job, src)
	if err != nil || v.String() != `(False, 200, 0, "response body over 1 kB ([scripts.http] max_response_kb)")` {
		t.Errorf("1025 bytes: %v, %v", v, err)
	}
}

func TestBadJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("<html>oops</html>"))
	}))
	defer srv.Close()
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv)})
	v, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    r = http.get(%q)\n    return (r.ok, r.status, r.body)\n", srv.URL))
	if err != nil || v.String() != `(False, 500, "<html>oops</html>")` {
		t.Errorf("%v, %v", v, err)
	}
	_, err = run(t, context.Background(), job, fmt.Sprintf("def main():\n    return http.get(%q).json()\n", srv.URL))
	want := fmt.Sprintf(`http.get("%s").json(): the body is not JSON (`, srv.URL)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%v\nwant %q", err, want)
	}
}

// A refused connection is a response with status 0 and the reason.
func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	u, _ := url.Parse(addr)
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": u.Host})
	v, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    r = http.get(%q)\n    return (r.ok, r.status, r.error)\n", addr))
	if err != nil || !strings.HasPrefix(v.String(), `(False, 0, "dial tcp`) {
		t.Errorf("%v, %v", v, err)
	}
}

func TestCallTimeout(t *testing.T) {
	limit := 10 * time.Second
	for _, c := range []struct {
		v    starlark.Value
		want time.Duration
	}{
		{starlark.None, limit},
		{starlark.MakeInt(3), 3 * time.Second},
		{starlark.Float(0.25), 250 * time.Millisecond},
		{starlark.MakeInt(11), limit},
		{starlark.Float(1e300), limit},
	} {
		got, err := callTimeout(c.v, limit)
		if err != nil || got != c.want {
			t.Errorf("%v: %v, %v; want %v", c.v, got, err, c.want)
		}
	}
	for _, v := range []starlark.Value{starlark.MakeInt(0), starlark.Float(-1), starlark.String("1")} {
		if _, err := callTimeout(v, limit); err == nil {
			t.Errorf("%v: no error", v)
		}
	}
}

// Response headers are capped too: a server cannot push megabytes into a
// script through them.
func TestResponseHeaderCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 100; i++ {
			w.Header().Add(fmt.Sprintf("X-Big-%d", i), strings.Repeat("y", 1000))
		}
		w.Write([]byte("small"))
	}))
	defer srv.Close()
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv)})
	v, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    r = http.get(%q)\n    return (r.ok, r.status, len(r.headers), r.error)\n", srv.URL))
	if err != nil || v.String() != `(False, 0, 0, "response headers over 64 kB")` {
		t.Errorf("%v, %v", v, err)
	}
}

// Headers a script cannot set, or that are not HTTP headers, are errors of
// the call, and nothing is sent.
func TestBadRequestHeaders(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv)})
	for _, c := range []struct{ headers, want string }{
		{`{"Host": "other.lab"}`, `headers: "Host" is set from the URL`},
		{`{"host": "other.lab"}`, `headers: "host" is set from the URL`},
		{`{"Content-Length": "5"}`, `headers: "Content-Length" is set from the body`},
		{`{"Transfer-Encoding": "chunked"}`, `headers: "Transfer-Encoding" is set from the body`},
		{`{"X-A": "a\r\nX-B: b"}`, `headers: the value of "X-A" has a line break or NUL`},
		{`{"X A": "a"}`, `headers: "X A" is not a header name`},
		{`{"": "a"}`, `headers: "" is not a header name`},
	} {
		call := fmt.Sprintf("http.get(%q, headers=%s)", srv.URL, c.headers)
		_, err := run(t, context.Background(), job, "def main():\n    return "+call+"\n")
		want := fmt.Sprintf("http.get(%q): %s", srv.URL, c.want)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", c.headers, err, want)
		}
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the server got %q", got)
	}
}

// A request ends at the run's max_execute_minutes (Job.Left) when that
// comes first, with the run's error; a run already past it sends nothing.
func TestRequestEndsWithTheRun(t *testing.T) {
	srv, _ := hanging(t, false)
	job := jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(srv)})
	overdue := errors.New("execute() ran past its limit of 1m0s (max_execute_minutes) and was stopped")
	left := 50 * time.Millisecond
	job.Left = func() (time.Duration, error) { return left, overdue }
	_, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    return http.get(%q)\n", srv.URL))
	if !errors.Is(err, overdue) || err.Error() != fmt.Sprintf("http.get(%q): %v", srv.URL, overdue) {
		t.Errorf("%v", err)
	}
	// The call's own, shorter time-out is a response as before.
	v, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    return http.get(%q, timeout=0.01).error\n", srv.URL))
	if err != nil || v.String() != `"timed out after 0.01 s"` {
		t.Errorf("%v, %v", v, err)
	}
	rec := &recorder{}
	other := httptest.NewServer(rec)
	defer other.Close()
	job = jobFor(t, map[string]string{"scripts.http allowed_hosts": hostOf(other)})
	job.Left = func() (time.Duration, error) { return 0, overdue }
	_, err = run(t, context.Background(), job, fmt.Sprintf("def main():\n    return http.get(%q)\n", other.URL))
	if !errors.Is(err, overdue) {
		t.Errorf("%v", err)
	}
	if got := rec.got(); len(got) != 0 {
		t.Errorf("the server got %q", got)
	}
}
