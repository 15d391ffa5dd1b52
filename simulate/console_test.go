package simulate

import (
	"bytes"
	"context"
	"log/slog"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
)

func TestLogLinesCarryTheirVirtualTime(t *testing.T) {
	var log bytes.Buffer
	if _, err := Run(context.Background(), Options{Alone: true, Script: "testdata/feed_until_full.star", For: 2 * time.Hour, Seed: 1, Log: &log}); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, want := range []string{
		"    0h00m00s  INFO     dosing_automation: Starting feed_until_full.\n",
		"    0h00m02s  INFO     dosing_automation: Adding 1.0 mL media.\n",
		// the script's own log.info, after the 2 s the pump runs
		"    0h00m04s  INFO     dosing_automation: added 1.0 mL\n",
		"    1h30m04s  INFO     dosing_automation: added 1.0 mL\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "feeding") || strings.Contains(out, "DEBUG") {
		t.Errorf("debug lines at the INFO level:\n%s", out)
	}
}

func TestDebugLinesOnlyAtTheDebugLevel(t *testing.T) {
	var log bytes.Buffer
	if _, err := Run(context.Background(), Options{Alone: true, Script: "testdata/feed_until_full.star", For: time.Hour, Seed: 1, Log: &log, LogLevel: slog.LevelDebug}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "    0h00m02s  DEBUG    dosing_automation: feeding\n") {
		t.Errorf("no debug line of the script:\n%s", log.String())
	}
}

func TestWarningsAndErrorsAreLogged(t *testing.T) {
	var log bytes.Buffer
	if _, err := Run(context.Background(), Options{Alone: true, Script: "testdata/feed_until_full.star", For: 24 * time.Hour, Seed: 1, Log: &log}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"   10h00m02s  WARNING  dosing_automation: Vial is calculated to have a volume of 34.25 mL. Is this expected?\n",
		"   10h30m03s  ERROR    dosing_automation: Pausing all pumping since the vial is calculated to have a volume of 36.0 mL",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestLogLinesAreDeterministic(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(0))
	var first []byte
	for i, procs := range []int{1, 2, 4} {
		goruntime.GOMAXPROCS(procs)
		var log, sum bytes.Buffer
		s, err := Run(context.Background(), Options{Alone: true, Script: "testdata/on_reading.star", For: 2 * time.Hour, Seed: 3, Log: &log, LogLevel: slog.LevelDebug, At: readingsEvery5s})
		if err != nil {
			t.Fatal(err)
		}
		s.Wall = 0 // the one line of the summary that is not simulated
		s.Print(&sum)
		out := append(log.Bytes(), sum.Bytes()...)
		if i == 0 {
			first = out
		} else if !bytes.Equal(first, out) {
			t.Fatalf("run %d (GOMAXPROCS=%d) printed other lines than the first", i+1, procs)
		}
	}
}

func TestProgressLineIsClearedBeforeALogLine(t *testing.T) {
	var term bytes.Buffer
	c := &console{now: func() time.Duration { return 90 * time.Second }, log: &term, progress: &term}
	log := slog.New(handler{c: c})
	c.Progress("simulating x.star: 50%")
	log.Info("hello", "job", "dosing_automation", "unit", "sim", "experiment", "sim", "n", 2)
	want := "\r" + padded("simulating x.star: 50%") + "\r" + strings.Repeat(" ", progressWidth) + "\r" +
		"    0h01m30s  INFO     dosing_automation: hello n=2\n"
	if term.String() != want {
		t.Errorf("terminal got\n%q\nwant\n%q", term.String(), want)
	}
}

func padded(s string) string { return s + strings.Repeat(" ", progressWidth-len(s)) }

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                    "  0h00m00s",
		2*time.Second + 999*time.Millisecond: "  0h00m02s",
		2*time.Hour + 5*time.Minute:          "  2h05m00s",
		1000 * time.Hour:                     "1000h00m00s",
		-time.Second:                         "  0h00m00s",
	} {
		if got := Elapsed(d); got != want {
			t.Errorf("Elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}
