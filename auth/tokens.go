package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"unicode/utf8"
)

// MinTokenLength is the shortest API token a tokens file may hold.
const MinTokenLength = 16

// Tokens are the API tokens the leader accepts, each with the name its
// audit trail records for it.
type Tokens struct {
	names  []string
	hashes [][sha256.Size]byte // sha256 of each token, same order as names
}

// LoadTokens reads a tokens file ([cluster.security] api_tokens_file): one
// "name token" a line; blank lines and lines starting with # are skipped.
// A duplicate name or token, or a token shorter than MinTokenLength, is an
// error naming the file and line.
func LoadTokens(path string) (*Tokens, error) {
	return loadFile(path, "api_tokens_file", ParseTokens)
}

// ParseTokens reads a tokens file's text from r; source names it in errors.
func ParseTokens(r io.Reader, source string) (*Tokens, error) {
	lines, err := readLines(r, source)
	if err != nil {
		return nil, err
	}
	t := &Tokens{}
	names := map[string]string{}
	tokens := map[[sha256.Size]byte]string{}
	for _, l := range lines {
		if len(l.fields) != 2 {
			return nil, fmt.Errorf("%s: want \"name token\", got %d fields", l.where, len(l.fields))
		}
		name, token := l.fields[0], l.fields[1]
		if err := checkName(l.where, name); err != nil {
			return nil, err
		}
		if n := utf8.RuneCountInString(token); n < MinTokenLength {
			return nil, fmt.Errorf("%s: the token of %q has %d characters; at least %d are needed (pio auth new-token makes one)", l.where, name, n, MinTokenLength)
		}
		if prev, ok := names[name]; ok {
			return nil, fmt.Errorf("%s: name %q is already given a token at %s", l.where, name, prev)
		}
		h := sha256.Sum256([]byte(token))
		if prev, ok := tokens[h]; ok {
			return nil, fmt.Errorf("%s: the token of %q is also the token at %s; each name needs its own", l.where, name, prev)
		}
		names[name], tokens[h] = l.where, l.where
		t.names = append(t.names, name)
		t.hashes = append(t.hashes, h)
	}
	return t, nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.names) }

// Name returns the name of token, if it is one of t's. It compares token
// with every token in constant time (through their SHA-256, so that not
// even the length leaks), whether it matches or not.
func (t *Tokens) Name(token string) (string, bool) {
	if t == nil {
		return "", false
	}
	h := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.hashes {
		eq := subtle.ConstantTimeCompare(h[:], t.hashes[i][:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 || token == "" {
		return "", false
	}
	return t.names[found], true
}

// NewToken returns a new random token: 32 bytes from crypto/rand, in hex.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b)
}
