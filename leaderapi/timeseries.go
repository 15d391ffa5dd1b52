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
	if len(points) == 0 {
		return points
	}
	p := newPicker(times[0], times[len(times)-1], len(points), n, true)
	var out []Point
	for i := range points {
		if p.keep(times[i]) {
			out = append(out, points[i])
		}
	}
	return out
}

// picker chooses, one row at a time in time order, the rows a series keeps,
// knowing only the series' first and last times and its row count: a chart
// of a month of readings never holds the month in memory.
type picker struct {
	all        bool
	firstAfter bool
	first      time.Time
	step       time.Duration // firstAfter: between instants
	n, k       int           // firstAfter: instants, the next unserved one
	every, i   int           // otherwise: keep every Nth row; rows seen
}

func newPicker(first, last time.Time, count, n int, firstAfter bool) *picker {
	p := &picker{firstAfter: firstAfter, first: first, n: n}
	if n <= 0 || n >= count {
		p.all = true
		return p
	}
	p.step = last.Sub(first) / time.Duration(n)
	p.every = (count + n - 1) / n
	return p
}

// keep reports whether the row at t is kept. A row is kept when the
// earliest instant no row has served yet is at or before it (upstream's
// "first row at or after each instant"), or, for every-Nth, by its index.
func (p *picker) keep(t time.Time) bool {
	if p.all {
		return true
	}
	if !p.firstAfter {
		p.i++
		return (p.i-1)%p.every == 0
	}
	if p.k < p.n && !t.Before(p.first.Add(time.Duration(p.k)*p.step)) {
		p.k++
		return true
	}
	return false
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
	// First each series' extent, then its rows, picked as they stream by.
	where := ` FROM ` + src.table + ` WHERE experiment = ? AND timestamp >= ?`
	extents, err := a.db.QueryContext(r.Context(), `SELECT pioreactor_unit, `+ch+`, MIN(timestamp), MAX(timestamp), COUNT(*)`+
		where+` GROUP BY pioreactor_unit, `+ch, exp, since)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	pickers := map[string]*picker{}
	for extents.Next() {
		var unit, channel, lo, hi string
		var n int
		if err := extents.Scan(&unit, &channel, &lo, &hi, &n); err != nil {
			extents.Close()
			a.failWith(w, r, err)
			return
		}
		first, _ := time.Parse(time.RFC3339Nano, lo)
		last, _ := time.Parse(time.RFC3339Nano, hi)
		pickers[unit+"\x00"+channel] = newPicker(first, last, n, target, firstAfter)
	}
	extents.Close()
	if err := extents.Err(); err != nil {
		a.failWith(w, r, err)
		return
	}
	rows, err := a.db.QueryContext(r.Context(), `SELECT pioreactor_unit, `+ch+`, timestamp, `+src.column+
		where+` ORDER BY pioreactor_unit, `+ch+`, timestamp`, exp, since)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	out := Series{Series: []string{}, Data: [][]Point{}}
	for rows.Next() {
		var unit, channel, stamp string
		var v float64
		if err := rows.Scan(&unit, &channel, &stamp, &v); err != nil {
			rows.Close()
			a.failWith(w, r, err)
			return
		}
		p := pickers[unit+"\x00"+channel]
		if p == nil { // a series that began after the extents' query
			continue
		}
		name := unit
		if src.perChannel {
			name = unit + "-" + channel
		}
		if len(out.Series) == 0 || out.Series[len(out.Series)-1] != name {
			out.Series = append(out.Series, name)
			out.Data = append(out.Data, []Point{})
		}
		t, _ := time.Parse(time.RFC3339Nano, stamp)
		if p.keep(t) {
			i := len(out.Data) - 1
			out.Data[i] = append(out.Data[i], Point{X: stamp, Y: v})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		a.failWith(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
