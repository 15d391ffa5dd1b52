package leader

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/config"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// TestRunWithTLS: with tls_cert_file and tls_key_file, and [mqtt]
// use_tls=1, the leader's API speaks only HTTPS and its broker only TLS, and
// a client that trusts the CA gets through.
func TestRunWithTLS(t *testing.T) {
	files := mqtttest.NewTLSFiles(t)
	o, err := config.New().Options()
	if err != nil {
		t.Fatal(err)
	}
	o.Cluster.Security.TLSCertFile, o.Cluster.Security.TLSKeyFile = files.Cert, files.Key
	o.Cluster.Security.TLSCAFile = files.CA
	o.Cluster.Security.MQTTUseTLS = true
	ctx, cancel := context.WithCancel(context.Background())
	type ready struct{ api, broker string }
	up := make(chan ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: o, Home: t.TempDir(), Unit: "leader1", Listen: "127.0.0.1:0",
			BrokerListen: "127.0.0.1:0", Tokens: tokens{"tok0123456789abcdef": "alice"},
			Ready: func(api, broker string) { up <- ready{api, broker} }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	}()
	var r ready
	select {
	case r = <-up:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the leader did not come up in 10 s")
	}
	if !strings.HasPrefix(r.api, "https://") {
		t.Fatalf("API at %s, want https", r.api)
	}

	pem, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	trusting := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := trusting.Get(r.api + "/api/workers")
	if err != nil {
		t.Fatalf("GET over TLS with the CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api/workers over TLS: %d", resp.StatusCode)
	}
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get(r.api + "/api/workers"); err == nil {
		t.Error("a client that does not trust the leader's CA got an answer")
	}
	plain := "http://" + strings.TrimPrefix(r.api, "https://")
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(plain + "/api/workers"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the API answered plain HTTP")
		}
	}

	c, err := mqttnet.Dial(r.broker, pubsub.Options{ClientID: "w1", TLS: &tls.Config{RootCAs: roots}}, 5*time.Second)
	if err != nil {
		t.Fatalf("MQTT over TLS with the CA: %v", err)
	}
	c.Close()
	if c, err := mqttnet.Dial(r.broker, pubsub.Options{ClientID: "w2"}, 2*time.Second); err == nil {
		c.Close()
		t.Error("the broker accepted a client without TLS")
	}
}
