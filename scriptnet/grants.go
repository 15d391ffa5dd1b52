// Package scriptnet lets scripts reach software outside the unit, deny by
// default: the http module (GET and POST to the hosts [scripts.http]
// allowed_hosts grants, with time-outs, a cap on response bodies and
// cancellation when the job stops) and the mqtt module (publishing beyond a
// job's own topics to the filters [scripts.mqtt] publish grants). It also
// checks a script's handler subscriptions against [scripts.mqtt] subscribe.
// The reference for script authors is docs/script-network.md.
package scriptnet

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/topic"
)

// The configuration sections that grant network access to scripts.
const (
	HTTPSection = "scripts.http"
	MQTTSection = "scripts.mqtt"
)

// Bounds of [scripts.http] timeout_seconds and max_response_kb.
const (
	MinTimeout     = 100 * time.Millisecond
	MaxTimeout     = 300 * time.Second
	MaxResponseKB  = 16384
	maxFilterBytes = 65535 // MQTT's limit on a topic's length
)

// ErrNotGranted is wrapped by every refusal of a host or topic that the
// configuration does not grant.
var ErrNotGranted = errors.New("not granted")

// Grants are what scripts may reach. The zero value grants nothing.
type Grants struct {
	// Hosts are the allowed hosts, each "host" (the scheme's default port)
	// or "host:port", canonical: lower case, IP addresses as net.IP prints
	// them, IPv6 in brackets.
	Hosts map[string]bool
	// Timeout bounds every request; MaxResponse bounds a response body, in
	// bytes.
	Timeout     time.Duration
	MaxResponse int64
	// Publish and Subscribe are MQTT topic filters.
	Publish, Subscribe []string
}

// ReadGrants reads [scripts.http] and [scripts.mqtt] (nil: pio's defaults,
// which grant nothing). A bad entry is an error naming the file, line, key
// and entry.
func ReadGrants(cfg *config.Config) (*Grants, error) {
	if cfg == nil {
		cfg = config.New()
	}
	h := cfg.Section(HTTPSection)
	g := &Grants{}
	var err error
	if g.Hosts, err = ParseHosts(h.String("allowed_hosts")); err != nil {
		h.Fail("allowed_hosts", "%v", err)
	}
	g.Timeout = h.Seconds("timeout_seconds", config.Within(MinTimeout.Seconds(), MaxTimeout.Seconds()),
		fmt.Sprintf("a number of seconds from %v to %v", MinTimeout.Seconds(), MaxTimeout.Seconds()))
	g.MaxResponse = int64(h.Int("max_response_kb", 1, MaxResponseKB)) * 1024
	m := cfg.Section(MQTTSection)
	if g.Publish, err = ParseFilters(m.String("publish")); err != nil {
		m.Fail("publish", "%v", err)
	}
	if g.Subscribe, err = ParseFilters(m.String("subscribe")); err != nil {
		m.Fail("subscribe", "%v", err)
	}
	if err := errors.Join(h.Err(), m.Err()); err != nil {
		return nil, err
	}
	return g, nil
}

// ParseHosts parses allowed_hosts: host names or IP addresses, each
// optionally with :port, IPv6 in brackets ("[::1]:8080"). Names are exact;
// there are no wildcards. It returns the canonical forms (see Grants.Hosts).
func ParseHosts(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, e := range config.List(s) {
		k, err := parseHost(e)
		if err != nil {
			return nil, fmt.Errorf("allowed host %q: %v", e, err)
		}
		out[k] = true
	}
	return out, nil
}

func parseHost(e string) (string, error) {
	if strings.Contains(e, "://") || strings.ContainsAny(e, "/?@") {
		return "", errors.New("want a host name or host:port, without scheme, path or user")
	}
	if strings.Contains(e, "*") {
		return "", errors.New("wildcards are not allowed; list each host")
	}
	host, port := e, ""
	switch {
	case strings.HasPrefix(e, "["):
		end := strings.Index(e, "]")
		if end < 0 {
			return "", errors.New("an IPv6 address without its closing ]")
		}
		host = e[1:end]
		rest := e[end+1:]
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok || p == "" {
				return "", errors.New("want [IPv6] or [IPv6]:port")
			}
			port = p
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", fmt.Errorf("%q is not an IPv6 address", host)
		}
	case strings.Count(e, ":") > 1:
		return "", errors.New("write an IPv6 address in brackets: [2001:db8::1] or [2001:db8::1]:8080")
	case strings.Contains(e, ":"):
		host, port, _ = strings.Cut(e, ":")
		if port == "" {
			return "", errors.New(`port "": want a number from 1 to 65535`)
		}
	}
	canon, err := canonicalHost(host)
	if err != nil {
		return "", err
	}
	if port == "" {
		return canon, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", fmt.Errorf("port %q: want a number from 1 to 65535", port)
	}
	return canon + ":" + port, nil
}

// canonicalHost lower-cases a name, drops a trailing dot, and prints an IP
// address as net.IP does (IPv6 in brackets); it refuses anything else.
func canonicalHost(h string) (string, error) {
	if ip := net.ParseIP(h); ip != nil {
		if ip.To4() != nil {
			return ip.String(), nil
		}
		return "[" + ip.String() + "]", nil
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "" || len(h) > 253 {
		return "", errors.New("want a host name of 1 to 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", fmt.Errorf("%q is not a host name", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("%q is not a host name", h)
			}
		}
	}
	return h, nil
}

// ParseFilters parses a list of MQTT topic filters.
func ParseFilters(s string) ([]string, error) {
	var out []string
	for _, e := range config.List(s) {
		if err := ValidFilter(e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ValidFilter checks an MQTT topic filter: not empty, UTF-8, + only as a
// whole level, # only as the whole last level. (A broker drops the
// connection of a client that sends a filter or topic that is not UTF-8.)
func ValidFilter(f string) error {
	if f == "" || len(f) > maxFilterBytes || strings.ContainsRune(f, 0) {
		return fmt.Errorf("topic filter %q: want 1 to %d bytes without NUL", f, maxFilterBytes)
	}
	if !utf8.ValidString(f) {
		return fmt.Errorf("topic filter %q: not valid UTF-8 (MQTT topics are UTF-8)", f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("topic filter %q: # must be the last level", f)
		case l != "#" && l != "+" && strings.ContainsAny(l, "#+"):
			return fmt.Errorf("topic filter %q: + and # must be whole levels", f)
		}
	}
	return nil
}

// ValidTopic checks a topic to publish to: not empty, UTF-8, no wildcards.
func ValidTopic(t string) error {
	if t == "" || len(t) > maxFilterBytes || strings.ContainsRune(t, 0) {
		return fmt.Errorf("topic %q: want 1 to %d bytes without NUL", t, maxFilterBytes)
	}
	if !utf8.ValidString(t) {
		return fmt.Errorf("topic %q: not valid UTF-8 (MQTT topics are UTF-8)", t)
	}
	if strings.ContainsAny(t, "+#") {
		return fmt.Errorf("topic %q: a topic to publish to has no wildcards (+ or #)", t)
	}
	return nil
}

// Covers reports whether every topic that filter f matches is matched by
// grant g: a literal level covers only itself, + covers any one level but
// not #, # covers the rest. As MQTT says, a wildcard at the first level
// does not match topics that start with $.
func Covers(g, f string) bool {
	first := true
	for {
		gl, grest, gmore := strings.Cut(g, "/")
		fl, frest, fmore := strings.Cut(f, "/")
		if gl == "#" {
			return !(first && strings.HasPrefix(fl, "$"))
		}
		switch {
		case fl == "#":
			return false // f matches more levels than g does
		case gl == "+":
			if fl != "+" && first && strings.HasPrefix(fl, "$") {
				return false
			}
		case gl != fl:
			return false
		}
		if !gmore || !fmore {
			if !fmore && gmore {
				return grest == "#" // "a/#" covers "a"
			}
			return gmore == fmore
		}
		g, f, first = grest, frest, false
	}
}

func covered(grants []string, f string) bool {
	for _, g := range grants {
		if Covers(g, f) {
			return true
		}
	}
	return false
}

// own is the prefix of the unit's own topics: pioreactor/<unit>/<experiment>/.
func own(unit, experiment string) string { return topic.Join(unit, experiment) + "/" }

// CheckSubscribe checks a handler's filter: one relative to
// pioreactor/<unit>/<experiment>/ (not starting with pioreactor/) or
// inside it needs no grant; any other must be covered by a [scripts.mqtt]
// subscribe filter.
func CheckSubscribe(cfg *config.Config, unit, experiment, filter string) error {
	g, err := ReadGrants(cfg)
	if err != nil {
		return err
	}
	return g.CheckSubscribe(unit, experiment, filter)
}

// CheckSubscribe is CheckSubscribe with grants read already.
func (g *Grants) CheckSubscribe(unit, experiment, filter string) error {
	if err := ValidFilter(filter); err != nil {
		return err
	}
	if !strings.HasPrefix(filter, topic.Root+"/") || strings.HasPrefix(filter, own(unit, experiment)) {
		return nil
	}
	if covered(g.Subscribe, filter) {
		return nil
	}
	return fmt.Errorf("subscribe to %q: %w (outside %s); add %s to [%s] subscribe",
		filter, ErrNotGranted, own(unit, experiment), filter, MQTTSection)
}

// CheckPublish checks a topic a script publishes to: the job's own topics,
// under pioreactor/<unit>/<experiment>/<job>/, need no grant (except those
// with a level starting with $, such as the job's $state, which are the
// runtime's); any other must be covered by a [scripts.mqtt] publish filter.
func CheckPublish(cfg *config.Config, unit, experiment, job, t string) error {
	g, err := ReadGrants(cfg)
	if err != nil {
		return err
	}
	return g.CheckPublish(unit, experiment, job, t)
}

// CheckPublish is CheckPublish with grants read already.
func (g *Grants) CheckPublish(unit, experiment, job, t string) error {
	if err := ValidTopic(t); err != nil {
		return err
	}
	jobs := topic.Join(unit, experiment, job) + "/"
	if rest, ok := strings.CutPrefix(t, jobs); ok && !strings.HasPrefix(rest, "$") && !strings.Contains(rest, "/$") {
		return nil
	}
	if covered(g.Publish, t) {
		return nil
	}
	return fmt.Errorf("publish to %q: %w (outside %s); add %s to [%s] publish",
		t, ErrNotGranted, jobs, t, MQTTSection)
}
