package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piolab/pio/auth"
	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/runtime"
)

// unitConf is a unit's config.ini: its name, the broker with the unit's own
// credentials, the leader's API, and short dosing pauses so that a dose
// takes a second or two.
const unitConf = `[cluster.topology]
unit_name=%s
leader_address=127.0.0.1

[ui]
port=%d

[mqtt]
broker_address=127.0.0.1
broker_port=%d
username=%s
password=%s

[cluster.security]
api_token=%s

[cluster.daemon]
request_timeout_seconds=5

[dosing_automation.config]
pause_between_subdoses_seconds=0.2
waste_removal_multiplier=1.0
first_run_delay_seconds=0.2
`

// leaderConf is the leader's config.ini: the broker's leader user, the API
// tokens, the database.
const leaderConf = `[cluster.topology]
unit_name=leader

[mqtt]
broker_address=127.0.0.1
broker_port=%d
username=leader
password=%s

[cluster.security]
api_tokens_file=%s

[cluster.leader]
database=%s

[cluster.daemon]
request_timeout_seconds=5
`

// clientConf is the config.ini of the machine that types the cluster
// commands: where the leader's API is, and the token.
const clientConf = `[cluster.topology]
leader_address=127.0.0.1

[ui]
port=%d

[cluster.security]
api_token=%s

[cluster.daemon]
request_timeout_seconds=5
`

var apiURL = regexp.MustCompile(`pio leader: API http://127\.0\.0\.1:(\d+),`)

// The lab, as separate processes on the loopback interface: Mosquitto with
// pio's users and rules, pio leader on it, three unit daemons, and the
// cluster commands. See docs/cluster-test.md for what each step proves.
func TestCluster(t *testing.T) {
	needMosquitto(t)
	began := time.Now()
	pio, pios := buildBinaries(t, t.TempDir())
	t.Logf("built pio and pios in %v", time.Since(began).Round(time.Millisecond))
	l := newLab(t)
	units := []string{"u1", "u2", "u3"}

	// 1. The broker, with a user per unit and one for the leader.
	users := []brokerUser{{"leader", auth.NewToken(), auth.RoleLeader}}
	password := map[string]string{"leader": users[0].password}
	for _, u := range units {
		users = append(users, brokerUser{u, auth.NewToken(), auth.RoleUnit})
		password[u] = users[len(users)-1].password
	}
	broker := newMosquitto(l, users)

	// 2. The leader, then the units' daemons.
	token := auth.NewToken()
	leaderHome := t.TempDir()
	tokens := filepath.Join(leaderHome, "api_tokens")
	writeFile(t, tokens, "alice "+token+"\n", 0o600)
	database := filepath.Join(leaderHome, "pio.sqlite")
	writeFile(t, filepath.Join(leaderHome, "config.ini"), fmt.Sprintf(leaderConf, broker.port, password["leader"], tokens, database), 0o600)
	leader := l.start("leader", env(leaderHome), pio, "leader", "--external-broker", broker.addr(), "--listen", "127.0.0.1:0")
	m := apiURL.FindStringSubmatch(leader.waitLog(t, "pio leader: API", 20*time.Second))
	if m == nil {
		t.Fatalf("pio leader did not say where its API is:\n%s", leader.readLog())
	}
	var apiPort int
	fmt.Sscan(m[1], &apiPort)
	client := t.TempDir()
	writeFile(t, filepath.Join(client, "config.ini"), fmt.Sprintf(clientConf, apiPort, token), 0o600)
	cli := env(client)

	obs := observe(t, broker.addr(), "leader", password["leader"])
	homes := map[string]string{}
	daemons := map[string]*proc{}
	startDaemon := func(u string) {
		mark := obs.mark()
		daemons[u] = l.start("daemon-"+u, env(homes[u]), pio, "daemon")
		t.Cleanup(func() { killHost(homes[u], u) })
		obs.waitValue(t, daemonState(u), "ready", mark, 20*time.Second)
	}
	// pio daemon hosts the jobs in a child process (its memory budget) in a
	// process group of its own; the registry names it.
	killDaemon := func(u string) {
		if !killHost(homes[u], u) {
			t.Fatalf("%s: no daemon in the job registry", u)
		}
		daemons[u].kill(t)
	}
	for _, u := range units {
		homes[u] = t.TempDir()
		writeFile(t, filepath.Join(homes[u], "config.ini"), fmt.Sprintf(unitConf, u, apiPort, broker.port, u, password[u], token), 0o600)
		startDaemon(u)
	}
	t.Logf("lab up at %v", time.Since(began).Round(time.Millisecond))

	// 3. The leader's inventory, through the CLI.
	for _, u := range units {
		if out, errOut, code := l.run(cli, 20*time.Second, pio, "workers", "add", u); code != 0 || !strings.Contains(out, "added "+u) {
			t.Fatalf("pio workers add %s: exit %d\n%s%s", u, code, out, errOut)
		}
	}
	if out, errOut, code := l.run(cli, 20*time.Second, pio, "experiments", "create", "exp1"); code != 0 {
		t.Fatalf("pio experiments create exp1: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := l.run(cli, 20*time.Second, pio, append([]string{"experiments", "assign", "exp1"}, units...)...)
	if code != 0 {
		t.Fatalf("pio experiments assign: exit %d\n%s%s", code, out, errOut)
	}
	for _, u := range units {
		if !strings.Contains(out, u+": assigned to exp1") {
			t.Fatalf("pio experiments assign: no line for %s:\n%s", u, out)
		}
	}

	// 4. A dosing script on every unit, sent with its content.
	script, err := filepath.Abs(filepath.Join("testdata", "dose.star"))
	if err != nil {
		t.Fatal(err)
	}
	mark := obs.mark()
	out, errOut, code = l.run(cli, 30*time.Second, pios, "run-script", script)
	if code != 0 {
		t.Fatalf("pios run-script: exit %d\n%s%s", code, out, errOut)
	}
	for _, u := range units {
		if !regexp.MustCompile(`(?m)^` + u + `: started \S+ \(exp1\)$`).MatchString(out) {
			t.Fatalf("pios run-script: no started line for %s:\n%s", u, out)
		}
	}
	for _, u := range units {
		obs.waitValue(t, jobState(u, "dosing_automation"), "ready", mark, 20*time.Second)
	}
	obs.waitEvents(t, units, 3, mark, 20*time.Second, "after pios run-script")
	t.Logf("dosing at %v", time.Since(began).Round(time.Millisecond))

	// 5. A unit's credentials write under its own unit only; a setting
	// changed through the leader changes on u1 only.
	forged := "pioreactor/u2/exp1/dosing_automation/volume_ml/set"
	publishAs(t, broker.addr(), "u1", password["u1"], forged, "0.1")
	mark = obs.mark()
	out, errOut, code = l.run(cli, 20*time.Second, pios, "jobs", "set", "dosing_automation", "volume_ml", "0.3", "--units", "u1")
	if code != 0 || !strings.HasPrefix(out, "u1: ") || strings.Contains(out, "u2") {
		t.Fatalf("pios jobs set: exit %d\n%s%s", code, out, errOut)
	}
	obs.waitValue(t, setting("u1", "volume_ml"), "0.3", mark, 10*time.Second)
	if v := obs.value(forged); v != "" {
		t.Errorf("u1's credentials published %s (%q): the broker let a unit write under another unit", forged, v)
	}
	for u, want := range map[string]string{"u1": "0.3", "u2": "0.5", "u3": "0.5"} {
		if got := retained(t, broker.addr(), "leader", password["leader"], setting(u, "volume_ml")); got != want {
			t.Errorf("after pios jobs set ... --units u1: %s's volume_ml is %q, want %q", u, got, want)
		}
	}

	// 6. u3's machine dies: the daemon's process group is killed outright.
	killDaemon("u3")
	u3Journal := readJournals(t, homes["u3"])
	u3Files, _ := filepath.Glob(filepath.Join(homes["u3"], "outbox", "*.journal"))
	obs.waitValue(t, daemonState("u3"), "lost", mark, 10*time.Second)
	obs.waitValue(t, jobState("u3", "dosing_automation"), "lost", mark, 10*time.Second)
	mark = obs.mark()
	obs.waitEvents(t, []string{"u1", "u2"}, 2, mark, 20*time.Second, "after u3 was killed")
	out, errOut, code = l.run(cli, 15*time.Second, pios, "status")
	if code != 1 {
		t.Errorf("pios status with u3 lost: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, u := range []string{"u1", "u2"} {
		if !regexp.MustCompile(`(?m)^` + u + `: active, exp1: .*\(ready\)`).MatchString(out) {
			t.Errorf("pios status: %s is not reported running:\n%s", u, out)
		}
	}
	if !regexp.MustCompile(`(?m)^u3: active, exp1: unreachable: .*lost`).MatchString(out) {
		t.Errorf("pios status: u3 is not reported lost on its line:\n%s", out)
	}

	// 7. The broker restarts while u1 and u2 dose: everyone reconnects.
	mark = obs.mark()
	restartMark, restarted := mark, time.Now()
	broker.restart(t)
	for _, u := range []string{"u1", "u2"} {
		obs.waitValue(t, daemonState(u), "ready", mark, 20*time.Second)
		obs.waitValue(t, jobState(u, "dosing_automation"), "ready", mark, 20*time.Second)
	}
	streamBack := waitStreamBack(t, broker.addr(), password["leader"], database, 20*time.Second)
	obs.waitEvents(t, []string{"u1", "u2"}, 3, mark, 20*time.Second, "after the broker restarted")
	t.Logf("broker restarted at %v (%s UTC), the leader's stream stores again from %s; u1 and u2 dose on",
		time.Since(began).Round(time.Millisecond), clock(restarted), clock(streamBack))

	// The outbox's resend, by hand: an event u1's monitor confirmed is
	// published again with its id. The monitor counts it once; so must the
	// leader.
	var replayed journaled
	for _, e := range readJournals(t, homes["u1"]) {
		if e.done && e.at.Before(restarted.Add(-time.Second)) {
			replayed = e
			break
		}
	}
	if replayed.id == "" {
		t.Fatal("u1 journaled no confirmed event before the broker restart")
	}
	publishAs(t, broker.addr(), "u1", password["u1"], replayed.topic, string(replayed.body))
	eventually(t, 10*time.Second, func() bool { return len(obs.outcomes(replayed.id)) >= 2 }, func() string {
		return fmt.Sprintf("u1's monitor did not confirm the replayed event %s (outcomes %v)", replayed.id, obs.outcomes(replayed.id))
	})
	if o := obs.outcomes(replayed.id); o[len(o)-1] != "duplicate" {
		t.Errorf("u1's monitor handled the replayed event %s as %v, want applied then duplicate", replayed.id, o)
	}

	// The leader dies (SIGKILL) while u1 and u2 dose, and starts again:
	// the events their monitors confirmed meanwhile stay in the journals
	// until the leader's stream, ready again, has stored them.
	leader.kill(t)
	mark = obs.mark()
	obs.waitEvents(t, []string{"u1", "u2"}, 1, mark, 20*time.Second, "while the leader was down")
	leader = l.start("leader-2", env(leaderHome), pio, "leader", "--external-broker", broker.addr(), "--listen", fmt.Sprintf("127.0.0.1:%d", apiPort))
	leader.waitLog(t, "pio leader: API", 20*time.Second)
	t.Logf("the leader was killed and started again at %v", time.Since(began).Round(time.Millisecond))

	// u3 comes back: its new daemon publishes what its killed one had not
	// had confirmed, from the journal it left.
	startDaemon("u3")
	eventually(t, 20*time.Second, func() bool {
		for _, f := range u3Files {
			if exists(f) {
				return false
			}
		}
		return true
	}, func() string {
		return fmt.Sprintf("u3's new daemon did not take over the journals its killed daemon left (%d events, %d unconfirmed): %v",
			len(u3Journal), pending(u3Journal), u3Files)
	})

	// 8. Stop every job, let the monitors and the leader confirm every event, stop all.
	mark = obs.mark()
	out, errOut, code = l.run(cli, 20*time.Second, pios, "kill", "--all-jobs")
	if code != 0 {
		t.Errorf("pios kill --all-jobs: exit %d\n%s%s", code, out, errOut)
	}
	for _, u := range []string{"u1", "u2"} {
		if !regexp.MustCompile(`(?m)^` + u + `: stopped .*dosing_automation`).MatchString(out) {
			t.Errorf("pios kill --all-jobs: %s did not stop dosing_automation:\n%s", u, out)
		}
		obs.waitValue(t, jobState(u, "dosing_automation"), "disconnected", mark, 15*time.Second)
	}
	journal := append([]journaled(nil), u3Journal...)
	for _, u := range units {
		var events []journaled
		eventually(t, 20*time.Second, func() bool {
			events = readJournals(t, homes[u])
			return pending(events) == 0
		}, func() string {
			return fmt.Sprintf("%s: the monitor and the leader did not both confirm %d of its %d journaled dosing events", u, pending(events), len(events))
		})
		journal = append(journal, events...)
	}
	for _, u := range units {
		daemons[u].stop(t, 20*time.Second)
	}
	leader.stop(t, 20*time.Second)
	t.Logf("lab stopped at %v", time.Since(began).Round(time.Millisecond))

	// The leader's record: every journaled dosing event exactly once.
	perUnit := map[string]int{}
	afterRestart := 0
	for _, e := range journal {
		perUnit[e.unit]++
		if e.at.After(restarted) && e.unit != "u3" {
			afterRestart++
		}
	}
	for _, u := range units {
		if perUnit[u] == 0 {
			t.Errorf("%s journaled no dosing event", u)
		}
	}
	if afterRestart == 0 {
		t.Errorf("u1 and u2 journaled no dosing event after the broker restarted")
	}
	db := openStore(t, database)
	stored := storedDosingEvents(t, db)
	if problems := compareDosingEvents(journal, stored); len(problems) > 0 {
		t.Errorf("the leader's dosing_events does not hold the %d journaled events exactly once (%d rows); %d problems:\n%s",
			len(journal), sum(stored), len(problems), strings.Join(first(messages(problems), 30), "\n"))
	}
	t.Logf("%d dosing events journaled (%v), %d after the broker restart; %d rows stored", len(journal), perUnit, afterRestart, sum(stored))

	// Logs the observer saw while the leader's stream was subscribed the
	// whole time (before the restart) are stored once each.
	logs := storedLogs(t, db)
	seen := obs.logsBefore(restartMark)
	var missing []string
	for _, k := range seen {
		if logs[k] != 1 {
			missing = append(missing, fmt.Sprintf("%s stored %d times", k, logs[k]))
		}
	}
	if len(seen) == 0 {
		t.Errorf("the observer saw no log record")
	}
	if len(missing) > 0 {
		t.Errorf("%d of the %d log records published before the broker restart are not stored once:\n%s",
			len(missing), len(seen), strings.Join(first(missing, 20), "\n"))
	}

	// The audit trail names the token's owner for each change.
	var audited int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log WHERE credential = 'alice' AND action IN ('run-script', 'update')`).Scan(&audited); err != nil {
		t.Fatalf("audit_log: %v", err)
	}
	if audited < len(units)+1 {
		t.Errorf("audit_log has %d run-script and update rows by alice, want at least %d", audited, len(units)+1)
	}
	t.Logf("wall time %v", time.Since(began).Round(time.Millisecond))
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

// killHost sends SIGKILL to the process that hosts a unit's jobs (the child
// of pio daemon the unit's registry names), if it runs.
func killHost(home, unit string) bool {
	entry, ok := (&runtime.Registry{Dir: filepath.Join(home, "run", unit)}).Lookup("daemon")
	if !ok || entry.PID <= 0 {
		return false
	}
	return syscall.Kill(entry.PID, syscall.SIGKILL) == nil
}

func daemonState(unit string) string { return "pioreactor/" + unit + "/$experiment/daemon/$state" }

func jobState(unit, job string) string { return "pioreactor/" + unit + "/exp1/" + job + "/$state" }

func setting(unit, name string) string {
	return "pioreactor/" + unit + "/exp1/dosing_automation/" + name
}

// publishAs publishes at QoS 1 with a user's own credentials.
func publishAs(t *testing.T, addr, user, password, topic, payload string) {
	t.Helper()
	c, err := mqttnet.Dial(addr, pubsub.Options{ClientID: "cluster-test-" + user, Username: user, Password: password}, 5*time.Second)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	defer c.Close()
	// Mosquitto acknowledges a publish its rules refuse, and drops it.
	if err := c.Publish(topic, []byte(payload), 1, false); err != nil {
		t.Fatalf("publish as %s on %s: %v", user, topic, err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}
