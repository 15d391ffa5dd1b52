package scriptnet

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
)

func TestGrantsDefaultToNothing(t *testing.T) {
	g, err := ReadGrants(config.New())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Hosts) != 0 || len(g.Publish) != 0 || len(g.Subscribe) != 0 {
		t.Errorf("default grants %+v", g)
	}
	if g.Timeout != 10*time.Second || g.MaxResponse != 1024*1024 {
		t.Errorf("default timeout %v, max response %d", g.Timeout, g.MaxResponse)
	}
}

// Every key of both sections is in Defaults and read: a bad value names it.
func TestEveryKeyIsRead(t *testing.T) {
	for _, c := range []struct{ section, key string }{
		{HTTPSection, "allowed_hosts"}, {HTTPSection, "timeout_seconds"}, {HTTPSection, "max_response_kb"},
		{MQTTSection, "publish"}, {MQTTSection, "subscribe"},
	} {
		if !strings.Contains(config.Defaults, "\n"+c.key+"=") {
			t.Errorf("Defaults has no %s", c.key)
		}
		cfg := config.New()
		cfg.Set(c.section, c.key, "a/#/b")
		_, err := ReadGrants(cfg)
		if err == nil || !strings.Contains(err.Error(), "["+c.section+"] "+c.key) || !strings.Contains(err.Error(), "a/#/b") {
			t.Errorf("[%s] %s = a/#/b: %v; want an error naming the key and value", c.section, c.key, err)
		}
	}
	for _, s := range []string{HTTPSection, MQTTSection} {
		if config.OwnedSections[s] != "scriptnet" {
			t.Errorf("OwnedSections[%s] = %q", s, config.OwnedSections[s])
		}
	}
}

func TestParseHosts(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"example.org", "example.org"},
		{"Example.ORG.", "example.org"},
		{"example.org:8080, localhost:1880", "example.org:8080 localhost:1880"},
		{"127.0.0.1:9000", "127.0.0.1:9000"},
		{"[::1]", "[::1]"},
		{"[0:0::1]:8080", "[::1]:8080"},
		{"influx_db.lab", "influx_db.lab"},
	} {
		got, err := ParseHosts(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if s := sortedKeys(got); s != c.want {
			t.Errorf("%q: %q, want %q", c.in, s, c.want)
		}
	}
}

func TestBadHosts(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://example.org", `allowed host "http://example.org": want a host name or host:port, without scheme, path or user`},
		{"example.org/api", "without scheme, path"},
		{"user@example.org", "without scheme, path or user"},
		{"*.example.org", "wildcards are not allowed"},
		{"example.org:0", `port "0": want a number from 1 to 65535`},
		{"example.org:65536", `port "65536"`},
		{"example.org:08080", `port "08080"`},
		{"example.org:", `port ""`},
		{"::1", "write an IPv6 address in brackets"},
		{"[::1", "closing ]"},
		{"[::1]x", "want [IPv6] or [IPv6]:port"},
		{"[::1]:", "want [IPv6] or [IPv6]:port"},
		{"[example.org]", "is not an IPv6 address"},
		{"[::ffff:127.0.0.1]", "is not an IPv6 address"}, // write 127.0.0.1
		{"exa mple.org", "is not a host name"},
		{"-a.org", "is not a host name"},
		{"a..org", "is not a host name"},
		{":80", "want a host name of 1 to 253 characters"},
	} {
		_, err := ParseHosts(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want %q", c.in, err, c.want)
		}
	}
}

func TestBadGrantValues(t *testing.T) {
	for _, c := range []struct{ section, key, value, want string }{
		{HTTPSection, "timeout_seconds", "0", "want a number of seconds from 0.1 to 300"},
		{HTTPSection, "timeout_seconds", "301", "want a number of seconds from 0.1 to 300"},
		{HTTPSection, "max_response_kb", "0", "want a whole number from 1 to 16384"},
		{MQTTSection, "publish", "lab/+x", `topic filter "lab/+x": + and # must be whole levels`},
		{MQTTSection, "subscribe", "#/a", `topic filter "#/a": # must be the last level`},
		{MQTTSection, "publish", "lab/\xff", `topic filter "lab/\xff": not valid UTF-8`},
	} {
		cfg := config.New()
		cfg.Set(c.section, c.key, c.value)
		_, err := ReadGrants(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("[%s] %s=%s: %v; want %q", c.section, c.key, c.value, err, c.want)
		}
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		grant, filter string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a/+/c", true},
		{"a/#", "a/#", true},
		{"a/#", "b/#", false},
		{"#", "anything/at/all", true},
		{"#", "#", true},
		{"#", "$SYS/broker", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/broker", true},
		{"a/b", "a/+", false},
		{"a/b", "a/#", false},
		{"+/+/+/od_reading/ods", "pioreactor/u2/e1/od_reading/ods", true},
		{"pioreactor/+/+/od_reading/ods", "pioreactor/+/e1/od_reading/ods", true},
		{"pioreactor/+/e1/od_reading/ods", "pioreactor/+/+/od_reading/ods", false},
		{"pioreactor/+/+/logs/#", "pioreactor/u1/e1/logs/+/warning", true},
		{"pioreactor/+/+/logs/#", "pioreactor/#", false},
		{"pioreactor/+/+/logs/#", "pioreactor/+/+/+/#", false},
		{"pioreactor/+/+/logs/#", "pioreactor/u1/e1/logs", true},
		{"a//b", "a//b", true},
		{"a/+/b", "a//b", true},
	} {
		if got := Covers(c.grant, c.filter); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.grant, c.filter, got, c.want)
		}
	}
}

func TestCheckSubscribe(t *testing.T) {
	cfg := config.New()
	cfg.Set(MQTTSection, "subscribe", "pioreactor/+/+/od_reading/ods, lab/#")
	for _, c := range []struct{ filter, err string }{
		{"od_reading/ods", ""},
		{"#", ""},
		{"+/+/x", ""},
		{"pioreactor/u1/e1/growth_rate_calculating/growth_rate", ""},
		{"pioreactor/u1/e1/#", ""},
		{"pioreactor/u2/e1/od_reading/ods", ""},
		{"pioreactor/+/+/od_reading/ods", ""},
		{"lab/alerts", ""},
		{"pioreactor/u2/e1/stirring/target_rpm",
			`subscribe to "pioreactor/u2/e1/stirring/target_rpm": not granted (outside pioreactor/u1/e1/); add pioreactor/u2/e1/stirring/target_rpm to [scripts.mqtt] subscribe`},
		{"pioreactor/u1/#", `subscribe to "pioreactor/u1/#": not granted`},
		{"pioreactor/u1/e1", `subscribe to "pioreactor/u1/e1": not granted`},
		{"pioreactor/#", `add pioreactor/# to [scripts.mqtt] subscribe`},
		{"elsewhere", ""}, // relative: pioreactor/u1/e1/elsewhere
		{"a/#/b", `topic filter "a/#/b": # must be the last level`},
		{"", `topic filter ""`},
		{"od_reading/\xff", `topic filter "od_reading/\xff": not valid UTF-8 (MQTT topics are UTF-8)`},
		{"lab/\xc0/#", `not valid UTF-8`},
	} {
		err := CheckSubscribe(cfg, "u1", "e1", c.filter)
		if c.err == "" {
			if err != nil {
				t.Errorf("%q: %v", c.filter, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v; want %q", c.filter, err, c.err)
		}
	}
	err := CheckSubscribe(config.New(), "u1", "e1", "lab/x")
	if err != nil {
		t.Errorf("a relative filter: %v", err)
	}
	err = CheckSubscribe(config.New(), "u1", "e1", "pioreactor/u2/e1/x")
	if !errors.Is(err, ErrNotGranted) {
		t.Errorf("%v does not wrap ErrNotGranted", err)
	}
}

func TestCheckPublish(t *testing.T) {
	cfg := config.New()
	cfg.Set(MQTTSection, "publish", "lab/alerts/#, pioreactor/+/+/dosing_automation/+/set")
	for _, c := range []struct{ topic, err string }{
		{"pioreactor/u1/e1/ph_reading/ph", ""},
		{"pioreactor/u1/e1/ph_reading/a/b", ""},
		{"lab/alerts", ""},
		{"lab/alerts/u1/warning", ""},
		{"pioreactor/u2/e1/dosing_automation/target_od/set", ""},
		{"pioreactor/u1/e1/ph_reading/$state",
			`publish to "pioreactor/u1/e1/ph_reading/$state": not granted (outside pioreactor/u1/e1/ph_reading/); add pioreactor/u1/e1/ph_reading/$state to [scripts.mqtt] publish`},
		{"pioreactor/u1/e1/ph_reading/x/$y", `not granted`},
		{"pioreactor/u1/e1/stirring/target_rpm/set", `add pioreactor/u1/e1/stirring/target_rpm/set to [scripts.mqtt] publish`},
		{"pioreactor/u1/e2/ph_reading/ph", `not granted`},
		{"lab/other", `publish to "lab/other": not granted`},
		{"lab/alerts/+", `topic "lab/alerts/+": a topic to publish to has no wildcards (+ or #)`},
		{"", `topic "": want 1 to`},
		{"lab/alerts/\xff", `topic "lab/alerts/\xff": not valid UTF-8 (MQTT topics are UTF-8)`},
		{"pioreactor/u1/e1/ph_reading/\xed\xa0\x80", `not valid UTF-8`},
	} {
		err := CheckPublish(cfg, "u1", "e1", "ph_reading", c.topic)
		if c.err == "" {
			if err != nil {
				t.Errorf("%q: %v", c.topic, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v; want %q", c.topic, err, c.err)
		}
	}
}

// A bad grant is the configuration's error, naming the key.
func TestCheckWithBadConfig(t *testing.T) {
	cfg := config.New()
	cfg.Set(MQTTSection, "subscribe", "a/#/b")
	err := CheckSubscribe(cfg, "u1", "e1", "pioreactor/u2/e1/x")
	if err == nil || !strings.Contains(err.Error(), "[scripts.mqtt] subscribe") {
		t.Errorf("%v", err)
	}
}

func sortedKeys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}
