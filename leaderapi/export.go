package leaderapi

import (
	"archive/zip"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/piolab/pio/payload"
)

// Dataset is one exportable table.
type Dataset struct {
	Name        string `json:"dataset_name"`
	DisplayName string `json:"display_name"`
	Table       string `json:"table"`
	Description string `json:"description"`
	HasExp      bool   `json:"has_experiment"`
	HasUnit     bool   `json:"has_unit"`
	TimeColumn  string `json:"timestamp_columns"`
}

// datasets are the tables an export may read: dbstream's and the audit trail.
func datasets() map[string]Dataset {
	m := map[string]Dataset{}
	for _, t := range knownTables {
		m[t] = Dataset{Name: t, DisplayName: strings.ReplaceAll(t, "_", " "), Table: t,
			Description: "rows of " + t + " stored from MQTT (docs/leader-store.md)", HasExp: true, HasUnit: true, TimeColumn: "timestamp"}
	}
	m["audit_log"] = Dataset{Name: "audit_log", DisplayName: "audit log", Table: "audit_log",
		Description: "who changed what through the leader", HasExp: true, HasUnit: true, TimeColumn: "timestamp"}
	return m
}

func (a *API) exportable(w http.ResponseWriter, r *http.Request, _ string) {
	out := []Dataset{}
	for _, t := range append(append([]string(nil), knownTables...), "audit_log") {
		out = append(out, datasets()[t])
	}
	writeJSON(w, http.StatusOK, out)
}

// exportQuery selects ds's rows of exp (every experiment when exp is ""),
// optionally of one unit and within a time range.
func exportQuery(ds Dataset, exp, unit, start, end string) (string, []any) {
	where, args := "WHERE 1=1", []any{}
	if exp != "" {
		where += " AND experiment = ?"
		args = append(args, exp)
	}
	if unit != "" {
		where += " AND pioreactor_unit = ?"
		args = append(args, unit)
	}
	if start != "" {
		where += " AND timestamp >= ?"
		args = append(args, start)
	}
	if end != "" {
		where += " AND timestamp <= ?"
		args = append(args, end)
	}
	return "SELECT * FROM " + ds.Table + " " + where + " ORDER BY timestamp", args
}

// writeCSV writes the rows of query as CSV with a header row; it returns the
// number of rows.
func writeCSV(ctx context.Context, db *sql.DB, out io.Writer, query string, args ...any) (int, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(out)
	cw.Write(cols)
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make([]string, len(cols))
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			rec[i] = v.String
		}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, rows.Err()
}

// timeParam reads an optional RFC 3339 time (with Z or an offset) as stored.
func timeParam(name, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", errorf(http.StatusBadRequest, "give the time in UTC with Z or with its offset, e.g. 2026-07-01T12:00:00Z or 2026-07-01T14:00:00+02:00",
			"%s %q is not an RFC 3339 time with a zone", name, s)
	}
	return payload.LogTimestamp(t), nil
}

// exportCSV: GET /api/experiments/<exp>/export/<dataset>.csv[?unit=&start_time=&end_time=]
func (a *API) exportCSV(w http.ResponseWriter, r *http.Request, _ string) {
	exp, file := r.PathValue("exp"), r.PathValue("file")
	name, ok := strings.CutSuffix(file, ".csv")
	ds, known := datasets()[name]
	if !ok || !known {
		fail(w, http.StatusNotFound, fmt.Sprintf("no dataset %q", file), "", "GET /api/datasets/exportable lists them; ask for <dataset>.csv")
		return
	}
	if err := a.experimentExists(r, exp); err != nil {
		a.failWith(w, r, err)
		return
	}
	q := r.URL.Query()
	start, err := timeParam("start_time", q.Get("start_time"))
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	end, err := timeParam("end_time", q.Get("end_time"))
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	query, args := exportQuery(ds, exp, q.Get("unit"), start, end)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", exp+"-"+name+".csv"))
	if _, err := writeCSV(r.Context(), a.db, w, query, args...); err != nil {
		// The header is sent: end the body with a line that says so.
		a.log.Error("export", "dataset", name, "experiment", exp, "err", err)
		fmt.Fprintf(w, "\n# export stopped: %v\n", err)
	}
}

// ExportBody is upstream's body of an export.
type ExportBody struct {
	Datasets        []string `json:"datasets"`
	Experiment      string   `json:"experiment"`
	PartitionByUnit bool     `json:"partition_by_unit"`
	PartitionByExp  bool     `json:"partition_by_experiment"`
	StartTime       string   `json:"start_time"`
	EndTime         string   `json:"end_time"`
}

// exportZip: POST /api/datasets/exportable/export writes a zip of CSVs (a
// task); its result names the file under /exports/.
func (a *API) exportZip(w http.ResponseWriter, r *http.Request, who string) {
	var body ExportBody
	if err := decode(r, &body, []string{"datasets", "experiment", "partition_by_unit", "partition_by_experiment", "start_time", "end_time"}, "datasets", "experiment"); err != nil {
		a.failWith(w, r, err)
		return
	}
	all := datasets()
	for _, d := range body.Datasets {
		if _, ok := all[d]; !ok {
			fail(w, http.StatusBadRequest, fmt.Sprintf("datasets: no dataset %q", d), "", "GET /api/datasets/exportable lists them")
			return
		}
	}
	if len(body.Datasets) == 0 {
		fail(w, http.StatusBadRequest, "datasets is empty", "", "name at least one dataset")
		return
	}
	start, err := timeParam("start_time", body.StartTime)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	end, err := timeParam("end_time", body.EndTime)
	if err != nil {
		a.failWith(w, r, err)
		return
	}
	exp := body.Experiment
	if exp == "<All experiments>" {
		exp = ""
	} else if err := a.experimentExists(r, exp); err != nil {
		a.failWith(w, r, err)
		return
	}
	name := "export_" + a.now().UTC().Format("20060102150405") + "_" + newID()[:6] + ".zip"
	a.start(w, "$broadcast", func() (any, error) {
		if err := a.writeZip(name, body, exp, start, end); err != nil {
			return nil, err
		}
		return map[string]any{"result": true, "filename": "/exports/" + name, "msg": "Finished"}, nil
	})
}

func (a *API) writeZip(name string, body ExportBody, exp, start, end string) error {
	if err := os.MkdirAll(a.exports, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	path := filepath.Join(a.exports, name)
	f, err := os.Create(path + ".part")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(path + ".part")
	zw := zip.NewWriter(f)
	for _, d := range body.Datasets {
		ds := datasets()[d]
		units := []string{""}
		if body.PartitionByUnit {
			var err error
			if units, err = a.distinctUnits(ds, exp); err != nil {
				f.Close()
				return err
			}
		}
		for _, u := range units {
			file := d + ".csv"
			if u != "" {
				file = d + "/" + d + "-" + u + ".csv"
			}
			zf, err := zw.Create(file)
			if err != nil {
				f.Close()
				return err
			}
			query, args := exportQuery(ds, exp, u, start, end)
			if _, err := writeCSV(a.ctx, a.db, zf, query, args...); err != nil {
				f.Close()
				return fmt.Errorf("export %s: %w", d, err)
			}
		}
	}
	if mf, err := zw.Create("manifest.json"); err == nil {
		mf.Write([]byte(jsonText(map[string]any{"experiment": body.Experiment, "datasets": body.Datasets,
			"partition_by_unit": body.PartitionByUnit, "start_time": start, "end_time": end,
			"exported_at": payload.LogTimestamp(a.now())}) + "\n"))
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".part", path)
}

func (a *API) distinctUnits(ds Dataset, exp string) ([]string, error) {
	q, args := "SELECT DISTINCT pioreactor_unit FROM "+ds.Table, []any{}
	if exp != "" {
		q += " WHERE experiment = ?"
		args = append(args, exp)
	}
	rows, err := a.db.QueryContext(a.ctx, q+" ORDER BY pioreactor_unit", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u sql.NullString
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		if u.String != "" {
			out = append(out, u.String)
		}
	}
	return out, rows.Err()
}

// serveExport: GET /exports/<file>
func (a *API) serveExport(w http.ResponseWriter, r *http.Request, _ string) {
	file := r.PathValue("file")
	if file != filepath.Base(file) || !strings.HasPrefix(file, "export_") || !strings.HasSuffix(file, ".zip") {
		fail(w, http.StatusNotFound, fmt.Sprintf("no export %q", file), "", "")
		return
	}
	path := filepath.Join(a.exports, file)
	if _, err := os.Stat(path); err != nil {
		fail(w, http.StatusNotFound, fmt.Sprintf("no export %q", file), "", "export again: POST /api/datasets/exportable/export")
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	http.ServeFile(w, r, path)
}
