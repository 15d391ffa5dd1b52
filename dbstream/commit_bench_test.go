package dbstream

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCommit measures the stream's own ceiling, without MQTT: parse
// and commit rows of the benchmark's unit mix from 64 units in batches of
// BatchRows, with and without upstream's activity triggers. An op is one
// row.
//
//	go test -run X -bench BenchmarkCommit ./dbstream
func BenchmarkCommit(b *testing.B) {
	for _, triggers := range []bool{true, false} {
		b.Run(fmt.Sprintf("triggers=%v", triggers), func(b *testing.B) {
			schema := Schema
			if triggers {
				schema += Triggers
			}
			db, err := open(filepath.Join(b.TempDir(), "pioreactor.sqlite"), schema)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s := &Stream{db: db, opts: Options{BatchRows: 1000}, stmts: map[*table]*sql.Stmt{}}
			for _, t := range tables {
				st, err := db.Prepare(t.insertSQL())
				if err != nil {
					b.Fatal(err)
				}
				s.stmts[t] = st
			}
			defer s.closeStmts()
			at := time.Now()
			b.ResetTimer()
			batch := make([]Row, 0, 1000)
			for i := 0; i < b.N; i++ {
				m := simulate(fmt.Sprintf("unit%02d", i%benchUnits), "bench", unitMix[(i/benchUnits)%len(unitMix)], i, at.Add(time.Duration(i)*time.Microsecond))
				row, err := Parse(m.topic, m.payload, at)
				if err != nil {
					b.Fatal(err)
				}
				if batch = append(batch, row); len(batch) == cap(batch) || i == b.N-1 {
					if _, rejected, _, err := s.tryCommit(batch); err != nil || rejected != 0 {
						b.Fatalf("commit: %v, %d rejected", err, rejected)
					}
					batch = batch[:0]
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
