// Package auth is who may do what in a pio cluster: the API tokens the
// leader's HTTP API accepts (Tokens), the users its MQTT broker accepts
// (Users) and what each may read and write there (Allowed), the TLS
// configurations of the broker, the API and their clients (ServerTLS,
// ClientTLS), and the same users and rules written out for Mosquitto
// (MosquittoACL, MosquittoPasswd).
//
// Secrets are compared in constant time. The files are plain text, one
// entry a line, so that an operator can write them with an editor and the
// pio auth commands; docs/cluster-security.md shows how.
package auth
