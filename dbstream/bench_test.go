package dbstream

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/piolab/pio/pubsub"
	"github.com/piolab/pio/pubsub/mqttnet"
	"github.com/piolab/pio/pubsub/mqttnet/mqtttest"
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

// benchUnits is the number of simulated units.
const benchUnits = 64

// ingestCase is one way of loading the leader.
type ingestCase struct {
	name     string
	perUnit  float64 // messages a second from each unit; 0: as fast as the window allows
	window   int     // QoS 1 publishes a unit keeps in flight
	triggers bool    // upstream's activity triggers
}

var ingestCases = []ingestCase{
	// 10x upstream's default rates: about 8.4 messages a unit a second,
	// 540 rows/s in all.
	{"paced10x", 84.0 / 10, 1000, true},
	// The target load: 64 units at 25,000 rows/s in all (390 a unit a
	// second), paced.
	{"paced25k", 25000.0 / benchUnits, 1000, true},
	// Each unit back to back with 32 QoS 1 publishes in flight.
	{"saturated", 0, 32, true},
	{"saturated-notriggers", 0, 32, false},
}

// BenchmarkIngest streams rows from 64 simulated units through a broker
// into SQLite on a temporary directory; an op is one row. Each unit is a
// raw paho connection that keeps a window of QoS 1 publishes in flight; the
// leader is the embedded broker's Local client (as pio leader runs it), or
// mqttnet.Dial's (embedded-dial, and Mosquitto, as pio leader runs it). Every case fails
// if a single row is lost or stored twice (the stream's counts, the rows in
// the database, the distinct rows, and the embedded broker's drop counter),
// and reports rows/s and the p50 and p99 delay from the row's timestamp
// (its publish) to the commit that stored it.
//
//	go test -run X -bench BenchmarkIngest -benchtime 300000x ./dbstream
func BenchmarkIngest(b *testing.B) {
	dial := func(addr string) func() (pubsub.Client, error) {
		return func() (pubsub.Client, error) {
			return mqttnet.Dial(addr, pubsub.Options{ClientID: "leader"}, 5*time.Second)
		}
	}
	for _, c := range ingestCases {
		// The leader's stream on the embedded broker's in-process client, as
		// pio leader runs it.
		b.Run("embedded/"+c.name, func(b *testing.B) {
			broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer broker.Close()
			local := func() (pubsub.Client, error) { return broker.Local("leader"), nil }
			benchIngest(b, broker.Addr(), local, broker.Dropped, c)
		})
	}
	for _, c := range ingestCases {
		// The leader's stream dialling the embedded broker over TCP.
		b.Run("embedded-dial/"+c.name, func(b *testing.B) {
			broker, err := mqttnet.StartEmbedded("127.0.0.1:0", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer broker.Close()
			benchIngest(b, broker.Addr(), dial(broker.Addr()), broker.Dropped, c)
		})
	}
	for _, c := range ingestCases {
		b.Run("mosquitto/"+c.name, func(b *testing.B) {
			addr := mqtttest.StartMosquittoWith(b, mqtttest.MosquittoConfig{Extra: mqtttest.LeaderQueueConf})
			benchIngest(b, addr, dial(addr), func() int64 { return 0 }, c)
		})
	}
}

func benchIngest(b *testing.B, addr string, connect func() (pubsub.Client, error), dropped func() int64, c ingestCase) {
	schema := Schema
	if c.triggers {
		schema += Triggers
	}
	db, err := open(filepath.Join(b.TempDir(), "pioreactor.sqlite"), schema)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	leader, err := connect()
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
	units := make([]paho.Client, benchUnits)
	for u := range units {
		units[u] = dialPublisher(b, addr, fmt.Sprintf("unit%02d", u))
		defer units[u].Disconnect(0)
	}
	n := b.N
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for u, pc := range units {
		share := n / benchUnits
		if u < n%benchUnits {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := publishUnit(pc, fmt.Sprintf("unit%02d", u), share, c, start.Add(time.Duration(u)*time.Millisecond)); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	// Wait for the rows while they keep coming.
	last, lastAt := int64(-1), time.Now()
	for s.Stats().Stored < int64(n) && time.Since(lastAt) < 10*time.Second {
		if st := s.Stats().Stored; st != last {
			last, lastAt = st, time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	st := s.Stats()
	count, distinct := countRows(b, db)
	if st.Received != int64(n) || st.Stored != int64(n) || st.Rejected != 0 || count != int64(n) || distinct != int64(n) || dropped() != 0 {
		b.Fatalf("lost or doubled rows: published %d, stats %+v, %d rows in the database (%d distinct), broker dropped %d",
			n, st, count, distinct, dropped())
	}
	slices.Sort(delays)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
}

// dialPublisher connects a raw paho client: its Publish returns a token
// without waiting for the PUBACK, so a unit can keep a window in flight.
func dialPublisher(b *testing.B, addr, id string) paho.Client {
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetKeepAlive(60 * time.Second)
	pc := paho.NewClient(o)
	if tok := pc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatalf("unit %s: connect to %s: %v", id, addr, tok.Error())
	}
	return pc
}

// publishUnit publishes unit's share of the rows, paced from first at
// c.perUnit a second (or back to back), with at most c.window unacknowledged.
func publishUnit(pc paho.Client, unit string, share int, c ingestCase, first time.Time) error {
	var inflight []paho.Token
	wait := func(tok paho.Token) error {
		if !tok.WaitTimeout(30 * time.Second) {
			return fmt.Errorf("%s: no PUBACK within 30 s", unit)
		}
		return tok.Error()
	}
	next := first
	for i := 0; i < share; i++ {
		if c.perUnit > 0 {
			time.Sleep(time.Until(next)) // a late unit catches up at once
			next = next.Add(time.Duration(float64(time.Second) / c.perUnit))
		}
		m := simulate(unit, "bench", unitMix[i%len(unitMix)], i, time.Now())
		inflight = append(inflight, pc.Publish(m.topic, 1, false, m.payload))
		if len(inflight) >= c.window {
			if err := wait(inflight[0]); err != nil {
				return err
			}
			inflight = inflight[1:]
		}
	}
	for _, tok := range inflight {
		if err := wait(tok); err != nil {
			return err
		}
	}
	return nil
}

// countRows counts the rows of the stream's tables, and the distinct ones
// (every published row differs from the others).
func countRows(b *testing.B, db *sql.DB) (count, distinct int64) {
	for _, tb := range tables {
		var c, d int64
		if err := db.QueryRow("SELECT COUNT(*) FROM " + tb.name).Scan(&c); err != nil {
			b.Fatal(err)
		}
		if err := db.QueryRow("SELECT COUNT(*) FROM (SELECT DISTINCT * FROM " + tb.name + ")").Scan(&d); err != nil {
			b.Fatal(err)
		}
		count, distinct = count+c, distinct+d
	}
	return count, distinct
}
