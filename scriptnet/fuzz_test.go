package scriptnet

import (
	"net/url"
	"strings"
	"testing"

	"github.com/piolab/pio/topic"
)

// Whatever allowed_hosts says, parsing never panics, every accepted entry
// has a canonical form that parses to itself, and a URL to it is granted.
func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{"example.org", "example.org:8080, localhost", "[::1]:9000", "127.0.0.1",
		"http://x", "*.lab", "a..b", "[::1", "::1", "Ex-Ample.ORG.:1", "a:b:c", ",,", "x_y.lab:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hosts, err := ParseHosts(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "allowed host ") {
				t.Errorf("%q: error %q does not name the entry", s, err)
			}
			return
		}
		for k := range hosts {
			again, err := ParseHosts(k)
			if err != nil || len(again) != 1 || !again[k] {
				t.Errorf("%q: canonical %q parses to %v, %v", s, k, again, err)
			}
			u, err := url.Parse("http://" + k + "/")
			if err != nil {
				t.Errorf("%q: canonical %q is no URL host: %v", s, k, err)
				continue
			}
			if err := (&Grants{Hosts: hosts}).CheckURL(u); err != nil {
				t.Errorf("%q: %s refused: %v", s, u, err)
			}
		}
	})
}

// For a topic (a filter without wildcards), Covers agrees with
// topic.Match; a filter is covered by itself and by #, unless it starts
// with $.
func FuzzCovers(f *testing.F) {
	f.Add("a/+/c", "a/b/c")
	f.Add("#", "$SYS/x")
	f.Add("a/#", "a")
	f.Add("+/+", "a/")
	f.Fuzz(func(t *testing.T, g, x string) {
		if ValidFilter(g) != nil || ValidFilter(x) != nil {
			return
		}
		if ValidTopic(x) == nil && Covers(g, x) != topic.Match(g, x) {
			t.Errorf("Covers(%q, %q) = %v, topic.Match %v", g, x, Covers(g, x), topic.Match(g, x))
		}
		if !Covers(x, x) {
			t.Errorf("%q does not cover itself", x)
		}
		if !strings.HasPrefix(x, "$") && !Covers("#", x) {
			t.Errorf("# does not cover %q", x)
		}
	})
}

// Whatever the URL, CheckURL never panics, and a URL it allows is http or
// https to a host:port the grants list (the bare host for the scheme's
// default port), as the request will dial it.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://a.lab/x", "https://A.LAB.:443/", "http://evil@a.lab/", "http://a.lab@evil/",
		"http://[::1]:9000/", "http://[::ffff:10.0.0.5]/", "http://10.0.0.5./", "http://a.lab:080/", "http://a.lab%2eevil/",
		"http://a.lab\\@evil/", "http:a.lab", "//a.lab/", "http://[fe80::1%25en0]/", "HTTP://a.lab:/"} {
		f.Add(s)
	}
	g := &Grants{Hosts: map[string]bool{"a.lab": true, "b.lab:8080": true, "[::1]:9000": true, "10.0.0.5": true}}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || g.CheckURL(u) != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("%q: scheme %q allowed", raw, u.Scheme)
		}
		// The request dials the URL as printed: parse it again.
		again, err := url.Parse(u.String())
		if err != nil {
			t.Fatalf("%q: allowed, but %q does not parse: %v", raw, u.String(), err)
		}
		host, err := canonicalHost(strings.TrimSuffix(again.Hostname(), "."))
		if err != nil {
			t.Fatalf("%q: allowed host %q: %v", raw, again.Hostname(), err)
		}
		port := again.Port()
		def := map[string]string{"http": "80", "https": "443"}[again.Scheme]
		if !(g.Hosts[host+":"+port] || (port == "" || port == def) && g.Hosts[host]) {
			t.Fatalf("%q: allowed, but dials %s port %q", raw, host, port)
		}
	})
}
