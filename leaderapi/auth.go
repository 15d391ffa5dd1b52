package leaderapi

import (
	"net/http"
	"strings"
)

// read wraps a GET endpoint: no token needed.
func (a *API) read(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h(w, r, "") }
}

// write wraps a state-changing endpoint: it needs a bearer token that Tokens
// names, else 401 before anything is read, published or stored.
func (a *API) write(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		const remedy = "send `Authorization: Bearer <token>` with a token listed in the leader's [cluster.security] api_tokens_file"
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pio"`)
			fail(w, http.StatusUnauthorized, r.Method+" "+r.URL.Path+" needs an API token",
				"no Authorization: Bearer header", remedy)
			return
		}
		name, ok := a.tokens.Name(token)
		if !ok || name == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pio", error="invalid_token"`)
			fail(w, http.StatusUnauthorized, r.Method+" "+r.URL.Path+": the API token is not valid",
				"the token is not among the leader's tokens", remedy)
			return
		}
		h(w, r, name)
	}
}
