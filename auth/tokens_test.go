package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tok1 = "0123456789abcdef0123"
const tok2 = "fedcba9876543210fedc"

func TestParseTokens(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       map[string]string // token -> name
		err        string
	}{
		{"empty", "", map[string]string{}, ""},
		{"comments and blanks", "# tokens\n\n  # indented comment\nalice " + tok1 + "\n\t\nbob  " + tok2 + "  \n",
			map[string]string{tok1: "alice", tok2: "bob"}, ""},
		{"one field", "alice\n", nil, "tokens:1: want \"name token\", got 1 fields"},
		{"three fields", "# c\nalice " + tok1 + " extra\n", nil, "tokens:2: want \"name token\", got 3 fields"},
		{"short token", "alice 0123456789abcde\n", nil, "tokens:1: the token of \"alice\" has 15 characters; at least 16"},
		{"duplicate name", "alice " + tok1 + "\nalice " + tok2 + "\n", nil, "tokens:2: name \"alice\" is already given a token at tokens:1"},
		{"duplicate token", "alice " + tok1 + "\nbob " + tok1 + "\n", nil, "tokens:2: the token of \"bob\" is also the token at tokens:1"},
		{"bad name", "a/b " + tok1 + "\n", nil, "tokens:1: name \"a/b\": '/' is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTokens(strings.NewReader(tc.text), "tokens")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != len(tc.want) {
				t.Errorf("Len = %d, want %d", got.Len(), len(tc.want))
			}
			for token, name := range tc.want {
				if n, ok := got.Name(token); !ok || n != name {
					t.Errorf("Name(%q) = %q, %v; want %q", token, n, ok, name)
				}
			}
			for _, bad := range []string{"", tok1 + "x", tok1[:len(tok1)-1], strings.ToUpper(tok1), "alice"} {
				if n, ok := got.Name(bad); ok {
					t.Errorf("Name(%q) = %q, want no match", bad, n)
				}
			}
		})
	}
}

func TestLoadTokensNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("alice short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadTokens(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":1: ") {
		t.Fatalf("err = %v, want it to start with %s:1:", err, path)
	}
	_, err = LoadTokens(filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "api_tokens_file") {
		t.Fatalf("err = %v, want it to name api_tokens_file", err)
	}
}

func TestNilTokensMatchNothing(t *testing.T) {
	var tk *Tokens
	if _, ok := tk.Name(tok1); ok {
		t.Fatal("a nil Tokens matched")
	}
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("NewToken() = %q, want 64 hex digits", a)
	}
	if a == b {
		t.Fatal("two NewToken calls gave the same token")
	}
	if _, err := ParseTokens(strings.NewReader("x "+a+"\n"), "t"); err != nil {
		t.Fatalf("a new token is refused by the tokens file: %v", err)
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add("alice " + tok1 + "\nbob " + tok2 + "\n")
	f.Add("# c\n\nalice " + tok1 + "\nalice " + tok2)
	f.Add("a b c\n")
	f.Add(strings.Repeat("x", 5000))
	f.Fuzz(func(t *testing.T, text string) {
		tk, err := ParseTokens(strings.NewReader(text), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error does not say where: %v", err)
			}
			return
		}
		// Every accepted line's token maps back to its name.
		for _, l := range strings.Split(text, "\n") {
			fs := strings.Fields(l)
			if len(fs) == 2 && !strings.HasPrefix(fs[0], "#") {
				if n, ok := tk.Name(fs[1]); !ok || n != fs[0] {
					t.Fatalf("Name(%q) = %q, %v; want %q", fs[1], n, ok, fs[0])
				}
			}
		}
	})
}
