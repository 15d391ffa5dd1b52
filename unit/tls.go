package unit

import (
	"crypto/tls"

	"github.com/piolab/pio/auth"
	"github.com/piolab/pio/config"
)

// brokerTLS is the TLS configuration of the unit's MQTT connections: nil
// unless [mqtt] use_tls=1, then one that trusts [cluster.security]
// tls_ca_file (the system's roots if empty).
func brokerTLS(o config.Options) (*tls.Config, error) {
	if !o.Cluster.Security.MQTTUseTLS {
		return nil, nil
	}
	return auth.ClientTLS(o.Cluster.Security.TLSCAFile)
}
