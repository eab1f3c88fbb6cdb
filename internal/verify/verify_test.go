package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// sharedMDB is a primary and its replica, started by the first test that
// needs them (newEnv sets mdb).
var (
	sharedMDB = testenv.Share(func(tb testing.TB) *testenv.MariaDBCluster { return testenv.StartMariaDBCluster(tb, 2) })
	mdb       *testenv.MariaDBCluster
)

func TestMain(m *testing.M) {
	gomysql.SetLogger(&gomysql.NopLogger{})
	os.Exit(sqldbtest.Main(m))
}

type env struct {
	t   testing.TB
	db  *sqldb.DB
	ctx context.Context
	inv *inventory.Service
	svc *Service
}

var clusterSeq atomic.Int64

// newEnv registers the shared cluster in a fresh metadata store under a
// new name and returns the verify service.
func newEnv(t testing.TB) (*env, string) {
	t.Helper()
	return newEnvOn(t, nil)
}

// newEnvOn is newEnv on a given metadata store (nil: a fresh SQLite).
func newEnvOn(t testing.TB, db *sqldb.DB) (*env, string) {
	t.Helper()
	mdb = sharedMDB.Get(t)
	if db == nil {
		db = sqldbtest.SQLite(t)
	}
	key := make([]byte, secret.KeySize)
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	inv := inventory.NewService(db, box, engine.NewRegistry(mysql.New()), log)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "tester"})
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "local", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("c%d", clusterSeq.Add(1))
	if _, err := inv.AddCluster(ctx, inventory.Cluster{Name: name, Engine: engine.MariaDB, Env: "test"}); err != nil {
		t.Fatal(err)
	}
	for i, n := range mdb.Nodes {
		role := inventory.RoleReplica
		if i == 0 {
			role = inventory.RolePrimary
		}
		if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: fmt.Sprintf("%s-db%d", name, i+1), Engine: engine.MariaDB, Host: "local",
			Port: n.Port, User: n.User, Password: n.Password, Cluster: name, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	return &env{t: t, db: db, ctx: ctx, inv: inv, svc: NewService(db, inv, nil, Config{}, log)}, name
}

func (e *env) run(req Request) Run {
	e.t.Helper()
	run, err := e.svc.Start(e.ctx, req)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.Execute(e.ctx, run.ID); err != nil {
		e.t.Fatal(err)
	}
	got, err := e.svc.Get(e.ctx, run.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if got.State != StateDone {
		e.t.Fatalf("run %d: state %s: %s", got.ID, got.State, got.Error)
	}
	return got
}

// load writes on the primary until stop is closed: updates and inserts in
// the table under check, so that a check that compared unsynchronised
// snapshots would see differences.
func load(t *testing.T, db, table string, from, to int) (stop func() int) {
	p := mdb.Primary().DB(t, db)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var n atomic.Int64
	wg.Go(func() {
		r := rand.New(rand.NewPCG(1, 2))
		next := 1_000_000
		for {
			select {
			case <-done:
				return
			default:
			}
			id := from + r.IntN(to-from)
			if _, err := p.Exec(fmt.Sprintf("UPDATE %s SET qty = qty + 1, name = CONCAT('w', qty) WHERE id = ?", table), id); err != nil {
				t.Errorf("load: %v", err)
				return
			}
			next++
			if _, err := p.Exec(fmt.Sprintf("INSERT INTO %s (id, name, qty) VALUES (?, 'new', 1)", table), next); err != nil {
				t.Errorf("load: %v", err)
				return
			}
			n.Add(2)
		}
	})
	return func() int { close(done); wg.Wait(); return int(n.Load()) }
}

func diffSet(run Run, pass int) []string {
	var out []string
	for _, r := range run.Rows {
		if r.Pass == pass {
			out = append(out, fmt.Sprintf("%s %s %s", r.Table, r.Key, r.Kind))
		}
	}
	slices.Sort(out)
	return out
}

func TestFindRepairRecheck(t *testing.T) {
	for _, mode := range []string{RepairPrimary, RepairReplica} {
		t.Run(mode, func(t *testing.T) {
			e, name := newEnv(t)
			db := "shop_" + mode
			mdb.Primary().Exec(t,
				"CREATE DATABASE "+db, "CREATE DATABASE IF NOT EXISTS seq",
				"CREATE TABLE "+db+".items (id INT PRIMARY KEY, name VARCHAR(40) NULL, qty INT NOT NULL, note TEXT NULL)",
				"INSERT INTO "+db+".items (id, name, qty, note) SELECT seq, CONCAT('n', seq), seq % 7, IF(seq % 3 = 0, NULL, 'x') FROM seq.seq_1_to_3000",
				"UPDATE "+db+".items SET name = 'same', qty = 5, note = 'dup' WHERE id IN (40, 41)",
				"CREATE TABLE "+db+".pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, v VARCHAR(10), PRIMARY KEY (a, b))",
				"INSERT INTO "+db+".pairs SELECT seq % 50, CONCAT('k', seq), 'v' FROM seq.seq_1_to_500",
			)
			mdb.WaitSync(t)
			// Differences, written on the replica only.
			mdb.Replicas()[0].Exec(t,
				"SET SESSION sql_log_bin = 0",
				"UPDATE "+db+".items SET qty = 99 WHERE id = 10",                        // updated
				"DELETE FROM "+db+".items WHERE id = 20",                                // deleted
				"INSERT INTO "+db+".items (id, name, qty) VALUES (2500000, 'extra', 1)", // extra, beyond the primary's last key
				"UPDATE "+db+".items SET note = '' WHERE id = 30",                       // NULL on the primary, '' here
				"UPDATE "+db+".items SET name = 'other' WHERE id IN (40, 41)",           // two equal changes: BIT_XOR(CRC32) cancels them
				"UPDATE "+db+".pairs SET v = NULL WHERE a = 7 AND b = 'k7'",
			)
			stop := load(t, db, db+".items", 1000, 2000)
			run := e.run(Request{Cluster: name, Options: Options{Database: db, ChunkSize: 250, Repair: mode}})
			writes := stop()
			t.Logf("%d writes on the primary during the check; %d chunks, %d rows checked", writes, run.Progress.Chunks, run.Progress.RowsChecked)
			if writes == 0 {
				t.Fatal("the write load wrote nothing during the check")
			}
			want := []string{
				"items (10) different", "items (20) missing", "items (2500000) extra", "items (30) different",
				"items (40) different", "items (41) different", "pairs (7, k7) different",
			}
			for i := range want {
				want[i] = strings.NewReplacer("(10)", "10", "(20)", "20", "(2500000)", "2500000", "(30)", "30", "(40)", "40", "(41)", "41").Replace(want[i])
			}
			slices.Sort(want)
			if got := diffSet(run, 1); !slices.Equal(got, want) {
				t.Fatalf("differences found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if run.Progress.Repaired != len(want) {
				t.Errorf("repaired %d of %d rows: %+v", run.Progress.Repaired, len(want), run.Rows)
			}
			if !run.Progress.Rechecked || run.Progress.RecheckDiffs != 0 {
				t.Errorf("re-check: rechecked=%t, %d differences: %v", run.Progress.Rechecked, run.Progress.RecheckDiffs, diffSet(run, 2))
			}
			for _, c := range run.Chunks {
				if c.Pass == 1 && c.GTID == "" {
					t.Errorf("chunk %d of %s has no GTID", c.Index, c.Table)
				}
			}
			// A fresh run, without load, finds the replica equal.
			again := e.run(Request{Cluster: name, Options: Options{Database: db, ChunkSize: 250}})
			if len(again.Rows) != 0 || again.Progress.DiffChunks != 0 {
				t.Fatalf("after repair: %d chunks and rows %v differ", again.Progress.DiffChunks, diffSet(again, 1))
			}
			if again.Progress.RowsChecked < 3000 {
				t.Errorf("rows checked %d, want every row", again.Progress.RowsChecked)
			}
		})
	}
}

func TestResume(t *testing.T) {
	e, name := newEnv(t)
	mdb.Primary().Exec(t,
		"CREATE DATABASE resume", "CREATE DATABASE IF NOT EXISTS seq",
		"CREATE TABLE resume.t (id BIGINT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO resume.t SELECT seq, CONCAT('v', seq) FROM seq.seq_1_to_2000",
	)
	mdb.WaitSync(t)
	mdb.Replicas()[0].Exec(t, "SET SESSION sql_log_bin = 0", "UPDATE resume.t SET v = 'changed' WHERE id = 1900")
	run, err := e.svc.Start(e.ctx, Request{Cluster: name, Options: Options{Database: "resume", ChunkSize: 100, MaxLag: "400ms"}})
	if err != nil {
		t.Fatal(err)
	}
	// Interrupt the run once it recorded a few chunks.
	ctx, cancel := context.WithCancel(e.ctx)
	go func() {
		for ctx.Err() == nil {
			r, err := e.svc.Get(e.ctx, run.ID)
			if err == nil && r.Progress.Chunks >= 3 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	err = e.svc.Execute(ctx, run.ID)
	cancel()
	if err == nil {
		t.Fatal("the interrupted run finished: interrupt it earlier (more chunks or a shorter window)")
	}
	mid, _ := e.svc.Get(e.ctx, run.ID)
	if mid.Progress.Chunks >= 20 || mid.Progress.Chunks < 3 || mid.State != StateRunning {
		t.Fatalf("after the interruption: %d chunks, state %s", mid.Progress.Chunks, mid.State)
	}
	st := mdb.Replicas()[0].ReplicaStatus(t)
	for i := 0; i < 100 && st["Slave_IO_Running"] == "Preparing"; i++ { // reconnecting
		time.Sleep(50 * time.Millisecond)
		st = mdb.Replicas()[0].ReplicaStatus(t)
	}
	if st["Slave_SQL_Running"] != "Yes" || st["Slave_IO_Running"] != "Yes" {
		t.Fatalf("replication left stopped by the interrupted run: io=%s sql=%s", st["Slave_IO_Running"], st["Slave_SQL_Running"])
	}
	if err := e.svc.Execute(e.ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	done, _ := e.svc.Get(e.ctx, run.ID)
	// 2000 rows, keys 1..2000, chunked by value in steps of 100: 20 chunks,
	// the last one open-ended.
	if done.State != StateDone || done.Progress.Chunks != 20 || done.Progress.RowsChecked != 2000 {
		t.Fatalf("resumed run: state %s, %d chunks, %d rows (want 20 chunks, 2000 rows): %s", done.State, done.Progress.Chunks, done.Progress.RowsChecked, done.Error)
	}
	if got := diffSet(done, 1); !slices.Equal(got, []string{"t 1900 different"}) {
		t.Fatalf("differences %v", got)
	}
}

func TestBadInput(t *testing.T) {
	e, name := newEnv(t)
	mdb.Primary().Exec(t,
		"CREATE DATABASE bad",
		"CREATE TABLE bad.heap (v INT)",
		"CREATE TABLE bad.uk (code VARCHAR(10) NOT NULL, v INT, UNIQUE KEY code (code))",
		"INSERT INTO bad.heap VALUES (1), (1)",
		"INSERT INTO bad.uk VALUES ('a', 1), ('b', 2)",
	)
	mdb.WaitSync(t)
	tests := []struct {
		name string
		req  Request
		kind errkind.Kind
		want string
	}{
		{"unknown cluster", Request{Cluster: "nope"}, errkind.NotFound, `cluster "nope" not found`},
		{"unknown table", Request{Cluster: name, Options: Options{Database: "bad", Table: "missing"}}, errkind.NotFound, "table bad.missing not found"},
		{"unknown database", Request{Cluster: name, Options: Options{Database: "nodb"}}, errkind.NotFound, `no tables in database "nodb"`},
		{"no primary key", Request{Cluster: name, Options: Options{Database: "bad", Table: "heap"}}, errkind.Invalid, "bad.heap has no primary key"},
		{"bad repair mode", Request{Cluster: name, Options: Options{Repair: "maybe"}}, errkind.Invalid, `repair "maybe"`},
		{"table without database", Request{Cluster: name, Options: Options{Table: "t"}}, errkind.Invalid, "needs a database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Start(e.ctx, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errkind.Of(err) != tc.kind {
				t.Fatalf("err = %v (%v), want %v containing %q", err, errkind.Of(err), tc.kind, tc.want)
			}
		})
	}
	t.Run("unique key instead of a primary key; a table without either skipped", func(t *testing.T) {
		mdb.Replicas()[0].Exec(t, "SET SESSION sql_log_bin = 0", "UPDATE bad.uk SET v = 3 WHERE code = 'b'")
		run := e.run(Request{Cluster: name, Options: Options{Database: "bad"}})
		if got := diffSet(run, 1); !slices.Equal(got, []string{"uk b different"}) {
			t.Fatalf("differences %v", got)
		}
		var skipped string
		for _, ts := range run.Tables {
			if ts.Table == "heap" {
				skipped = ts.State + ": " + ts.Error
			}
		}
		if !strings.HasPrefix(skipped, "skipped: no primary key") {
			t.Fatalf("heap: %q", skipped)
		}
	})
	t.Run("dead replica", func(t *testing.T) {
		run, err := e.svc.Start(e.ctx, Request{Cluster: name, Options: Options{Database: "bad", Table: "uk"}})
		if err != nil {
			t.Fatal(err)
		}
		r := mdb.Replicas()[0]
		r.Stop(t)
		defer func() { r.Start(t); mdb.WaitSync(t) }()
		if err := e.svc.Execute(e.ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := e.svc.Get(e.ctx, run.ID)
		if got.State != StateFailed || !strings.Contains(got.Error, name+"-db2") {
			t.Fatalf("state %s, error %q: want failed naming the replica", got.State, got.Error)
		}
		t.Logf("dead replica: %s", got.Error)
	})
}

// TestChecksumText checks the server's checksum against the same sum
// computed here from the documented row text, which proves that the
// session variable carries each row's own text to CRC32C, and that NULL,
// ” and values holding '#' write different texts.
func TestChecksumText(t *testing.T) {
	_, _ = newEnv(t)
	mdb.Primary().Exec(t,
		"CREATE DATABASE sumtext",
		"CREATE TABLE sumtext.t (id INT PRIMARY KEY, s VARCHAR(20) NULL, u VARCHAR(20) NULL)",
		"INSERT INTO sumtext.t VALUES (1, NULL, ''), (2, '', NULL), (3, 'a#', 'b'), (4, 'a', '#b'), (5, NULL, NULL)",
	)
	type row struct {
		id   int
		s, u *string
	}
	str := func(s string) *string { return &s }
	rows := []row{{1, nil, str("")}, {2, str(""), nil}, {3, str("a#"), str("b")}, {4, str("a"), str("#b")}, {5, nil, nil}}
	var sum big.Int
	texts := map[string]bool{}
	for _, r := range rows {
		vals := []string{strconv.Itoa(r.id)}
		flags := "0"
		lens := []string{strconv.Itoa(len(strconv.Itoa(r.id)))}
		for _, v := range []*string{r.s, r.u} {
			if v == nil {
				flags += "1"
				continue
			}
			flags += "0"
			vals = append(vals, *v)
			lens = append(lens, strconv.Itoa(len(*v)))
		}
		text := strings.Join(append(vals, flags, strings.Join(lens, ",")), "#")
		if texts[text] {
			t.Fatalf("two rows write %q", text)
		}
		texts[text] = true
		h := uint64(crc32.ChecksumIEEE([]byte(text)))<<32 | uint64(crc32.Checksum([]byte(text), crc32.MakeTable(crc32.Castagnoli)))
		sum.Add(&sum, new(big.Int).SetUint64(h))
	}
	p, err := NewPlan(Table{Schema: "sumtext", Name: "t", Columns: []string{"id", "s", "u"}, Key: []string{"id"}, KeyName: "PRIMARY"})
	if err != nil {
		t.Fatal(err)
	}
	q, args, err := p.Checksum(Chunk{})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var got string
	if err := mdb.Primary().DB(t, "sumtext").QueryRow(q, args...).Scan(&n, &got); err != nil {
		t.Fatal(err)
	}
	if n != len(rows) || got != sum.String() {
		t.Fatalf("server: %d rows, sum %s; computed here: %d rows, sum %s", n, got, len(rows), sum.String())
	}
}

// TestQuietPrimary: with no writes on the primary, a replica stopped at
// the snapshot's GTID must not be started with UNTIL (its applier would
// never stop), and after the run replication runs without an UNTIL
// condition.
func TestQuietPrimary(t *testing.T) {
	e, name := newEnv(t)
	mdb.Primary().Exec(t,
		"CREATE DATABASE quiet", "CREATE DATABASE IF NOT EXISTS seq",
		"CREATE TABLE quiet.t (id INT PRIMARY KEY, v VARCHAR(10))",
		"INSERT INTO quiet.t SELECT seq, 'v' FROM seq.seq_1_to_500",
	)
	mdb.WaitSync(t)
	mdb.Replicas()[0].Exec(t, "SET SESSION sql_log_bin = 0", "UPDATE quiet.t SET v = NULL WHERE id = 7")
	for _, mode := range []string{RepairPrimary, RepairReplica} {
		run := e.run(Request{Cluster: name, Options: Options{Database: "quiet", Repair: mode, MaxLag: "1s"}})
		if run.Progress.Repaired != run.Progress.DiffRows || !(run.Progress.DiffRows == 0 || run.Progress.Rechecked) || run.Progress.RecheckDiffs != 0 {
			t.Fatalf("%s: %+v", mode, run.Progress)
		}
		mdb.Replicas()[0].Exec(t, "SET SESSION sql_log_bin = 0", "UPDATE quiet.t SET v = 'x' WHERE id = 9")
	}
	st := mdb.Replicas()[0].ReplicaStatus(t)
	if st["Until_Condition"] != "None" || st["Slave_SQL_Running"] != "Yes" {
		t.Fatalf("after the runs: until=%s sql=%s", st["Until_Condition"], st["Slave_SQL_Running"])
	}
	mdb.Replicas()[0].Exec(t, "SET SESSION sql_log_bin = 0", "UPDATE quiet.t SET v = 'v' WHERE id = 9")
}

// TestSchedule: a configured schedule fires a job; its handler records the
// run and queues it as a job of its own, which runs it.
func TestSchedule(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) { testSchedule(t, db) })
}

func testSchedule(t *testing.T, db *sqldb.DB) {
	e, name := newEnvOn(t, db)
	schema := "sched_" + string(db.Dialect())
	mdb.Primary().Exec(t, "CREATE DATABASE "+schema, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, v INT)", "INSERT INTO "+schema+".t VALUES (1, 1), (2, 2)")
	mdb.WaitSync(t)
	mdb.Replicas()[0].Exec(t, "SET SESSION sql_log_bin = 0", "UPDATE "+schema+".t SET v = 3 WHERE id = 2")
	queue := jobs.NewQueue(e.db, slog.New(slog.DiscardHandler))
	svc := NewService(e.db, e.inv, queue, Config{Schedules: []ScheduleConfig{{Cluster: name, Cron: "@daily", Database: schema, Repair: RepairReplica}}}, slog.New(slog.DiscardHandler))
	scheds := svc.Schedules()
	if len(scheds) != 1 || scheds[0].Name != "verify:"+name || scheds[0].Job.Kind != JobKind {
		t.Fatalf("schedules %+v", scheds)
	}
	payload, _ := json.Marshal(scheds[0].Job.Payload)
	fired, _ := json.Marshal(jobs.Fired{Schedule: scheds[0].Name, At: time.Now(), Payload: payload})
	if err := svc.handle(e.ctx, &jobs.Job{ID: 1, Kind: JobKind, Payload: fired}); err != nil {
		t.Fatal(err)
	}
	runs, err := svc.List(e.ctx, Filter{Cluster: name})
	if err != nil || len(runs) != 1 || runs[0].Schedule != "verify:"+name || runs[0].State != StateQueued {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	job, err := queue.Claim(e.ctx, []string{JobKind})
	if err != nil || job == nil {
		t.Fatalf("no run job queued: %v", err)
	}
	if err := svc.handle(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	run, err := svc.Get(e.ctx, runs[0].ID)
	if err != nil || run.State != StateDone || run.Progress.RowsChecked != 2 || run.Progress.DiffRows != 1 ||
		run.Progress.Repaired != 1 || !run.Progress.Rechecked || run.Progress.RecheckDiffs != 0 || run.Progress.DiffChunks != 1 {
		t.Fatalf("scheduled run: %+v, %v", run, err)
	}
	if got := diffSet(run, 1); !slices.Equal(got, []string{"t 2 different"}) {
		t.Fatalf("differences %v", got)
	}
}
