package auth

import (
	"strings"
	"testing"
)

func TestAllowed(t *testing.T) {
	leader := User{"leader", RoleLeader}
	w1 := User{"worker1", RoleUnit}
	viewer := User{"grafana", RoleViewer}
	for _, tc := range []struct {
		u     User
		topic string
		write bool
		want  bool
	}{
		{leader, "pioreactor/worker1/exp/stirring/target_rpm/set", true, true},
		{leader, "pioreactor/$broadcast/exp/stirring/$state/set", true, true},
		{leader, "#", false, true},
		{leader, "other/topic", true, true},

		{w1, "pioreactor/worker1/exp/stirring/target_rpm", true, true},
		{w1, "pioreactor/worker1/$experiment/daemon/reply/42", true, true},
		{w1, "pioreactor/worker1/$experiment/daemon/request", true, true}, // its own daemon
		{w1, "pioreactor/worker1", true, true},
		{w1, "pioreactor/worker2/exp/stirring/target_rpm/set", true, false},
		{w1, "pioreactor/worker2/$experiment/daemon/request", true, false},
		{w1, "pioreactor/$broadcast/exp/stirring/$state/set", true, false},
		{w1, "pioreactor/worker10/exp/x", true, false}, // a longer name with the same prefix
		{w1, "pioreactor/worker1x", true, false},
		{w1, "pioreactor/worker1/#", true, false},
		{w1, "pioreactor/+/exp/x", true, false},
		{w1, "pioreactor", true, false},
		{w1, "other/worker1/x", true, false},
		{w1, "pioreactor/worker2/exp/od_reading/od1", false, true},
		{w1, "pioreactor/$broadcast/#", false, true},
		{w1, "pioreactor/+/+/daemon/request", false, true},
		{w1, "#", false, false},
		{w1, "+/worker1/#", false, false},
		{w1, "$SYS/broker/uptime", false, false},

		{viewer, "pioreactor/worker1/exp/od_reading/od1", false, true},
		{viewer, "pioreactor/#", false, true},
		{viewer, "pioreactor/grafana/x", true, false},
		{viewer, "pioreactor/worker1/exp/stirring/target_rpm/set", true, false},
		{viewer, "#", false, false},

		{User{"x", Role("admin")}, "pioreactor/x/y", false, false},
		{User{"", RoleUnit}, "pioreactor//x", true, false},
	} {
		if got := Allowed(tc.u, tc.topic, tc.write); got != tc.want {
			t.Errorf("Allowed(%v, %q, write=%v) = %v, want %v", tc.u, tc.topic, tc.write, got, tc.want)
		}
	}
}

func TestMosquittoACL(t *testing.T) {
	h := HashPassword("x")
	us, err := ParseUsers(strings.NewReader("w1 "+h+" unit\nboss "+h+" leader\nv "+h+" viewer\n"), "u")
	if err != nil {
		t.Fatal(err)
	}
	want := "# pio's broker rules (auth.Allowed); written by pio, one block a user\n" +
		"\nuser boss\ntopic readwrite #\n" +
		"\nuser v\ntopic read pioreactor/#\n" +
		"\nuser w1\ntopic write pioreactor/w1/#\ntopic read pioreactor/#\n"
	if got := MosquittoACL(us); got != want {
		t.Fatalf("MosquittoACL:\n%s\nwant:\n%s", got, want)
	}
}

func TestMosquittoPasswd(t *testing.T) {
	line, err := MosquittoPasswd("w1", "secret")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(line, "$")
	if !strings.HasPrefix(line, "w1:$7$101$") || len(f) != 5 || len(f[3]) != 16 || len(f[4]) != 88 {
		t.Fatalf("MosquittoPasswd = %q, want w1:$7$101$<16 base64>$<88 base64>", line)
	}
	if _, err := MosquittoPasswd("a:b", "x"); err == nil {
		t.Fatal("a name with ':' was accepted")
	}
}
