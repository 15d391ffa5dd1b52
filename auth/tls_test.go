package auth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/auth"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
)

func TestTLSFiles(t *testing.T) {
	f := mqtttest.NewTLSFiles(t)
	if c, err := auth.ServerTLS(f.Cert, f.Key); err != nil || len(c.Certificates) != 1 {
		t.Fatalf("ServerTLS = %v, %v", c, err)
	}
	if c, err := auth.ClientTLS(f.CA); err != nil || c.RootCAs == nil {
		t.Fatalf("ClientTLS = %v, %v", c, err)
	}
	if c, err := auth.ClientTLS(""); err != nil || c.RootCAs != nil {
		t.Fatalf("ClientTLS(\"\") = %v, %v; want the system's roots", c, err)
	}
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("not a certificate\n"), 0o644)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"CA missing", second(auth.ClientTLS(missing)), "[cluster.security] tls_ca_file: open " + missing},
		{"CA junk", second(auth.ClientTLS(junk)), "[cluster.security] tls_ca_file " + junk + ": no PEM certificate in it"},
		{"key missing", second(auth.ServerTLS(f.Cert, missing)), "tls_cert_file " + f.Cert + " and tls_key_file " + missing},
		{"swapped", second(auth.ServerTLS(f.Key, f.Cert)), "tls_cert_file " + f.Key},
		{"one empty", second(auth.ServerTLS(f.Cert, "")), "both are needed"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }
