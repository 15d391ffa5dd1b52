package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
)

// Role is what a broker user may do (see Allowed).
type Role string

// The roles.
const (
	// RoleLeader reads and writes every topic: the leader's own clients
	// (its database stream, the API sending requests to the units) and
	// the operator's pios commands.
	RoleLeader Role = "leader"
	// RoleUnit is a worker: it writes only under its own unit's topics
	// (pioreactor/<name>/...) and reads everything under pioreactor/.
	RoleUnit Role = "unit"
	// RoleViewer reads everything under pioreactor/ and writes nothing: a
	// dashboard or a pio mqtt watching the cluster.
	RoleViewer Role = "viewer"
)

// User is a broker user: a name (a unit's name for RoleUnit) and a role.
type User struct {
	Name string
	Role Role
}

// Users are the users a broker accepts.
type Users struct {
	list []storedUser // sorted by name
}

type storedUser struct {
	User
	nameHash [sha256.Size]byte
	pwHash   [sha256.Size]byte
}

// LoadUsers reads a users file ([cluster.security] broker_users_file): one
// "name password-sha256-hex role" a line (role: leader, unit or viewer;
// HashPassword, or pio auth hash-password, makes the middle field); blank
// lines and lines starting with # are skipped. A duplicate name, a bad
// hash or role, or a name that cannot be an MQTT topic level is an error
// naming the file and line.
func LoadUsers(path string) (*Users, error) {
	return loadFile(path, "broker_users_file", ParseUsers)
}

// ParseUsers reads a users file's text from r; source names it in errors.
func ParseUsers(r io.Reader, source string) (*Users, error) {
	lines, err := readLines(r, source)
	if err != nil {
		return nil, err
	}
	u := &Users{}
	seen := map[string]string{}
	for _, l := range lines {
		if len(l.fields) != 3 {
			return nil, fmt.Errorf("%s: want \"name password-sha256 role\", got %d fields", l.where, len(l.fields))
		}
		name, hash, role := l.fields[0], l.fields[1], Role(l.fields[2])
		if err := checkName(l.where, name); err != nil {
			return nil, err
		}
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s: user %q is already defined at %s", l.where, name, prev)
		}
		seen[name] = l.where
		var s storedUser
		if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%s: user %q: the password hash must be 64 hex digits (a SHA-256; pio auth hash-password makes one), got %d characters", l.where, name, len(hash))
		} else {
			copy(s.pwHash[:], b)
		}
		switch role {
		case RoleLeader, RoleUnit, RoleViewer:
		default:
			return nil, fmt.Errorf("%s: user %q: role %q: want leader, unit or viewer", l.where, name, role)
		}
		s.User = User{Name: name, Role: role}
		s.nameHash = sha256.Sum256([]byte(name))
		u.list = append(u.list, s)
	}
	sort.Slice(u.list, func(i, j int) bool { return u.list[i].Name < u.list[j].Name })
	return u, nil
}

// HashPassword is the users file's form of a password: the hex SHA-256 of
// its bytes. It is unsalted, so passwords must be long random strings (pio
// auth new-token makes one), never words a person chose.
func HashPassword(pw string) string {
	h := sha256.Sum256([]byte(pw))
	return hex.EncodeToString(h[:])
}

// Check returns the user whose name and password these are. It compares
// with every user in constant time, whether one matches or not.
func (u *Users) Check(name, password string) (User, bool) {
	if u == nil {
		return User{}, false
	}
	nh := sha256.Sum256([]byte(name))
	ph := sha256.Sum256([]byte(password))
	found := -1
	for i := range u.list {
		eq := subtle.ConstantTimeCompare(nh[:], u.list[i].nameHash[:]) &
			subtle.ConstantTimeCompare(ph[:], u.list[i].pwHash[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return User{}, false
	}
	return u.list[found].User, true
}

// Lookup returns the user named name (no password involved: for a client
// the broker has already authenticated).
func (u *Users) Lookup(name string) (User, bool) {
	if u == nil {
		return User{}, false
	}
	i := sort.Search(len(u.list), func(i int) bool { return u.list[i].Name >= name })
	if i < len(u.list) && u.list[i].Name == name {
		return u.list[i].User, true
	}
	return User{}, false
}

// List returns the users, sorted by name.
func (u *Users) List() []User {
	if u == nil {
		return nil
	}
	out := make([]User, len(u.list))
	for i, s := range u.list {
		out[i] = s.User
	}
	return out
}
