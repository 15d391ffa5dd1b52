package simulate

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// csvReadings are the table's reading columns, in order.
var csvReadings = []string{"od", "normalized_od", "growth_rate_per_h", "volume_ml", "alt_media_fraction", "temperature_c"}

// WriteCSV writes the series as a table a spreadsheet opens (RFC 4180):
//
//	time_h,od,normalized_od,growth_rate_per_h,volume_ml,alt_media_fraction,temperature_c,<event>_ml...
//
// with one <event>_ml column for each dosing event seen (add_media,
// add_alt_media, remove_waste first, then the others by name). There is one
// row for each distinct time at which a reading or a dose has a value, in
// time order. A reading column carries its last value forward and is empty
// before its first; a dose column holds the volume dosed at that time (the
// sum, if several doses of the event share it) and is empty when there was
// none. Time is in hours, with every digit needed to tell two times apart;
// non-finite values are left out.
func (s *Series) WriteCSV(w io.Writer) error {
	if s == nil {
		s = &Series{}
	}
	readings := [][]Point{
		finitePoints(s.OD), finitePoints(s.NormalizedOD), finitePoints(s.GrowthRate),
		finitePoints(s.Volume), finitePoints(s.AltMediaFraction), finitePoints(s.Temperature),
	}
	doses := slices.Clone(s.Doses)
	slices.SortStableFunc(doses, func(a, b Dose) int { return cmpDuration(a.T, b.T) })
	events := doseEvents(doses)
	column := make(map[string]int, len(events))
	for i, ev := range events {
		column[ev] = i
	}

	cw := csv.NewWriter(w)
	header := append([]string{"time_h"}, csvReadings...)
	for _, ev := range events {
		header = append(header, ev+"_ml")
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("simulate: writing the CSV: %w", err)
	}

	next := make([]int, len(readings)) // the first point of each reading not yet in a row
	nextDose := 0
	row := make([]string, len(header))
	dosed := make([]float64, len(events))
	hasDose := make([]bool, len(events))
	for _, t := range rowTimes(readings, doses) {
		row[0] = strconv.FormatFloat(t.Hours(), 'f', -1, 64)
		for i, pts := range readings {
			moved := false
			for next[i] < len(pts) && pts[next[i]].T <= t {
				next[i]++
				moved = true
			}
			if moved { // else the row keeps the value carried forward
				row[1+i] = formatValue(pts[next[i]-1].V)
			}
		}
		clear(dosed)
		clear(hasDose)
		for ; nextDose < len(doses) && doses[nextDose].T <= t; nextDose++ {
			d := doses[nextDose]
			if finite(d.ML) {
				k := column[d.Event]
				dosed[k] += d.ML
				hasDose[k] = true
			}
		}
		for k := range events {
			row[1+len(readings)+k] = ""
			if hasDose[k] {
				row[1+len(readings)+k] = formatValue(dosed[k])
			}
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("simulate: writing the CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("simulate: writing the CSV: %w", err)
	}
	return nil
}

// rowTimes are the distinct times of every reading and dose, in order.
func rowTimes(readings [][]Point, doses []Dose) []time.Duration {
	n := len(doses)
	for _, pts := range readings {
		n += len(pts)
	}
	times := make([]time.Duration, 0, n)
	for _, pts := range readings {
		for _, p := range pts {
			times = append(times, p.T)
		}
	}
	for _, d := range doses {
		if finite(d.ML) {
			times = append(times, d.T)
		}
	}
	slices.Sort(times)
	return slices.Compact(times)
}

// finitePoints are pts in time order without their non-finite values (a
// copy only when it differs).
func finitePoints(pts []Point) []Point {
	pts = sortedByTime(pts)
	if !slices.ContainsFunc(pts, func(p Point) bool { return !finite(p.V) }) {
		return pts
	}
	return slices.DeleteFunc(slices.Clone(pts), func(p Point) bool { return !finite(p.V) })
}

// formatValue writes v with the fewest digits that read back as v.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
