package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ServerTLS is the TLS configuration of the leader's broker and API: the
// certificate and key ([cluster.security] tls_cert_file, tls_key_file), in
// PEM. TLS 1.2 at least.
func ServerTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("[cluster.security] tls_cert_file and tls_key_file: both are needed for TLS (got %q and %q)", certFile, keyFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("[cluster.security] tls_cert_file %s and tls_key_file %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// ClientTLS is the TLS configuration of a client of the leader (a unit's
// MQTT connections, the cluster commands): it trusts the CA certificates in
// caFile ([cluster.security] tls_ca_file, PEM), or the system's roots if
// caFile is empty. The server's name is checked against the host the
// client dials.
func ClientTLS(caFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("[cluster.security] tls_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("[cluster.security] tls_ca_file %s: no PEM certificate in it", caFile)
	}
	c.RootCAs = pool
	return c, nil
}
