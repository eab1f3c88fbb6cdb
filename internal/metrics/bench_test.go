package metrics_test

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/metrics"
)

// cpuTime is this process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScrape measures one scrape of a real server by dbfleet:
// every query of the engine's collector, parsing, and the append of all
// samples into the TSDB. It reports wall time per scrape (ns/op), this
// process's CPU time per scrape (cpu-ms/op, user+system from getrusage;
// the database server's own CPU is not counted) and samples per scrape.
//
//	go test ./internal/metrics -run '^$' -bench Scrape -benchtime 200x
func BenchmarkScrape(b *testing.B) {
	for _, tc := range []struct {
		name string
		slow time.Duration
	}{
		{"mariadb", time.Hour},     // the usual scrape: table sizes cached
		{"mariadb-with-tables", 1}, // every scrape reads table sizes too
		{"postgres", time.Hour},
		{"redis", time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFleet(b)
			var inst string
			switch tc.name {
			case "postgres":
				f.add(b, "pg", engine.Postgres, srv(b).pg.Port, srv(b).pg.User, srv(b).pg.Password, "", "")
				inst = "pg"
			case "redis":
				f.add(b, "rd", engine.Redis, srv(b).redis.Port, "", srv(b).redis.Password, "", "")
				inst = "rd"
			default:
				p := srv(b).maria.Primary()
				f.add(b, "m", engine.MariaDB, p.Port, p.User, p.Password, "", "")
				inst = "m"
				if tc.slow == 1 { // 100 tables to size
					stmts := []string{"CREATE DATABASE IF NOT EXISTS benchtables"}
					for i := range 100 {
						stmts = append(stmts, fmt.Sprintf("CREATE TABLE IF NOT EXISTS benchtables.t%d (id INT PRIMARY KEY, v VARCHAR(100))", i))
					}
					p.Exec(b, stmts...)
				}
			}
			store := openStore(b, metrics.StoreOptions{})
			sc := metrics.NewScraper(f.inv, store, metrics.ScraperOptions{Timeout: 10 * time.Second, SlowInterval: tc.slow}, nil)
			defer sc.Close()
			ctx := context.Background()
			if err := sc.ScrapeAll(ctx); err != nil { // connect, first slow round
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0 := cpuTime(b)
			var samples int
			for b.Loop() {
				st, err := sc.ScrapeInstance(ctx, inst)
				if err != nil || st.Health != "up" {
					b.Fatalf("%+v %v", st, err)
				}
				samples = st.Samples
			}
			cpu := cpuTime(b) - cpu0
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(samples), "samples/op")
		})
	}
}

// BenchmarkAppend measures TSDB ingest: batches of 1000 samples (one
// scrape of one instance: 1000 series) for 100 instances, every 15 s of
// simulated time. It reports samples/s, and the Go heap held per series
// once every series exists (after a GC), to size memory for a fleet.
//
//	go test ./internal/metrics -run '^$' -bench Append -benchtime 2000x
func BenchmarkAppend(b *testing.B) {
	store := openStore(b, metrics.StoreOptions{})
	const instances, series = 100, 1000
	sets := make([][]labels.Labels, instances)
	for i := range sets {
		sets[i] = make([]labels.Labels, series)
		for j := range series {
			sets[i][j] = labels.FromStrings("__name__", fmt.Sprintf("mysql_global_status_m%d", j), "instance", fmt.Sprintf("db%d", i), "cluster", "c", "engine", "mariadb")
		}
	}
	start := time.Now().Add(-time.Hour).UnixMilli()
	batch := make([]metrics.Sample, series)
	ctx := context.Background()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		inst, round := n%instances, n/instances
		ts := start + int64(round)*15000
		for j := range series {
			batch[j] = metrics.Sample{Labels: sets[inst][j], T: ts, V: float64(round*j + inst)}
		}
		if err := store.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*series)/b.Elapsed().Seconds(), "samples/s")
	b.StopTimer()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if created := min(n, instances) * series; created > 0 {
		b.ReportMetric(float64(ms.HeapInuse)/float64(created), "heap-bytes/series")
	}
}
