package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// One job drives a PWM channel at a time: in this process, and on the
// machine (two processes, or two homes, share the unit's Registry).
func TestOneDriverPerChannel(t *testing.T) {
	dir := t.TempDir()

	// In this process: the automation's media pump holds channel 2.
	h := newHarness(t)
	h.env.Registry = &Registry{Dir: dir}
	release, err := h.env.ReserveOutput(2, "dosing_automation (add_media)", "exp1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.pump(context.Background(), PumpRequest{Device: "media", Duration: ptr(1)})
	if !errors.Is(err, ErrOutputInUse) || !strings.Contains(err.Error(), "add_media: PWM channel 2 is in use by dosing_automation (add_media) (in this process)") {
		t.Fatalf("manual pump beside the automation's: %v", err)
	}
	if n := h.rec.Len(); n != 0 {
		t.Errorf("a refused pump published %d messages", n)
	}

	// Another process (another Env on the same Registry directory).
	other := newHarness(t)
	other.env.Registry = &Registry{Dir: dir}
	_, err = other.pump(context.Background(), PumpRequest{Device: "media", Duration: ptr(1)})
	want := fmt.Sprintf("PWM channel 2 is in use by dosing_automation (add_media) (pid %d)", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("pump in another process: %v, want %q", err, want)
	}
	if n := other.rec.Len(); n != 0 {
		t.Errorf("a refused pump published %d messages", n)
	}
	// Another channel is free.
	if _, err := other.pump(context.Background(), PumpRequest{Device: "waste", Duration: ptr(1)}); err != nil {
		t.Errorf("waste pump: %v", err)
	}

	// Released, the channel is free again, everywhere.
	release()
	if _, err := other.pump(context.Background(), PumpRequest{Device: "media", Duration: ptr(1)}); err != nil {
		t.Errorf("after release: %v", err)
	}
	if _, err := h.pump(context.Background(), PumpRequest{Device: "media", Duration: ptr(1)}); err != nil {
		t.Errorf("after release, in the first process: %v", err)
	}
	if list := other.env.Registry.List(); len(list) != 0 {
		t.Errorf("jobs listed after the pumps ended: %+v (output locks are not jobs)", list)
	}
}
