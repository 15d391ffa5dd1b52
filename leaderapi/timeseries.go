package leaderapi

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/piolab/pio/payload"
)

// Point is one chart point.
type Point struct {
	X string  `json:"x"`
	Y float64 `json:"y"`
}

// Series is the reply of time_series: names and their points, in order.
type Series struct {
	Series []string  `json:"series"`
	Data   [][]Point `json:"data"`
}

// source is a chart's table and column, and whether it splits by channel.
type source struct {
	table, column string
	perChannel    bool
}

var sources = map[string]source{
	"growth_rates":         {"growth_rates", "rate", false},
	"temperature_readings": {"temperature_readings", "temperature_c", false},
	"od_readings_filtered": {"od_readings_filtered", "normalized_od_reading", false},
	"od_readings":          {"od_readings", "od_reading", true},
	"od_readings_fused":    {"od_readings_fused", "od_reading", false},
	"raw_od_readings":      {"raw_od_readings", "od_reading", true},
}

// knownTables are dbstream's tables of per-experiment rows.
var knownTables = []string{"od_readings", "raw_od_readings", "od_readings_fused", "od_readings_filtered",
	"growth_rates", "dosing_events", "led_change_events", "temperature_readings", "stirring_rates",
	"alt_media_fractions", "liquid_volumes", "ir_led_intensities", "logs"}

// Downsample keeps, of points in time order, the first point at or after
// each of n evenly spaced instants from the first point's time to the
// last's (each point at most once). n <= 0 or n >= len(points) keeps all.
func Downsample(points []Point, times []time.Time, n int) []Point {
	if n <= 0 || n >= len(points) {
		return points
	}
	first, last := times[0], times[len(times)-1]
	step := last.Sub(first) / time.Duration(n)
	out := make([]Point, 0, n)
	j := 0
	for k := 0; k < n && j < len(points); k++ {
		at := first.Add(time.Duration(k) * step)
		for j < len(points) && times[j].Before(at) {
			j++
		}
		if j < len(points) {
			out = append(out, points[j])
			j++
		}
	}
	return out
}

// seriesParams reads lookback (hours, default 4) and target_points (default 720).
func seriesParams(r *http.Request) (lookback time.Duration, target int, err error) {
	lookback, target = 4*time.Hour, 720
	q := r.URL.Query()
	if s := q.Get("lookback"); s != "" {
		h, e := strconv.ParseFloat(s, 64)
		if e != nil || h <= 0 || h > 24*365*10 {
			return 0, 0, errorf(http.StatusBadRequest, "", "lookback=%q: want a positive number of hours", s)
		}
		lookback = time.Duration(h * float64(time.Hour))
	}
	if s := q.Get("target_points"); s != "" {
		n, e := strconv.Atoi(s)
		if e != nil || n < 1 || n > 1_000_000 {
			return 0, 0, errorf(http.StatusBadRequest, "", "target_points=%q: want 1 to 1000000", s)
		}
		target = n
	}
	return lookback, target, nil
}

// timeSeries: GET /api/experiments/<exp>/time_series/<source>
func (a *API) timeSeries(w http.ResponseWriter, r *http.Request, _ string) {
	name := r.PathValue("source")
	src, ok := sources[name]
	if !ok {
		fail(w, http.StatusNotFound, fmt.Sprintf("no time series %q", name), "",
			"use growth_rates, temperature_readings, od_readings_filtered, od_readings, od_readings_fused or raw_od_readings, or <table>/<column>")
		return
	}
	a.series(w, r, src, true)
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]`)

// genericTimeSeries: GET /api/experiments/<exp>/time_series/<table>/<column>;
// every Nth row is kept.
func (a *API) genericTimeSeries(w http.ResponseWriter, r *http.Request, _ string) {
	table := nonWord.ReplaceAllString(r.PathValue("table"), "")
	column := nonWord.ReplaceAllString(r.PathValue("column"), "")
	known := false
	for _, t := range knownTables {
		known = known || t == table
	}
	if !known || table == "logs" {
		fail(w, http.StatusNotFound, fmt.Sprintf("no table %q for a time series", table), "", "use one of dbstream's tables (docs/leader-store.md)")
		return
	}
	var n int
	if err := a.db.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ? AND type IN ('REAL', 'INTEGER')`, table, column).Scan(&n); err != nil {
		a.failWith(w, r, err)
		return
	}
	if n == 0 {
		fail(w, http.StatusNotFound, fmt.Sprintf("table %s has no numeric column %q", table, column), "", "")
		return
	}
	a.series(w, r, source{table, column, false}, false)
}

// series answers a time series of src, one per unit (and channel).
func (a *API) series(w http.ResponseWriter, r *http.Request, src source, firstAfter bool) {
	lookback, target, err := seriesParams(r)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	exp := r.PathValue("exp")
	since := payload.LogTimestamp(a.now().Add(-lookback))
	ch := "''"
	if src.perChannel {
		ch = "channel"
	}
	rows, err := a.db.QueryContext(r.Context(), `SELECT pioreactor_unit, `+ch+`, timestamp, `+src.column+` FROM `+src.table+
		` WHERE experiment = ? AND timestamp >= ? ORDER BY pioreactor_unit, `+ch+`, timestamp`, exp, since)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	out := Series{Series: []string{}, Data: [][]Point{}}
	var times [][]time.Time
	for rows.Next() {
		var unit, channel, stamp string
		var v float64
		if err := rows.Scan(&unit, &channel, &stamp, &v); err != nil {
			rows.Close()
			a.failWith(w, r, err)
			return
		}
		name := unit
		if src.perChannel {
			name = unit + "-" + channel
		}
		if len(out.Series) == 0 || out.Series[len(out.Series)-1] != name {
			out.Series = append(out.Series, name)
			out.Data = append(out.Data, nil)
			times = append(times, nil)
		}
		t, _ := time.Parse(time.RFC3339Nano, stamp)
		i := len(out.Data) - 1
		out.Data[i] = append(out.Data[i], Point{X: stamp, Y: v})
		times[i] = append(times[i], t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		a.failWith(w, r, err)
		return
	}
	for i := range out.Data {
		if firstAfter {
			out.Data[i] = Downsample(out.Data[i], times[i], target)
		} else {
			out.Data[i] = everyNth(out.Data[i], target)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// everyNth keeps every Nth point so that at most about n remain.
func everyNth(points []Point, n int) []Point {
	if n <= 0 || len(points) <= n {
		return points
	}
	step := (len(points) + n - 1) / n
	out := make([]Point, 0, n)
	for i := 0; i < len(points); i += step {
		out = append(out, points[i])
	}
	return out
}
