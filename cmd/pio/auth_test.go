package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piolab/pio/auth"
)

// runAuth runs pio with stdin and returns its output.
func runAuth(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp(&out, &errOut)
	app.Reader = strings.NewReader(stdin)
	err := app.RunContext(context.Background(), append([]string{"pio"}, args...))
	return out.String(), err
}

// The steps docs/cluster-security.md gives for a users file, a tokens
// file and Mosquitto's files.
func TestAuthCommandsMakeFilesTheLeaderReads(t *testing.T) {
	dir := t.TempDir()
	pw, err := runAuth(t, "", "auth", "new-token")
	if err != nil {
		t.Fatal(err)
	}
	pw = strings.TrimSpace(pw)
	if len(pw) != 64 {
		t.Fatalf("new-token printed %q", pw)
	}
	hash, err := runAuth(t, pw+"\n", "auth", "hash-password")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(hash) != auth.HashPassword(pw) {
		t.Fatalf("hash-password printed %q, want %s", hash, auth.HashPassword(pw))
	}
	users := filepath.Join(dir, "users.txt")
	os.WriteFile(users, []byte("worker1 "+strings.TrimSpace(hash)+" unit\n"), 0o600)
	us, err := auth.LoadUsers(users)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := us.Check("worker1", pw); !ok || u.Role != auth.RoleUnit {
		t.Fatalf("the users file does not accept the password: %v %v", u, ok)
	}
	acl, err := runAuth(t, "", "auth", "mosquitto-acl", users)
	if err != nil || !strings.Contains(acl, "user worker1\ntopic write pioreactor/worker1/#\n") {
		t.Fatalf("mosquitto-acl = %q, %v", acl, err)
	}
	line, err := runAuth(t, pw, "auth", "mosquitto-passwd", "worker1")
	if err != nil || !strings.HasPrefix(line, "worker1:$7$101$") {
		t.Fatalf("mosquitto-passwd = %q, %v", line, err)
	}
	token, _ := runAuth(t, "", "auth", "new-token")
	tokens := filepath.Join(dir, "tokens.txt")
	os.WriteFile(tokens, []byte("alice "+token), 0o600)
	tk, err := auth.LoadTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := tk.Name(strings.TrimSpace(token)); !ok || name != "alice" {
		t.Fatalf("the tokens file does not know the token: %q %v", name, ok)
	}
}

func TestAuthCommandsRefuseBadInput(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"short\n", []string{"auth", "hash-password"}, "the password on stdin has 5 characters; at least 16"},
		{"", []string{"auth", "hash-password", "secret-on-the-command-line"}, "reads the password from stdin"},
		{"", []string{"auth", "new-token", "x"}, "takes no argument"},
		{"0123456789abcdef", []string{"auth", "mosquitto-passwd"}, "takes one user name"},
		{"0123456789abcdef", []string{"auth", "mosquitto-passwd", "a:b"}, `name "a:b"`},
		{"", []string{"auth", "mosquitto-acl", "/nonexistent/users"}, "broker_users_file: open /nonexistent/users"},
	} {
		_, err := runAuth(t, tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
