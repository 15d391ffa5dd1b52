package scriptnet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type sent struct {
	topic, payload string
	qos            byte
	retain         bool
}

func TestMQTTPublish(t *testing.T) {
	job := jobFor(t, map[string]string{"scripts.mqtt publish": "lab/alerts/#"})
	var got []sent
	job.Publish = func(topic string, payload []byte, qos byte, retain bool) error {
		got = append(got, sent{topic, string(payload), qos, retain})
		return nil
	}
	_, err := run(t, context.Background(), job, `
def main():
    mqtt.publish("pioreactor/u1/e1/reporter/summary", {"od": 0.5})
    mqtt.publish("lab/alerts/u1", "pump stalled", qos=2, retain=True)
    mqtt.publish("lab/alerts/raw", b"\x01\x02", qos=0)
    mqtt.publish("lab/alerts/n", 3)
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []sent{
		{"pioreactor/u1/e1/reporter/summary", `{"od":0.5}`, 1, false},
		{"lab/alerts/u1", "pump stalled", 2, true},
		{"lab/alerts/raw", "\x01\x02", 0, false},
		{"lab/alerts/n", "3", 1, false},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("published %v\nwant %v", got, want)
	}
}

// A refused publish is an error naming the key that would grant it, and
// nothing is published.
func TestMQTTPublishRefused(t *testing.T) {
	job := jobFor(t, map[string]string{"scripts.mqtt publish": "lab/alerts/#"})
	job.Publish = func(topic string, payload []byte, qos byte, retain bool) error {
		t.Errorf("published %s", topic)
		return nil
	}
	for _, c := range []struct{ call, want string }{
		{`mqtt.publish("lab/other", "x")`,
			`mqtt.publish: publish to "lab/other": not granted (outside pioreactor/u1/e1/reporter/); add lab/other to [scripts.mqtt] publish`},
		{`mqtt.publish("pioreactor/u1/e1/dosing_automation/target_od/set", 1.5)`,
			`add pioreactor/u1/e1/dosing_automation/target_od/set to [scripts.mqtt] publish`},
		{`mqtt.publish("pioreactor/u1/e1/reporter/$state", "lost")`, `publish to "pioreactor/u1/e1/reporter/$state": not granted`},
		{`mqtt.publish("lab/alerts/#", "x")`, `topic "lab/alerts/#": a topic to publish to has no wildcards`},
		// The broker drops the connection of a client that sends a topic
		// that is not UTF-8: the job's own connection, with its state. A
		// script makes one by slicing a string (or from a payload or body).
		{`mqtt.publish("lab/alerts/" + "é"[:1], "x")`, `topic "lab/alerts/\xc3": not valid UTF-8 (MQTT topics are UTF-8)`},
		{`mqtt.publish("lab/alerts/x", "x", qos=3)`, `mqtt.publish("lab/alerts/x"): qos: want 0, 1 or 2, got 3`},
		{`mqtt.publish("lab/alerts/x", lambda: 1)`, `mqtt.publish("lab/alerts/x"): payload: json.encode: cannot encode function as JSON`},
		{`mqtt.publish("lab/alerts/x")`, `mqtt.publish: missing argument for payload`},
	} {
		_, err := run(t, context.Background(), job, "def main():\n    "+c.call+"\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %q", c.call, err, c.want)
		}
	}
}

func TestMQTTPublishFails(t *testing.T) {
	job := jobFor(t, nil)
	job.Publish = func(string, []byte, byte, bool) error { return errors.New("not connected") }
	_, err := run(t, context.Background(), job, "def main():\n    mqtt.publish(\"pioreactor/u1/e1/reporter/x\", 1)\n")
	if err == nil || err.Error() != `mqtt.publish("pioreactor/u1/e1/reporter/x"): not connected` {
		t.Errorf("%v", err)
	}
	job.Publish = nil
	_, err = run(t, context.Background(), job, "def main():\n    mqtt.publish(\"pioreactor/u1/e1/reporter/x\", 1)\n")
	if err == nil || !strings.Contains(err.Error(), "this job has no MQTT connection for scripts") {
		t.Errorf("%v", err)
	}
}

// A payload over MaxPayload is refused before it takes the job's
// connection: nothing is published.
func TestMQTTPayloadCap(t *testing.T) {
	job := jobFor(t, map[string]string{"scripts.mqtt publish": "lab/#"})
	var got []int
	job.Publish = func(topic string, payload []byte, qos byte, retain bool) error {
		got = append(got, len(payload))
		return nil
	}
	_, err := run(t, context.Background(), job, fmt.Sprintf("def main():\n    mqtt.publish(\"lab/big\", \"x\" * %d)\n", MaxPayload))
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(t, context.Background(), job, fmt.Sprintf("def main():\n    mqtt.publish(\"lab/big\", {\"x\": \"x\" * %d})\n", MaxPayload))
	want := fmt.Sprintf(`mqtt.publish("lab/big"): payload of %d bytes: more than mqtt.publish sends (%d bytes)`, MaxPayload+8, MaxPayload)
	if err == nil || err.Error() != want {
		t.Errorf("%v\nwant %s", err, want)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int{MaxPayload}) {
		t.Errorf("published payloads of %v bytes", got)
	}
}
