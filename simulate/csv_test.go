package simulate

import (
	"encoding/csv"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriteCSVSmallSeries(t *testing.T) {
	s := &Series{
		OD:           []Point{{0, 0.05}, {36 * time.Minute, 0.06}},
		NormalizedOD: []Point{{36 * time.Minute, 1.2}},
		GrowthRate:   []Point{{36 * time.Minute, 0.25}},
		Volume:       []Point{{0, 14}, {time.Hour, 15}, {time.Hour, 14}},
		Temperature:  []Point{{5 * time.Second, 30.5}},
		Doses: []Dose{
			{time.Hour, "remove_waste", 1},
			{time.Hour, "add_media", 1},
			{time.Hour, "add_salt", 0.25},
			{2 * time.Hour, "add_media", 0.5},
			{2 * time.Hour, "add_media", 0.25},
		},
		Targets: map[string][]Point{"target biomass": {{3 * time.Hour, 1.5}}}, // not a column, not a row
	}
	var b strings.Builder
	if err := s.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"time_h,od,normalized_od,growth_rate_per_h,volume_ml,alt_media_fraction,temperature_c,add_media_ml,remove_waste_ml,add_salt_ml\n" +
		"0,0.05,,,14,,,,,\n" +
		"0.001388888888888889,0.05,,,14,,30.5,,,\n" +
		"0.6,0.06,1.2,0.25,14,,30.5,,,\n" +
		"1,0.06,1.2,0.25,14,,30.5,1,1,0.25\n" + // the last volume at 1 h is the one that counts
		"2,0.06,1.2,0.25,14,,30.5,0.75,,\n"
	if got := b.String(); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteCSVCarriesValuesForward(t *testing.T) {
	s := &Series{
		OD:          []Point{{time.Hour, 0.1}, {3 * time.Hour, 0.3}},
		Temperature: []Point{{2 * time.Hour, 30}, {4 * time.Hour, math.NaN()}},
	}
	rows := readCSV(t, s)
	want := [][2]string{ // od, temperature_c
		{"0.1", ""}, // 1 h: no temperature yet
		{"0.1", "30"},
		{"0.3", "30"},
		// The NaN at 4 h is left out: no row.
	}
	if len(rows) != 1+3 {
		t.Fatalf("%d rows, want a header and 3: %q", len(rows), rows)
	}
	for i, row := range rows[1:] {
		if row[1] != want[i][0] || row[6] != want[i][1] {
			t.Errorf("row %d (%s h): od %q, temperature %q; want %q, %q", i, row[0], row[1], row[6], want[i][0], want[i][1])
		}
	}
}

func TestWriteCSVEmpty(t *testing.T) {
	const header = "time_h,od,normalized_od,growth_rate_per_h,volume_ml,alt_media_fraction,temperature_c\n"
	for name, s := range map[string]*Series{"nil": nil, "empty": {}} {
		var b strings.Builder
		if err := s.WriteCSV(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.String() != header {
			t.Errorf("%s series: CSV %q, want the header only %q", name, b.String(), header)
		}
	}
}

func TestWriteCSVQuotesEventNames(t *testing.T) {
	s := &Series{Doses: []Dose{{time.Minute, `add_"odd",name`, 1}}}
	rows := readCSV(t, s)
	if got := rows[0][len(rows[0])-1]; got != `add_"odd",name_ml` {
		t.Errorf("last column %q, want the event name read back whole", got)
	}
	if len(rows) != 2 || len(rows[1]) != len(rows[0]) {
		t.Errorf("rows %q", rows)
	}
}

func TestWriteCSVDistinctTimes(t *testing.T) {
	// A week of 5 s readings: every row's time reads back as a distinct,
	// increasing number of hours.
	s := turbidostat(7*24*time.Hour, 5*time.Second)
	rows := readCSV(t, s)
	if want := 1 + len(s.OD); len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	prev := -1.0
	for i, row := range rows[1:] {
		h, err := strconv.ParseFloat(row[0], 64)
		if err != nil || h <= prev {
			t.Fatalf("row %d: time %q after %v", i, row[0], prev)
		}
		prev = h
	}
}

func TestWriteCSVReportsWriteErrors(t *testing.T) {
	err := turbidostat(time.Hour, 5*time.Second).WriteCSV(failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("WriteCSV to a failing writer = %v, want its error", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func readCSV(t *testing.T, s *Series) [][]string {
	t.Helper()
	r, w := io.Pipe()
	go func() { w.CloseWithError(s.WriteCSV(w)) }()
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// BenchmarkWriteCSVDay writes a day of 5 s readings (17,280 rows).
func BenchmarkWriteCSVDay(b *testing.B) {
	s := turbidostat(24*time.Hour, 5*time.Second)
	for b.Loop() {
		if err := s.WriteCSV(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
