package scriptnet

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
)

// A proxy from the environment is a host the lab did not grant: requests
// never go through one. Go reads the environment's proxy once per process,
// so the request runs in a child process with HTTP_PROXY and HTTPS_PROXY
// set to a server that records what reaches it.
func TestNoProxyFromTheEnvironment(t *testing.T) {
	if url := os.Getenv("PIO_TEST_CHILD_GET"); url != "" {
		job := jobFor(t, map[string]string{"scripts.http allowed_hosts": "granted.invalid"})
		v, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    r = http.get(%q, timeout=5)\n    return r.status\n", url))
		fmt.Printf("status %v, error %v\n", v, err)
		return
	}
	proxy := &recorder{}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoProxyFromTheEnvironment$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PIO_TEST_CHILD_GET=http://granted.invalid/x",
		"HTTP_PROXY="+srv.URL, "HTTPS_PROXY="+srv.URL, "http_proxy="+srv.URL, "https_proxy="+srv.URL,
		"NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := proxy.got(); len(got) != 0 {
		t.Errorf("the proxy got %q\nchild: %s", got, out)
	}
}
