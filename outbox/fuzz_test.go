package outbox

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCutID: any payload on dosing_events is split without a panic, and an
// id an outbox adds to an event comes back out, with the event as it was.
func FuzzCutID(f *testing.F) {
	f.Add([]byte(`{"volume_change":1.0,"event":"add_media","source_of_event":null,"timestamp":"t"}`), uint64(1))
	f.Add([]byte(`{"volume_change":1.0,"event":"add_media","event_id":"00112233445566ff-3"}`), uint64(7))
	f.Add([]byte(`{"event_id":1}`), uint64(1<<63))
	f.Add([]byte(`{"source_of_event":"a\",\"event_id\":\"b"}`), uint64(2))
	f.Add([]byte(`,"event_id":"}`), uint64(0))
	f.Add([]byte(`{}`), uint64(1))
	f.Fuzz(func(t *testing.T, b []byte, n uint64) {
		id, _ := CutID(b)
		_, _, _ = ParseID(id)
		if n == 0 {
			return
		}
		want := FormatID("00112233445566ff", n)
		body, err := appendID(b, want)
		if err != nil {
			return
		}
		got, rest := CutID(body)
		if got != want || !bytes.Equal(rest, bytes.TrimRight(b, " \t\r\n")) {
			t.Fatalf("CutID(%q) = %q, %q; want %q and the event as it was", body, got, rest, want)
		}
		if s, m, err := ParseID(got); err != nil || s != "00112233445566ff" || m != n {
			t.Fatalf("ParseID(%q) = %q, %d, %v", got, s, m, err)
		}
	})
}

// FuzzJournal: a journal file of any content is read without a panic, and
// what it yields are whole events that were not marked done.
func FuzzJournal(f *testing.F) {
	ev := `{"topic":"pioreactor/u1/e1/dosing_events","event":{"volume_change":1.0,"event_id":"00112233445566ff-1"}}`
	f.Add([]byte(ev + "\n" + ev + "\n{\"done\":0}\n"))
	f.Add([]byte(ev + "\n{\"done\":-1}\n{\"done\":99}\n" + ev[:40]))
	f.Add([]byte("\n\n{}\nnot json\n{\"topic\":\"\",\"event\":{}}\n"))
	f.Add([]byte(`{"topic":"t","event":[1,2]}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "0011223344556677"+journalExt)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		j, events, ok, err := adoptJournal(path)
		if err != nil || !ok {
			t.Fatalf("adopt: %v %v", ok, err)
		}
		defer j.close(false)
		if j.pending != len(events) || len(events) > j.n {
			t.Fatalf("%d events, pending %d, %d written", len(events), j.pending, j.n)
		}
		for _, e := range events {
			if e.topic == "" || len(e.body) == 0 || bytes.IndexByte(e.body, '\n') >= 0 {
				t.Fatalf("event %+v", e)
			}
		}
	})
}
