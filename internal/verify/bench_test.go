package verify

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkVerifyVsPtTableChecksum checks one generated table (DBFLEET_BENCH_ROWS
// rows, default 1,000,000, about 150 bytes each) on the testenv primary and
// replica with dbfleet verify and then with pt-table-checksum
// --no-check-binlog-format, on the same data in the same run, while the
// primary keeps writing (updates of random rows of the first half and
// inserts, ~100 transactions/s) and a heartbeat measures the replica's lag every 50 ms.
// Eight rows of the replica are made to differ beforehand (binlog off):
// an update, a delete, an extra row, NULL against ”, two rows changed
// alike (equal non-key values: BIT_XOR(CRC32) cancels them) and a value
// swapped between two rows (cancels too).
//
//	bench/verify/run.sh
func BenchmarkVerifyVsPtTableChecksum(b *testing.B) {
	rows := benchEnv("DBFLEET_BENCH_ROWS", 1_000_000)
	chunk := benchEnv("DBFLEET_BENCH_CHUNK", 5000)
	pt, err := exec.LookPath("pt-table-checksum")
	if err != nil {
		b.Fatal("pt-table-checksum not found: apt-get install percona-toolkit")
	}
	b.StopTimer()
	e, name := newEnv(b)
	prim, rep := mdb.Primary(), mdb.Replicas()[0]
	prim.Exec(b,
		"DROP DATABASE IF EXISTS bench", "DROP DATABASE IF EXISTS percona",
		"CREATE DATABASE bench", "CREATE DATABASE IF NOT EXISTS seq",
		"CREATE TABLE bench.big (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(40) NULL, c DATETIME NOT NULL, pad VARCHAR(100) NULL)",
		"CREATE TABLE bench.hb (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)",
		"INSERT INTO bench.hb VALUES (1, UTC_TIMESTAMP(6))",
	)
	began := time.Now()
	for lo := 1; lo <= rows; lo += 100_000 {
		hi := min(rows, lo+99_999)
		prim.Exec(b, fmt.Sprintf(`INSERT INTO bench.big SELECT seq, seq %% 1000, IF(seq %% 10 = 0, NULL, CONCAT('b', seq %% 5000)),
			'2026-01-01' + INTERVAL seq SECOND, REPEAT('x', 60 + seq %% 40) FROM seq.seq_%d_to_%d`, lo, hi))
	}
	// The cases BIT_XOR(CRC32) cancels are in a table of their own, twin,
	// so that no other difference makes pt-table-checksum's chunk differ:
	// CRC32 is affine over XOR for texts of one length, so two rows of
	// equal length changed alike, or a value swapped between them, leave
	// the XOR of their CRC32s as it was.
	prim.Exec(b,
		"CREATE TABLE bench.twin LIKE bench.big",
		"INSERT INTO bench.twin SELECT * FROM bench.big WHERE id <= 20000",
		"UPDATE bench.twin SET a = 5, b = 'same', pad = 'p' WHERE id IN (6000, 6001)",
		"UPDATE bench.twin SET a = 7, b = 'same', pad = 'p' WHERE id = 9000", "UPDATE bench.twin SET a = 8, b = 'same', pad = 'p' WHERE id = 9001",
		"ANALYZE TABLE bench.big", "ANALYZE TABLE bench.twin")
	mdb.WaitSync(b)
	b.Logf("generated %d rows in %s", rows, time.Since(began).Round(time.Second))
	extra := rows + 500
	rep.Exec(b,
		"SET SESSION sql_log_bin = 0",
		"UPDATE bench.big SET a = a + 1 WHERE id = 1000",
		"DELETE FROM bench.big WHERE id = 2000",
		fmt.Sprintf("INSERT INTO bench.big VALUES (%d, 1, 'extra', '2026-01-01', NULL)", extra),
		"UPDATE bench.big SET b = '' WHERE id = 30",
		"UPDATE bench.twin SET b = 'diff' WHERE id IN (6000, 6001)",
		"UPDATE bench.twin SET a = 8 WHERE id = 9000", "UPDATE bench.twin SET a = 7 WHERE id = 9001",
	)
	injected := []string{"big 1000 different", "big 2000 missing", "big " + strconv.Itoa(extra) + " extra", "big 30 different",
		"twin 6000 different", "twin 6001 different", "twin 9000 different", "twin 9001 different"}
	slices.Sort(injected)

	pdb, rdb := prim.DB(b, "bench"), rep.DB(b, "bench")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var maxLag atomic.Int64
	var writes atomic.Int64
	wg.Go(func() { // heartbeat
		for ctx.Err() == nil {
			pdb.ExecContext(ctx, "UPDATE hb SET ts = UTC_TIMESTAMP(6) WHERE id = 1")
			time.Sleep(50 * time.Millisecond)
		}
	})
	wg.Go(func() { // lag as pt-heartbeat measures it
		for ctx.Err() == nil {
			var pts, rts time.Time
			err1 := pdb.QueryRowContext(ctx, "SELECT ts FROM hb WHERE id = 1").Scan(&pts)
			err2 := rdb.QueryRowContext(ctx, "SELECT ts FROM hb WHERE id = 1").Scan(&rts)
			if err1 == nil && err2 == nil {
				if lag := pts.Sub(rts); lag > time.Duration(maxLag.Load()) {
					maxLag.Store(int64(lag))
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	wg.Go(func() { // write load, away from the injected rows
		r := rand.New(rand.NewPCG(3, 4))
		next := 10_000_000
		for ctx.Err() == nil {
			id := 5000 + r.IntN(rows/2-5000)
			if _, err := pdb.ExecContext(ctx, "UPDATE big SET a = a + 1, b = CONCAT('w', a) WHERE id = ?", id); err != nil && ctx.Err() == nil {
				b.Errorf("write load: %v", err)
				return
			}
			next++
			if _, err := pdb.ExecContext(ctx, "INSERT INTO big VALUES (?, 1, 'load', '2026-01-01', NULL)", next); err != nil && ctx.Err() == nil {
				b.Errorf("write load: %v", err)
				return
			}
			writes.Add(2)
			time.Sleep(10 * time.Millisecond)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(time.Second)

	// dbfleet verify.
	maxLag.Store(0)
	w0 := writes.Load()
	b.StartTimer()
	t0 := time.Now()
	run := e.run(Request{Cluster: name, Options: Options{Database: "bench", ChunkSize: chunk, MaxLag: "2s"}})
	ours := time.Since(t0)
	b.StopTimer()
	oursLag, oursWrites := time.Duration(maxLag.Load()), writes.Load()-w0
	var found []string
	for _, r := range run.Rows {
		found = append(found, r.Table+" "+r.Key.String()+" "+r.Kind)
	}
	slices.Sort(found)
	hits, falseAlarms := 0, 0
	for _, f := range found {
		if slices.Contains(injected, f) {
			hits++
		} else {
			falseAlarms++
		}
	}
	if falseAlarms > 0 || hits != len(injected) {
		b.Errorf("dbfleet verify found %v, injected %v", found, injected)
	}

	// pt-table-checksum on the same data, same load.
	mdb.WaitSync(b)
	maxLag.Store(0)
	w0 = writes.Load()
	t0 = time.Now()
	cmd := exec.Command(pt, "--no-check-binlog-format", "--recursion-method=hosts", "--max-lag=2", "--databases=bench", "--tables=big,twin",
		"--no-version-check", fmt.Sprintf("h=127.0.0.1,P=%d,u=%s", prim.Port, prim.User))
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+prim.Password)
	out, err := cmd.CombinedOutput()
	ptTook := time.Since(t0)
	ptLag, ptWrites := time.Duration(maxLag.Load()), writes.Load()-w0
	// Exit status 16 means differences found; anything else but 0 failed.
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode()&^16 != 0) {
		b.Fatalf("pt-table-checksum: %v\n%s", err, out)
	}
	mdb.WaitSync(b)
	ptFound := ptCovered(b, rdb, injected)

	b.ReportMetric(float64(rows)/ours.Seconds(), "verify_rows/s")
	b.ReportMetric(float64(rows)/ptTook.Seconds(), "pt_rows/s")
	b.ReportMetric(ptTook.Seconds()/ours.Seconds(), "speedup")
	b.ReportMetric(float64(hits), "verify_found")
	b.ReportMetric(float64(falseAlarms), "verify_false_alarms")
	b.ReportMetric(float64(ptFound), "pt_found")
	b.ReportMetric(float64(len(injected)), "injected")
	b.ReportMetric(oursLag.Seconds(), "verify_max_lag_s")
	b.ReportMetric(ptLag.Seconds(), "pt_max_lag_s")
	b.Logf("dbfleet verify: %d rows in %s (%d chunks), %d of %d differences found by key, %d false alarms, max lag %s, %d writes meanwhile",
		rows, ours.Round(time.Millisecond), run.Progress.Chunks, hits, len(injected), falseAlarms, oursLag.Round(time.Millisecond), oursWrites)
	b.Logf("pt-table-checksum: %s, differing chunks cover %d of %d differing rows, max lag %s, %d writes meanwhile\n%s",
		ptTook.Round(time.Millisecond), ptFound, len(injected), ptLag.Round(time.Millisecond), ptWrites, lastLines(string(out), 4))
}

// ptCovered counts the injected rows that lie in a chunk pt-table-checksum
// found differing on the replica.
func ptCovered(b *testing.B, rdb *sql.DB, injected []string) int {
	rs, err := rdb.Query(`SELECT tbl, COALESCE(lower_boundary, ''), COALESCE(upper_boundary, ''), chunk FROM percona.checksums
		WHERE db = 'bench' AND (this_crc <> master_crc OR this_cnt <> master_cnt)`)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	type span struct {
		tbl    string
		lo, hi int64
	}
	var spans []span
	for rs.Next() {
		var tbl, lo, hi, idx string
		if err := rs.Scan(&tbl, &lo, &hi, &idx); err != nil {
			b.Fatal(err)
		}
		s := span{tbl: tbl, lo: -1 << 62, hi: 1 << 62}
		if n, err := strconv.ParseInt(lo, 10, 64); err == nil {
			s.lo = n
		}
		if n, err := strconv.ParseInt(hi, 10, 64); err == nil {
			s.hi = n
		}
		// pt's out-of-bounds chunks have one open side: "id < lower" of
		// the first, "id > upper" of the last.
		if lo == "" && hi != "" {
			s.lo = -1 << 62
		}
		if hi == "" && lo != "" {
			s.hi = 1 << 62
		}
		spans = append(spans, s)
		b.Logf("pt-table-checksum: %s chunk %s [%s, %s] differs", tbl, idx, lo, hi)
	}
	n := 0
	for _, inj := range injected {
		f := strings.Fields(inj)
		id, _ := strconv.ParseInt(f[1], 10, 64)
		for _, s := range spans {
			if s.tbl == f[0] && id >= s.lo && id <= s.hi {
				n++
				break
			}
		}
	}
	return n
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
