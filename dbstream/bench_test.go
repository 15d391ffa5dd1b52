package dbstream

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
)

// unitMix is what one unit publishes, per second, at ten times upstream's
// default rates: od_reading at 0.2 readings/s (one signal channel) and
// growth_rate and od_filtered after each reading, measured_rpm assumed at
// the same pace, a temperature every 200 s, and a dosing event and a log
// line a minute. Ten times that is 2 + 2 + 2 + 2 + 0.05 + 1/6 + 1/6 ≈ 8.4
// messages a second; the cycle below keeps those proportions to within a
// temperature reading (48 messages: 11 each of OD, growth rate, od_filtered
// and RPM, 2 dosing events and 2 logs).
var unitMix = func() []int {
	var m []int
	for i := 0; i < 11; i++ {
		m = append(m, kindOD, kindGrowthRate, kindODFiltered, kindRPM)
	}
	return append(m, kindDosing, kindLog, kindDosing, kindLog)
}()

// benchUnits is the number of simulated units; each publishes every
// 1/8.4 s when paced.
const benchUnits = 64

// BenchmarkIngest streams rows from 64 simulated units through the embedded
// broker into SQLite on a temporary directory; an op is one row.
//
//   - paced10x: each unit publishes at 10x upstream's default rates (about
//     540 rows/s in all); reports p99 publish→row delay.
//   - saturated: each unit publishes back to back (QoS 1, one in flight per
//     unit); reports the sustained rows/s the leader takes.
//
// Either fails if a single row is lost or stored twice.
func BenchmarkIngest(b *testing.B) {
	b.Run("paced10x", func(b *testing.B) { benchIngest(b, time.Second*10/84, 1) })
	b.Run("saturated-qos1", func(b *testing.B) { benchIngest(b, 0, 1) })
}

func benchIngest(b *testing.B, every time.Duration, qos byte) {
	broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	db := openTemp(b)
	leader, err := mqttnet.Dial(broker.Addr(), pubsub.Options{ClientID: "leader"}, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer leader.Close()
	var delays []time.Duration
	s, err := Start(db, leader, Options{OnCommit: func(rows []Row, at time.Time) {
		for _, r := range rows {
			delays = append(delays, at.Sub(r.At))
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	clients := make([]pubsub.Client, benchUnits)
	for u := range clients {
		if clients[u], err = mqttnet.Dial(broker.Addr(), pubsub.Options{ClientID: fmt.Sprintf("unit%02d", u)}, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		defer clients[u].Close()
	}
	n := b.N
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for u, c := range clients {
		share := n / len(clients)
		if u < n%len(clients) {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			unit := fmt.Sprintf("unit%02d", u)
			next := start.Add(time.Duration(u) * every / benchUnits) // stagger the units
			for i := 0; i < share; i++ {
				if every > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(every)
				}
				m := simulate(unit, "bench", unitMix[i%len(unitMix)], i, time.Now())
				if err := c.Publish(m.topic, m.payload, qos, false); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if !waitFor(30*time.Second, func() bool { return s.Stats().Stored >= int64(n) }) {
		b.Fatalf("stored %d of %d rows (stats %+v, broker dropped %d)", s.Stats().Stored, n, s.Stats(), broker.Dropped())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	st := s.Stats()
	var count int64
	for _, tb := range tables {
		var c int64
		if err := db.QueryRow("SELECT COUNT(*) FROM " + tb.name).Scan(&c); err != nil {
			b.Fatal(err)
		}
		count += c
	}
	if st.Received != int64(n) || st.Stored != int64(n) || st.Rejected != 0 || count != int64(n) || broker.Dropped() != 0 {
		b.Fatalf("lost or doubled rows: published %d, stats %+v, %d rows in the database, broker dropped %d",
			n, st, count, broker.Dropped())
	}
	slices.Sort(delays)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
}
