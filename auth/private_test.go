package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(p, []byte("a 0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckPrivate(p, "api_tokens_file"); err != nil {
		t.Errorf("mode 600: %v", err)
	}
	for _, m := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
		err := CheckPrivate(p, "api_tokens_file")
		if err == nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), p) {
			t.Errorf("mode %04o: %v", m, err)
		}
	}
	if err := CheckPrivate(filepath.Join(t.TempDir(), "none"), "x"); err != nil {
		t.Errorf("missing file: %v", err)
	}
}
