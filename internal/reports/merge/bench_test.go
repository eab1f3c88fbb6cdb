package merge_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/reports/merge"
	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// BenchmarkShardMerge is bench/reports: a shard map of DBFLEET_BENCH_SHARDS
// (16) databases spread over DBFLEET_BENCH_SERVERS (2) throwaway MariaDB
// servers, DBFLEET_BENCH_ROWS rows each (50,000; run.sh FULL=1: 1,000,000),
// and in the same run:
//
//   - client: the ordered query read from each shard one after another by
//     the mariadb client (--quick --batch) to /dev/null: the baseline;
//   - ordered: the ordered merge of all rows, streamed to CSV (/dev/null),
//     with the heap sampled and the process's peak RSS;
//   - group: a GROUP BY merge over DBFLEET_BENCH_KEYS (10,000) keys, and
//     the same GROUP BY read by the client shard after shard;
//   - partial: the ordered merge again with one more shard on a server of
//     its own, killed halfway: the rows delivered and the shard named.
func BenchmarkShardMerge(b *testing.B) {
	shards := envInt(b, "DBFLEET_BENCH_SHARDS", 16)
	rows := envInt(b, "DBFLEET_BENCH_ROWS", 50000)
	keys := envInt(b, "DBFLEET_BENCH_KEYS", 10000)
	nServers := envInt(b, "DBFLEET_BENCH_SERVERS", 2)
	client, err := exec.LookPath("mariadb")
	if err != nil {
		b.Fatal("the mariadb client is needed for the baseline: ", err)
	}
	ctx := context.Background()
	opts := testenv.MariaDBArgs("--innodb-buffer-pool-size=256M", "--skip-log-bin")
	var servers []*testenv.MariaDB
	for range nServers {
		servers = append(servers, testenv.StartMariaDB(b, opts))
	}
	victim := testenv.StartMariaDB(b, opts)

	type shard struct {
		name string
		srv  *testenv.MariaDB
		db   string
	}
	var all []shard
	for i := range shards {
		all = append(all, shard{name: fmt.Sprintf("shard%02d", i), srv: servers[i%nServers], db: fmt.Sprintf("bench_s%02d", i)})
	}
	extra := shard{name: fmt.Sprintf("shard%02d", shards), srv: victim, db: fmt.Sprintf("bench_s%02d", shards)}
	open := func(s shard) engine.Conn {
		c, err := mysql.New().Open(ctx, engine.Target{Engine: engine.MariaDB, Host: s.srv.Host, Port: s.srv.Port,
			User: s.srv.User, Password: s.srv.Password, Database: s.db, ConnectTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	// The extra shard is killed mid-stream: it holds enough rows (at
	// least 1M) that the rest of its result cannot already sit in the
	// socket buffers when it dies.
	extraRows := max(rows, 1000000)
	began := time.Now()
	conns := map[string]engine.Conn{}
	for i, s := range append(all, extra) {
		n := rows
		if s == extra {
			n = extraRows
		}
		s.srv.Exec(b, "DROP DATABASE IF EXISTS "+s.db, "CREATE DATABASE "+s.db)
		c := open(s)
		conns[s.name] = c
		// Shard i holds ids i, i+n, i+2n...: the ordered merge interleaves
		// every shard.
		for _, stmt := range []string{
			"CREATE TABLE t (id BIGINT PRIMARY KEY, k INT NOT NULL, v INT NOT NULL, s VARCHAR(24) NOT NULL, KEY (k)) COLLATE utf8mb4_bin",
			fmt.Sprintf("INSERT INTO t SELECT seq * %d + %d, (seq * 7919 + %d) %% %d, seq %% 1000, CONCAT('row-', seq) FROM seq_0_to_%d",
				shards+1, i, i, keys, n-1),
		} {
			if _, err := c.Exec(ctx, stmt); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
		}
	}
	b.Logf("generated %d shards x %d rows on %d servers in %s", shards, rows, nServers, time.Since(began).Round(time.Second))

	const orderedSQL = "SELECT id, k, v, s FROM t ORDER BY id"
	const groupSQL = "SELECT k, COUNT(*) AS n, SUM(v) AS total, AVG(v) AS mean, MIN(s) AS first FROM t GROUP BY k ORDER BY k"

	clientRun := func(stmt string) time.Duration {
		start := time.Now()
		for _, s := range all {
			cmd := exec.Command(client, "--quick", "--batch", "--skip-column-names", "-h", s.srv.Host, "-P", strconv.Itoa(s.srv.Port),
				"-u", s.srv.User, s.db, "-e", stmt)
			cmd.Env = append(os.Environ(), "MYSQL_PWD="+s.srv.Password)
			devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			cmd.Stdout = devnull
			out := &strings.Builder{}
			cmd.Stderr = out
			if err := cmd.Run(); err != nil {
				b.Fatalf("mariadb client on %s: %v: %s", s.name, err, out)
			}
			devnull.Close()
		}
		return time.Since(start)
	}

	mergeRun := func(stmt string, list []shard, partial bool, during func(n int64)) (int64, time.Duration, []*merge.ShardError) {
		p, err := merge.Prepare(sql.MariaDB, stmt)
		if err != nil {
			b.Fatal(err)
		}
		p.Plan.Partial = partial
		start := time.Now()
		var in []merge.Shard
		for _, s := range list {
			rs, err := conns[s.name].(engine.Streamer).Stream(ctx, p.ShardSQL)
			if err != nil {
				b.Fatal(err)
			}
			in = append(in, merge.Shard{Name: s.name, Stream: rs})
		}
		m := merge.Merge(ctx, p.Plan, in)
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer devnull.Close()
		bw := bufio.NewWriterSize(devnull, 64<<10)
		w := csv.NewWriter(bw)
		if err := w.Write(m.Columns()); err != nil {
			b.Fatal(err)
		}
		rec := make([]string, len(m.Columns()))
		var n int64
		for m.Next() {
			for i, v := range m.Row() {
				rec[i] = engine.String(v)
			}
			if err := w.Write(rec); err != nil {
				b.Fatal(err)
			}
			n++
			if during != nil {
				during(n)
			}
		}
		w.Flush()
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		err = m.Err()
		if cerr := m.Close(); cerr != nil && !partial {
			b.Fatal(cerr)
		}
		if err != nil {
			b.Fatal(err)
		}
		return n, time.Since(start), merge.Failed(m)
	}

	for b.Loop() {
		total := float64(shards * rows)
		clientOrdered := clientRun(orderedSQL)

		// Peak memory of the ordered merge: the heap sampled every 20 ms,
		// and the peak RSS (VmHWM, reset first).
		runtime.GC()
		resetPeakRSS()
		var peakHeap atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		n, took, _ := mergeRun(orderedSQL, all, false, nil)
		close(stop)
		<-done
		if n != int64(shards*rows) {
			b.Fatalf("ordered merge: %d rows, want %d", n, shards*rows)
		}
		rss := peakRSS()
		b.ReportMetric(total/took.Seconds(), "ordered_rows/s")
		b.ReportMetric(total/clientOrdered.Seconds(), "client_rows/s")
		b.ReportMetric(took.Seconds()/clientOrdered.Seconds(), "ordered/client_time")
		b.ReportMetric(float64(peakHeap.Load())/(1<<20), "ordered_peak_heap_MB")
		b.ReportMetric(float64(rss)/(1<<20), "ordered_peak_rss_MB")
		b.Logf("ordered: %d rows in %s (%.0f rows/s); client one shard after another: %s (%.0f rows/s); peak heap %.1f MB, peak RSS %.1f MB",
			n, took.Round(time.Millisecond), total/took.Seconds(), clientOrdered.Round(time.Millisecond), total/clientOrdered.Seconds(),
			float64(peakHeap.Load())/(1<<20), float64(rss)/(1<<20))

		clientGroup := clientRun(groupSQL)
		gn, gtook, _ := mergeRun(groupSQL, all, false, nil)
		if gn != int64(min(keys, shards*rows)) {
			b.Fatalf("group merge: %d groups, want %d", gn, keys)
		}
		b.ReportMetric(total/gtook.Seconds(), "group_input_rows/s")
		b.ReportMetric(gtook.Seconds()/clientGroup.Seconds(), "group/client_time")
		b.Logf("group: %d groups from %d rows in %s (client shard after shard %s)", gn, shards*rows, gtook.Round(time.Millisecond), clientGroup.Round(time.Millisecond))

		// Partial: one more shard, on a server of its own, killed when half
		// the rows are through.
		half := int64(shards * rows / 2)
		pn, ptook, failed := mergeRun(orderedSQL, append(all, extra), true, func(n int64) {
			if n == half {
				victim.Kill(b)
			}
		})
		names := make([]string, len(failed))
		for i, f := range failed {
			names[i] = f.Shard
		}
		if len(failed) != 1 || failed[0].Shard != extra.name {
			b.Fatalf("partial: failed shards %v, want %s", failed, extra.name)
		}
		b.ReportMetric(float64(pn), "partial_rows")
		b.Logf("partial, %s killed mid-stream: %d of %d rows in %s; failed: %s (%v)", extra.name, pn, shards*rows+extraRows, ptook.Round(time.Millisecond), strings.Join(names, ","), failed[0].Err)

		// The same shard, down before the merge: it cannot be opened, the
		// others merge and the result names it.
		p, err := merge.Prepare(sql.MariaDB, orderedSQL)
		if err != nil {
			b.Fatal(err)
		}
		p.Plan.Partial = true
		var in []merge.Shard
		for _, s := range append(all, extra) {
			st, err := conns[s.name].(engine.Streamer).Stream(ctx, p.ShardSQL)
			if err != nil {
				in = append(in, merge.Broken(s.name, nil, err))
				continue
			}
			in = append(in, merge.Shard{Name: s.name, Stream: st})
		}
		m := merge.Merge(ctx, p.Plan, in)
		var dn int64
		for m.Next() {
			dn++
		}
		if m.Err() != nil {
			b.Fatal(m.Err())
		}
		m.Close()
		failed = merge.Failed(m)
		if len(failed) != 1 || failed[0].Shard != extra.name || dn != int64(shards*rows) {
			b.Fatalf("down shard: %d rows, failed %v", dn, failed)
		}
		b.Logf("partial, %s down before the merge: %d rows; failed: %s (%v)", extra.name, dn, failed[0].Shard, failed[0].Err)
	}
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// resetPeakRSS resets the process's VmHWM (Linux: clear_refs 5).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's VmHWM in bytes (0 when unknown).
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
