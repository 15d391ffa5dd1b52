package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUsers(t *testing.T) {
	h := HashPassword("leader-password-123456")
	for _, tc := range []struct {
		name, text string
		want       []User
		err        string
	}{
		{"empty", "# nobody\n", nil, ""},
		{"three roles", "leader " + h + " leader\n# a unit\nworker1 " + HashPassword("w1") + " unit\ngrafana " + HashPassword("g") + " viewer\n",
			[]User{{"grafana", RoleViewer}, {"leader", RoleLeader}, {"worker1", RoleUnit}}, ""},
		{"bad role", "a " + h + " admin\n", nil, "users:1: user \"a\": role \"admin\": want leader, unit or viewer"},
		{"bad hash", "a 1234 unit\n", nil, "users:1: user \"a\": the password hash must be 64 hex digits"},
		{"non-hex hash", "a " + strings.Repeat("g", 64) + " unit\n", nil, "must be 64 hex digits"},
		{"two fields", "a " + h + "\n", nil, "users:1: want \"name password-sha256 role\", got 2 fields"},
		{"duplicate", "a " + h + " unit\n\na " + h + " viewer\n", nil, "users:3: user \"a\" is already defined at users:1"},
		{"broadcast", "$broadcast " + h + " unit\n", nil, "users:1: name \"$broadcast\": '$' is not allowed"},
		{"wildcard", "w+ " + h + " unit\n", nil, "'+' is not allowed"},
		{"colon", "a:b " + h + " unit\n", nil, "':' is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUsers(strings.NewReader(tc.text), "users")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			list := got.List()
			if len(list) != len(tc.want) {
				t.Fatalf("List = %v, want %v", list, tc.want)
			}
			for i := range list {
				if list[i] != tc.want[i] {
					t.Errorf("List[%d] = %v, want %v", i, list[i], tc.want[i])
				}
			}
		})
	}
}

func TestUsersCheck(t *testing.T) {
	text := "leader " + HashPassword("lpw") + " leader\nworker1 " + HashPassword("w1pw") + " unit\nworker2 " + HashPassword("w2pw") + " unit\n"
	us, err := ParseUsers(strings.NewReader(text), "users")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, pw string
		want     User
		ok       bool
	}{
		{"leader", "lpw", User{"leader", RoleLeader}, true},
		{"worker1", "w1pw", User{"worker1", RoleUnit}, true},
		{"worker2", "w2pw", User{"worker2", RoleUnit}, true},
		{"worker1", "w2pw", User{}, false}, // another user's password
		{"worker1", "", User{}, false},
		{"worker3", "w1pw", User{}, false},
		{"", "", User{}, false},
		{"Worker1", "w1pw", User{}, false},
	} {
		got, ok := us.Check(tc.name, tc.pw)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Check(%q, %q) = %v, %v; want %v, %v", tc.name, tc.pw, got, ok, tc.want, tc.ok)
		}
	}
	if u, ok := us.Lookup("worker2"); !ok || u.Role != RoleUnit {
		t.Errorf("Lookup(worker2) = %v, %v", u, ok)
	}
	if _, ok := us.Lookup("nobody"); ok {
		t.Error("Lookup(nobody) found someone")
	}
	var none *Users
	if _, ok := none.Check("leader", "lpw"); ok {
		t.Error("a nil Users accepted a password")
	}
}

func TestHashPassword(t *testing.T) {
	// sha256("abc"), FIPS 180-2's example.
	if got := HashPassword("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashPassword(abc) = %s", got)
	}
}

func TestLoadUsersNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte("\nw1 abc unit\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadUsers(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: ") {
		t.Fatalf("err = %v, want it to start with %s:2:", err, path)
	}
	_, err = LoadUsers(filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "broker_users_file") {
		t.Fatalf("err = %v, want it to name broker_users_file", err)
	}
}

func FuzzParseUsers(f *testing.F) {
	h := HashPassword("pw")
	f.Add("leader " + h + " leader\nw1 " + h + " unit\n")
	f.Add("# c\n\nv " + h + " viewer\nv " + h + " unit")
	f.Add("a b c d\n")
	f.Add("$x " + h + " unit")
	f.Fuzz(func(t *testing.T, text string) {
		us, err := ParseUsers(strings.NewReader(text), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error does not say where: %v", err)
			}
			return
		}
		for _, u := range us.List() {
			if u.Role != RoleLeader && u.Role != RoleUnit && u.Role != RoleViewer {
				t.Fatalf("user %v has an unknown role", u)
			}
			if strings.ContainsAny(u.Name, "/+#$") {
				t.Fatalf("user %q cannot be a topic level", u.Name)
			}
			// A unit can never write outside its own tree.
			if u.Role == RoleUnit && Allowed(u, "pioreactor/$broadcast/x", true) {
				t.Fatalf("unit %q may write $broadcast", u.Name)
			}
		}
	})
}
