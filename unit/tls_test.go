package unit

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piolab/pio/auth"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

// With [mqtt] use_tls=1, a command's client (DialBroker) connects with TLS,
// trusting [cluster.security] tls_ca_file, and authenticates with [mqtt]'s
// user; a broker that speaks TLS refuses it without.
func TestDialBrokerUsesTLSAndCredentials(t *testing.T) {
	files := mqtttest.NewTLSFiles(t)
	srvTLS, err := auth.ServerTLS(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	users, err := auth.ParseUsers(strings.NewReader("u1 "+auth.HashPassword("u1-password-00001")+" unit\n"), "users")
	if err != nil {
		t.Fatal(err)
	}
	b, err := mqttnet.StartEmbeddedWith("127.0.0.1:0", slog.New(slog.DiscardHandler), mqttnet.EmbeddedOptions{Users: users, TLS: srvTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	home := t.TempDir()
	write := func(useTLS int, ca string) string {
		path := filepath.Join(home, fmt.Sprintf("config-%d.ini", useTLS))
		text := fmt.Sprintf("[mqtt]\nusername=u1\npassword=u1-password-00001\nuse_tls=%d\n[cluster.security]\ntls_ca_file=%s\n", useTLS, ca)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	opts := Options{Home: home, Broker: b.Addr(), ConfigFile: write(1, files.CA)}
	c, err := DialBroker(opts, "tls-test", 5*time.Second)
	if err != nil {
		t.Fatalf("DialBroker with use_tls=1: %v", err)
	}
	got := make(chan string, 1)
	if err := c.Subscribe("pioreactor/u1/e/x", 1, func(m pubsub.Message) { got <- string(m.Payload) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish("pioreactor/u1/e/x", []byte("hello"), 1, false); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "hello" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message never came back")
	}
	c.Close()

	opts.ConfigFile = write(0, files.CA)
	if c, err := DialBroker(opts, "plain", 2*time.Second); err == nil {
		c.Close()
		t.Fatal("use_tls=0 connected to a TLS broker")
	}
	missing := filepath.Join(home, "missing.pem")
	opts.ConfigFile = write(1, missing)
	if _, err := DialBroker(opts, "no-ca", 2*time.Second); err == nil || !strings.Contains(err.Error(), "[cluster.security] tls_ca_file") {
		t.Fatalf("missing CA file: err = %v, want one naming tls_ca_file", err)
	}
}
