package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
)

// MosquittoACL writes the rules of Allowed for users as a Mosquitto
// acl_file:
//
//	user leader
//	topic readwrite #
//	user worker1
//	topic write pioreactor/worker1/#
//	topic read pioreactor/#
//
// Mosquitto's "#" does not match topics that start with "$" ($SYS), which
// Allowed gives the leader; nothing in pio uses them. Anonymous clients,
// if the broker allowed them, would get no rule and so no access.
func MosquittoACL(users *Users) string {
	var b strings.Builder
	b.WriteString("# pio's broker rules (auth.Allowed); written by pio, one block a user\n")
	for _, u := range users.List() {
		fmt.Fprintf(&b, "\nuser %s\n", u.Name)
		switch u.Role {
		case RoleLeader:
			b.WriteString("topic readwrite #\n")
		case RoleUnit:
			fmt.Fprintf(&b, "topic write %s/%s/#\n", Root, u.Name)
			fmt.Fprintf(&b, "topic read %s/#\n", Root)
		case RoleViewer:
			fmt.Fprintf(&b, "topic read %s/#\n", Root)
		}
	}
	return b.String()
}

// mosquittoIterations is the PBKDF2 iteration count mosquitto_passwd 2.0
// uses.
const mosquittoIterations = 101

// MosquittoPasswd is one line of a Mosquitto 2 password_file for name and
// password, in the form mosquitto_passwd writes ("name:$7$101$salt$hash":
// PBKDF2-SHA512, a 12-byte random salt, base64).
func MosquittoPasswd(name, password string) (string, error) {
	if err := checkName("user", name); err != nil {
		return "", err
	}
	salt := make([]byte, 12)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha512.New, password, salt, mosquittoIterations, sha512.Size)
	if err != nil {
		return "", fmt.Errorf("mosquitto password of %q: %w", name, err)
	}
	enc := base64.StdEncoding
	return fmt.Sprintf("%s:$7$%d$%s$%s", name, mosquittoIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}
