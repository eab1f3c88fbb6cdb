package executor

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// BenchmarkChunkedDelete deletes DBFLEET_BENCH_ROWS rows (default
// 1,000,000) in chunks of DBFLEET_BENCH_CHUNK (default 1000) on the
// shared MariaDB cluster's primary, with before-images (the default) and
// without (rollback none, a faster primary the replica trails), and
// reports the throughput and the largest replica lag seen, with
// throttling on (max_lag 1s) and off. Lag is measured as pt-heartbeat does: the primary
// writes the time every 50 ms; every 50 ms the replica's copy is compared
// with the primary's (so that a heartbeat writer starved of CPU does not
// count as lag).
//
//	go test ./internal/executor -run '^$' -bench ChunkedDelete -benchtime 1x -timeout 60m
func BenchmarkChunkedDelete(b *testing.B) {
	rows := envInt("DBFLEET_BENCH_ROWS", 1_000_000)
	chunk := envInt("DBFLEET_BENCH_CHUNK", 1000)
	for _, tc := range []struct {
		name     string
		maxLag   Duration
		rollback string
	}{
		{"images/throttle=off", -1, RollbackImage},
		{"images/throttle=on", Duration(time.Second), RollbackImage},
		{"no-images/throttle=off", -1, RollbackNone},
		{"no-images/throttle=on", Duration(time.Second), RollbackNone},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				benchDelete(b, rows, chunk, tc.maxLag, tc.rollback)
			}
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchDelete(b *testing.B, rows, chunk int, maxLag Duration, rollback string) {
	b.StopTimer()
	e := newEnv(b)
	e.exec(e.my,
		"CREATE TABLE big (id INT PRIMARY KEY, v INT NOT NULL, pad CHAR(100) NOT NULL)",
		fmt.Sprintf("INSERT INTO big SELECT seq, seq %% 1000, REPEAT('x', 100) FROM seq_1_to_%d", rows),
		"CREATE TABLE hb (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)",
		"INSERT INTO hb VALUES (1, UTC_TIMESTAMP(6))",
	)
	rep := e.replica()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var maxLagSeen atomic.Int64
	wg.Go(func() { // heartbeat on the primary
		for ctx.Err() == nil {
			e.my.ExecContext(ctx, "UPDATE hb SET ts = UTC_TIMESTAMP(6) WHERE id = 1")
			time.Sleep(50 * time.Millisecond)
		}
	})
	wg.Go(func() { // its copy on the replica, against the primary's now
		for ctx.Err() == nil {
			var pts, rts time.Time
			err1 := e.my.QueryRowContext(ctx, "SELECT ts FROM hb WHERE id = 1").Scan(&pts)
			err2 := rep.QueryRowContext(ctx, "SELECT ts FROM hb WHERE id = 1").Scan(&rts)
			if err1 == nil && err2 == nil {
				if lag := pts.Sub(rts); lag > time.Duration(maxLagSeen.Load()) {
					maxLagSeen.Store(int64(lag))
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	svc, stop := e.service(Config{ThrottleInterval: 100 * time.Millisecond})
	defer stop()
	maxLagSeen.Store(0)
	b.StartTimer()
	began := time.Now()
	ex := e.run(svc, "m1", "DELETE FROM big WHERE id > 0", Options{ChunkSize: chunk, MaxLag: maxLag, MaxThreadsRunning: -1, Rollback: rollback})
	took := time.Since(began)
	b.StopTimer()
	e.done(ex)
	// Let the replica catch up, then stop measuring.
	srv(b).cluster.WaitSync(b)
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	s := ex.Statements[0]
	if s.RowsAffected != int64(rows) {
		b.Fatalf("deleted %d rows, want %d", s.RowsAffected, rows)
	}
	b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
	b.ReportMetric(time.Duration(maxLagSeen.Load()).Seconds(), "max_lag_s")
	b.ReportMetric(float64(s.Chunks), "chunks")
	b.Logf("%d rows in %d chunks in %s: %.0f rows/s, max replica lag %s", rows, s.Chunks, took.Round(time.Millisecond),
		float64(rows)/took.Seconds(), time.Duration(maxLagSeen.Load()).Round(time.Millisecond))
}

// benchScript is a script of n statements in the executor's usual mix
// (UPDATE, DELETE, INSERT, SELECT, and an ALTER TABLE every 50th), with
// quotes and comments the splitter must read.
func benchScript(postgres bool, n int) string {
	q := func(s string) string { return s }
	if postgres {
		q = func(s string) string { return strings.ReplaceAll(s, "`", `"`) }
	}
	var b strings.Builder
	for i := range n {
		switch {
		case i%50 == 49:
			fmt.Fprintf(&b, q("ALTER TABLE `t%d` ADD COLUMN c%d INT;\n"), i%7, i)
		case i%4 == 0:
			fmt.Fprintf(&b, q("UPDATE `t` SET a = a + 1, note = 'x;y' WHERE id = %d; -- bump\n"), i)
		case i%4 == 1:
			fmt.Fprintf(&b, q("DELETE FROM `t` WHERE id = %d AND created < '2024-01-01';\n"), i)
		case i%4 == 2:
			fmt.Fprintf(&b, q("/* row %d */ INSERT INTO `t` (id, a, note) VALUES (%d, 1, 'it''s');\n"), i, i)
		default:
			fmt.Fprintf(&b, q("SELECT id, a FROM `t` WHERE id IN (%d, 2, 3);\n"), i)
		}
	}
	return b.String()
}

// BenchmarkSplitScript splits, parses and classifies a script of
// DBFLEET_BENCH_STATEMENTS statements (default 100,000) as Start does,
// and reports the memory the split script keeps (retained-MB: the heap
// after a collection, while the statements are held) besides the
// allocations.
//
//	go test ./internal/executor -run '^$' -bench SplitScript -benchtime 3x
func BenchmarkSplitScript(b *testing.B) {
	n := envInt("DBFLEET_BENCH_STATEMENTS", 100_000)
	for _, tc := range []struct {
		name string
		d    sql.Dialect
	}{
		{"mariadb", sql.MySQL},
		{"postgres", sql.Postgres},
	} {
		b.Run(tc.name, func(b *testing.B) {
			src := benchScript(tc.d == sql.Postgres, n)
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			var retained uint64
			cpu0 := cpuTime()
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				stmts, err := parseScript(tc.d, src)
				if err != nil {
					b.Fatal(err)
				}
				if err := checkScript(stmts, Options{}); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				if len(stmts) != n {
					b.Fatalf("%d statements, want %d", len(stmts), n)
				}
				retained = max(retained, after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc))
				runtime.KeepAlive(stmts)
			}
			b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
			// CPU seconds (all threads, collections included) tell more
			// than wall time on a machine shared with other work.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuTime is the CPU time the process used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
