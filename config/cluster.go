package config

import (
	"strconv"
	"strings"
	"time"
)

// ClusterOptions are the keys of a unit in a cluster: where its leader is,
// how its daemon behaves, and what the leader serves.
type ClusterOptions struct {
	LeaderHostname string // [cluster.topology] leader_hostname; empty: this unit leads nobody
	LeaderAddress  string // [cluster.topology] leader_address: host (or address) of the leader

	UIPort  int    // [ui] port: the leader's HTTP API port
	UIProto string // [ui] proto: http or https

	BrokerLostStop time.Duration // [cluster.daemon] broker_lost_stop_seconds
	RequestTimeout time.Duration // [cluster.daemon] request_timeout_seconds

	Database  string // [cluster.leader] database; empty: <home>/pio.sqlite
	APIListen string // [cluster.leader] api_listen; empty: ":" + UIPort

	Security SecurityOptions // [cluster.security], [mqtt] use_tls
}

// SecurityOptions are [cluster.security] and [mqtt] use_tls. Files are paths
// as written; relative ones are relative to the working directory.
type SecurityOptions struct {
	APIToken        string // api_token: what this machine's commands send
	APITokensFile   string // api_tokens_file: the tokens the leader accepts
	BrokerUsersFile string // broker_users_file: the users the embedded broker accepts
	TLSCertFile     string // tls_cert_file
	TLSKeyFile      string // tls_key_file
	TLSCAFile       string // tls_ca_file
	MQTTUseTLS      bool   // [mqtt] use_tls
}

// LeaderURL is the base URL of the leader's HTTP API ("http://host:8080").
func (c ClusterOptions) LeaderURL() string {
	return c.UIProto + "://" + joinHostPort(c.LeaderAddress, strconv.Itoa(c.UIPort))
}

// Listen is the address the leader's API listens on.
func (c ClusterOptions) Listen() string {
	if c.APIListen != "" {
		return c.APIListen
	}
	return ":" + strconv.Itoa(c.UIPort)
}

// cluster reads the cluster's keys.
func (r *optionReader) cluster() ClusterOptions {
	var o ClusterOptions
	o.LeaderHostname = r.topicLevel("cluster.topology", "leader_hostname")
	s := r.get("cluster.topology", "leader_address")
	if v := strings.TrimSpace(s.value); v == "" || strings.IndexFunc(v, isSpace) >= 0 {
		r.fail(s, "cluster.topology", "leader_address", "want a host name or address, got %s", quote(s.value))
	}
	o.LeaderAddress = strings.TrimSpace(s.value)

	o.UIPort = r.port("ui", "port")
	switch s := r.get("ui", "proto"); s.value {
	case "http", "https":
		o.UIProto = s.value
	default:
		r.fail(s, "ui", "proto", "want http or https, got %s", quote(s.value))
	}

	const d = "cluster.daemon"
	o.BrokerLostStop = r.duration(d, "broker_lost_stop_seconds", time.Second, time.Second, positive, "a positive number of seconds")
	o.RequestTimeout = r.duration(d, "request_timeout_seconds", time.Second, 100*time.Millisecond, positive, "a positive number of seconds")

	o.Database = r.get("cluster.leader", "database").value
	o.APIListen = r.get("cluster.leader", "api_listen").value

	const sec = "cluster.security"
	o.Security.APIToken = r.get(sec, "api_token").value
	o.Security.APITokensFile = r.get(sec, "api_tokens_file").value
	o.Security.BrokerUsersFile = r.get(sec, "broker_users_file").value
	o.Security.TLSCertFile = r.get(sec, "tls_cert_file").value
	o.Security.TLSKeyFile = r.get(sec, "tls_key_file").value
	o.Security.TLSCAFile = r.get(sec, "tls_ca_file").value
	if (o.Security.TLSCertFile == "") != (o.Security.TLSKeyFile == "") {
		r.fail(r.get(sec, "tls_cert_file"), sec, "tls_cert_file", "tls_cert_file and tls_key_file go together: give both or neither")
	}
	switch s := r.get("mqtt", "use_tls"); s.value {
	case "1", "yes", "true", "on":
		o.Security.MQTTUseTLS = true
	case "0", "no", "false", "off":
	default:
		r.fail(s, "mqtt", "use_tls", "want 0 or 1, got %s", quote(s.value))
	}
	return o
}
