package leaderapi

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDownsample(t *testing.T) {
	mk := func(secs ...int) ([]Point, []time.Time) {
		var ps []Point
		var ts []time.Time
		for _, s := range secs {
			at := t0.Add(time.Duration(s) * time.Second)
			ps = append(ps, Point{X: at.Format(time.RFC3339), Y: float64(s)})
			ts = append(ts, at)
		}
		return ps, ts
	}
	ys := func(ps []Point) []float64 {
		out := []float64{}
		for _, p := range ps {
			out = append(out, p.Y)
		}
		return out
	}
	for _, c := range []struct {
		secs []int
		n    int
		want []float64
	}{
		{[]int{0, 1, 2}, 5, []float64{0, 1, 2}},                                // fewer points than asked: all
		{[]int{0, 1, 2}, 0, []float64{0, 1, 2}},                                // no target: all
		{[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, []float64{0, 2, 4, 6, 8}}, // instants 0, 2, 4, 6, 8
		{[]int{0, 1, 2, 3, 9, 10, 11, 12}, 4, []float64{0, 3, 9, 10}},          // instants 0, 3, 6 (→9), 9 (→10: each point once)
		{[]int{0, 100, 101, 102, 103, 104}, 2, []float64{0, 100}},              // instants 0, 52 (→100)
		{[]int{5, 5, 5, 5}, 2, []float64{5, 5}},                                // equal times
	} {
		ps, ts := mk(c.secs...)
		if got := ys(Downsample(ps, ts, c.n)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Downsample(%v, %d) = %v, want %v", c.secs, c.n, got, c.want)
		}
	}
}

func (h *harness) exec(q string, args ...any) {
	h.t.Helper()
	if _, err := h.db.Exec(q, args...); err != nil {
		h.t.Fatal(err)
	}
}

func stamp(d time.Duration) string { return t0.Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }

func TestTimeSeries(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1")
	for i := 0; i < 10; i++ {
		at := stamp(time.Duration(i-9) * time.Minute)
		h.exec(`INSERT INTO od_readings VALUES ('exp1', 'u1', ?, ?, 90, 2)`, at, float64(i))
		h.exec(`INSERT INTO od_readings VALUES ('exp1', 'u1', ?, ?, 45, 1)`, at, float64(10+i))
		h.exec(`INSERT INTO growth_rates VALUES ('exp1', 'u2', ?, ?)`, at, float64(i)/10)
	}
	h.exec(`INSERT INTO growth_rates VALUES ('exp1', 'u2', ?, 99)`, stamp(-5*time.Hour)) // outside the lookback
	h.exec(`INSERT INTO growth_rates VALUES ('other', 'u2', ?, 99)`, stamp(0))
	var s Series
	h.want(200, "GET", "/api/experiments/exp1/time_series/od_readings?target_points=5", nil, &s)
	if !reflect.DeepEqual(s.Series, []string{"u1-1", "u1-2"}) || len(s.Data) != 2 || len(s.Data[1]) != 5 ||
		s.Data[1][0].Y != 0 || s.Data[0][0].Y != 10 || s.Data[1][0].X != stamp(-9*time.Minute) {
		t.Errorf("od_readings: %+v", s)
	}
	h.want(200, "GET", "/api/experiments/exp1/time_series/growth_rates", nil, &s)
	if !reflect.DeepEqual(s.Series, []string{"u2"}) || len(s.Data[0]) != 10 {
		t.Errorf("growth_rates: %+v", s)
	}
	h.want(200, "GET", "/api/experiments/exp1/time_series/growth_rates?lookback=6", nil, &s)
	if len(s.Data[0]) != 11 || s.Data[0][0].Y != 99 {
		t.Errorf("growth_rates, 6 h: %+v", s)
	}
	h.want(200, "GET", "/api/experiments/exp1/time_series/growth_rates/rate?target_points=3", nil, &s)
	if len(s.Data[0]) != 3 {
		t.Errorf("generic, every Nth: %+v", s)
	}
	h.want(200, "GET", "/api/experiments/exp1/time_series/temperature_readings", nil, &s)
	if len(s.Series) != 0 || s.Data == nil {
		t.Errorf("empty series: %+v", s)
	}
	h.wantError(404, "GET", "/api/experiments/exp1/time_series/nope", nil)
	h.wantError(404, "GET", "/api/experiments/exp1/time_series/growth_rates/nope", nil)
	h.wantError(404, "GET", "/api/experiments/exp1/time_series/sqlite_master/name", nil)
	h.wantError(400, "GET", "/api/experiments/exp1/time_series/growth_rates?lookback=-1", nil)
	h.wantError(400, "GET", "/api/experiments/exp1/time_series/growth_rates?target_points=x", nil)
}

func TestLogs(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1")
	for i, lvl := range []string{"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"} {
		h.exec(`INSERT INTO logs (experiment, pioreactor_unit, timestamp, message, source, level, task) VALUES ('exp1', 'u1', ?, ?, 'app', ?, 'stirring')`,
			stamp(time.Duration(i)*time.Second), "m"+lvl, lvl)
	}
	h.exec(`INSERT INTO logs (experiment, pioreactor_unit, timestamp, message, source, level, task) VALUES ('exp1', 'u2', ?, 'old', 'app', 'INFO', 't')`, stamp(-48*time.Hour))
	var rows []LogRow
	h.want(200, "GET", "/api/experiments/exp1/logs?min_level=notice", nil, &rows)
	if len(rows) != 3 || rows[0].Message != "mERROR" {
		t.Errorf("min_level=notice: %+v", rows)
	}
	h.want(200, "GET", "/api/logs?skip=4", nil, &rows)
	if len(rows) != 2 || rows[1].Message != "old" {
		t.Errorf("skip=4: %+v", rows)
	}
	h.want(200, "GET", "/api/units/u2/logs", nil, &rows)
	if len(rows) != 1 {
		t.Errorf("u2: %+v", rows)
	}
	h.want(200, "GET", "/api/experiments/exp1/recent_logs", nil, &rows)
	if len(rows) != 5 {
		t.Errorf("recent (24 h): %+v", rows)
	}
	h.wantError(400, "GET", "/api/logs?min_level=LOUD", nil)

	before := len(h.pub.all())
	code, b := h.do("POST", "/api/workers/u1/experiments/exp1/logs", map[string]any{"message": "added 1 mL by hand", "level": "notice", "source_": "ui"})
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	ms := h.pub.all()[before:]
	if len(ms) != 1 || ms[0].Topic != "pioreactor/u1/exp1/logs/ui/notice" || ms[0].QoS != 2 {
		t.Fatalf("published %+v", ms)
	}
	var p map[string]string
	json.Unmarshal(ms[0].Payload, &p)
	if p["message"] != "added 1 mL by hand" || p["level"] != "NOTICE" || p["timestamp"] != stamp(0) {
		t.Errorf("log payload %s", ms[0].Payload)
	}
	h.wantError(400, "POST", "/api/workers/u1/experiments/exp1/logs", map[string]any{"level": "info"})
	h.wantError(400, "POST", "/api/workers/u1/experiments/exp1/logs", map[string]any{"message": "x", "level": "loud"})
}

func TestExportCSV(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1")
	h.exec(`INSERT INTO growth_rates VALUES ('exp1', 'u1', ?, 0.25)`, stamp(0))
	h.exec(`INSERT INTO growth_rates VALUES ('exp1', 'u2', ?, 0.5)`, stamp(time.Hour))
	h.exec(`INSERT INTO growth_rates VALUES ('other', 'u1', ?, 9)`, stamp(0))
	code, b := h.do("GET", "/api/experiments/exp1/export/growth_rates.csv", nil)
	want := "experiment,pioreactor_unit,timestamp,rate\nexp1,u1,2026-07-01T12:00:00.000Z,0.25\nexp1,u2,2026-07-01T13:00:00.000Z,0.5\n"
	if code != 200 || string(b) != want {
		t.Errorf("export: %d\n%s\nwant\n%s", code, b, want)
	}
	code, b = h.do("GET", "/api/experiments/exp1/export/growth_rates.csv?unit=u2&start_time=2026-07-01T14:30:00%2B02:00", nil)
	if code != 200 || strings.Count(string(b), "\n") != 2 || !strings.Contains(string(b), "u2") {
		t.Errorf("export of u2 since 12:30 UTC: %d %s", code, b)
	}
	h.wantError(404, "GET", "/api/experiments/exp1/export/nope.csv", nil)
	h.wantError(404, "GET", "/api/experiments/nope/export/growth_rates.csv", nil)
	h.wantError(400, "GET", "/api/experiments/exp1/export/growth_rates.csv?start_time=2026-07-01", nil)
}

func TestExportZip(t *testing.T) {
	h := newHarness(t)
	h.setup("exp1", "u1")
	h.exec(`INSERT INTO growth_rates VALUES ('exp1', 'u1', ?, 0.25)`, stamp(0))
	h.exec(`INSERT INTO growth_rates VALUES ('exp1', 'u2', ?, 0.5)`, stamp(time.Hour))
	var ds []Dataset
	h.want(200, "GET", "/api/datasets/exportable", nil, &ds)
	if len(ds) < 10 || ds[0].Name != "od_readings" {
		t.Errorf("exportable: %+v", ds)
	}
	code, b := h.do("POST", "/api/datasets/exportable/export", map[string]any{"datasets": []string{"growth_rates", "logs"}, "experiment": "exp1", "partition_by_unit": true})
	if code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	res := h.poll(b)
	file, _ := res["result"].(map[string]any)["filename"].(string)
	if !strings.HasPrefix(file, "/exports/export_") {
		t.Fatalf("result %v", res)
	}
	req := httptest.NewRequest("GET", file, nil)
	w := httptest.NewRecorder()
	h.api.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("GET %s: %d", file, w.Code)
	}
	zr, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		got[f.Name] = string(b)
	}
	if got["growth_rates/growth_rates-u2.csv"] != "experiment,pioreactor_unit,timestamp,rate\nexp1,u2,2026-07-01T13:00:00.000Z,0.5\n" || got["manifest.json"] == "" {
		t.Errorf("zip: %v", got)
	}
	h.wantError(400, "POST", "/api/datasets/exportable/export", map[string]any{"datasets": []string{"passwords"}, "experiment": "exp1"})
	h.wantError(400, "POST", "/api/datasets/exportable/export", map[string]any{"datasets": []string{"logs"}})
	h.wantError(400, "POST", "/api/datasets/exportable/export", map[string]any{"datasets": []string{"logs"}, "experiment": "exp1", "start_time": "yesterday"})
	h.wantError(404, "GET", "/exports/..%2Fpio.sqlite", nil)
	entries, _ := os.ReadDir(h.api.exports)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".zip" {
			t.Errorf("left in the export folder: %s", e.Name())
		}
	}
}

// TestPickerEveryNth: the generic series keeps every Nth row, streaming,
// so that at most about n remain.
func TestPickerEveryNth(t *testing.T) {
	for _, c := range []struct {
		count, n int
		want     []int
	}{
		{10, 3, []int{0, 4, 8}},
		{10, 10, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{10, 0, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{9, 3, []int{0, 3, 6}},
	} {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		p := newPicker(at, at.Add(time.Duration(c.count)*time.Second), c.count, c.n, false)
		var got []int
		for i := 0; i < c.count; i++ {
			if p.keep(at.Add(time.Duration(i) * time.Second)) {
				got = append(got, i)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("count %d, n %d: kept %v, want %v", c.count, c.n, got, c.want)
		}
	}
}
