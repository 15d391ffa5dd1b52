package auth

import "strings"

// Root is the topic tree pio's cluster lives in.
const Root = "pioreactor"

// Allowed reports whether u may write (publish) or read (subscribe to, and
// receive) topic, which for a subscription is the filter, wildcards
// included:
//
//   - leader: everything;
//   - unit N: writes only pioreactor/N and below, so that it can never
//     publish under another unit (its settings, its daemon's requests) nor
//     under pioreactor/$broadcast; reads everything under pioreactor/;
//   - viewer: reads everything under pioreactor/, writes nothing.
//
// A unit reads the whole tree, not only its own topics and $broadcast:
// pio mqtt on a worker watches the cluster as it does upstream, and the
// readings of a lab are not secret from its own machines; what the rules
// protect is who may command what. A filter that reaches beyond
// pioreactor/ ("#", "+/...") is refused to all but the leader. Unknown
// roles may do nothing.
func Allowed(u User, topic string, write bool) bool {
	switch u.Role {
	case RoleLeader:
		return true
	case RoleUnit:
		if write {
			return u.Name != "" && underRoot(topic) && !strings.ContainsAny(topic, "+#") &&
				underLevel(topic[len(Root)+1:], u.Name)
		}
		return underRoot(topic)
	case RoleViewer:
		return !write && underRoot(topic)
	}
	return false
}

// underLevel reports whether topic is level or lies under level/.
func underLevel(topic, level string) bool {
	rest, ok := strings.CutPrefix(topic, level)
	return ok && (rest == "" || rest[0] == '/')
}

// underRoot reports whether topic (or filter) lies under pioreactor/.
func underRoot(topic string) bool {
	return strings.HasPrefix(topic, Root+"/")
}
