package merge_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/reports/merge"
	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

var (
	mariadb = testenv.Share(func(tb testing.TB) *testenv.MariaDB { return testenv.StartMariaDB(tb) })
	pgsrv   = testenv.Share(func(tb testing.TB) *testenv.Postgres { return testenv.StartPostgres(tb) })
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// propertyQueries run on the shards merged and on one server holding
// every row; ordered says the query's ORDER BY fixes the order of every
// row (else rows are compared as multisets).
var propertyQueries = []struct {
	sql     string
	ordered bool
}{
	{"SELECT id, g, v FROM t ORDER BY v, id", true},
	{"SELECT id, k FROM t ORDER BY k DESC, id LIMIT 7 OFFSET 3", true},
	{"SELECT id, g FROM t ORDER BY g, id DESC LIMIT 5", true},
	{"SELECT id, v FROM t WHERE v > 50", false},
	{"SELECT id FROM t ORDER BY d DESC, id", true},
	{"SELECT g, COUNT(*) AS n, SUM(v) AS s, MIN(d) AS lo, MAX(d) AS hi, AVG(v) AS a, AVG(d) AS ad FROM t GROUP BY g", false},
	{"SELECT g, COUNT(*) AS n, SUM(v) AS s FROM t GROUP BY g ORDER BY g", true},
	{"SELECT g, SUM(d) AS s FROM t GROUP BY g ORDER BY s DESC, g LIMIT 3", true},
	{"SELECT k, COUNT(*) AS n, AVG(v) AS a FROM t GROUP BY k ORDER BY k DESC LIMIT 4 OFFSET 1", true},
	{"SELECT g, COUNT(k) AS c FROM t GROUP BY g ORDER BY c, g", true},
	{"SELECT COUNT(*) AS n, SUM(v) AS s, AVG(d) AS a, MIN(g) AS mg, MAX(k) AS mk FROM t", true},
	{"SELECT g, k, SUM(v) AS s FROM t WHERE v < 80 GROUP BY g, k ORDER BY g DESC, k", true},
}

// dialectSetup is one server kind under test: the table, and how to
// connect to a database of its shared server.
type dialectSetup struct {
	name    string
	dialect sql.Dialect
	create  string
	driver  engine.Driver
	target  func(t *testing.T) engine.Target
}

func TestMergeMatchesSingleServer(t *testing.T) {
	for _, ds := range []dialectSetup{{
		name: "mariadb", dialect: sql.MariaDB, driver: mysql.New(),
		create: "CREATE TABLE t (id INT PRIMARY KEY, g VARCHAR(8) COLLATE utf8mb4_bin NULL, k INT NULL, v INT NOT NULL, d DECIMAL(10,2) NULL)",
		target: func(t *testing.T) engine.Target {
			srv := mariadb.Get(t)
			return engine.Target{Engine: engine.MariaDB, Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password}
		},
	}, {
		name: "postgres", dialect: sql.Postgres, driver: postgres.New(),
		create: `CREATE TABLE t (id int PRIMARY KEY, g varchar(8) COLLATE "C", k int, v int NOT NULL, d numeric(10,2))`,
		target: func(t *testing.T) engine.Target {
			srv := pgsrv.Get(t)
			return engine.Target{Engine: engine.Postgres, Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password}
		},
	}} {
		t.Run(ds.name, func(t *testing.T) { runProperty(t, ds) })
	}
}

// open connects to database db ("": the server's default).
func (ds dialectSetup) open(t *testing.T, db string) engine.Conn {
	tg := ds.target(t)
	tg.Database, tg.ConnectTimeout = db, 5*time.Second
	c, err := ds.driver.Open(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func execSQL(t *testing.T, c engine.Conn, stmt string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func runProperty(t *testing.T, ds dialectSetup) {
	ctx := context.Background()
	admin := ds.open(t, "")
	const maxShards = 5
	names := []string{"whole"}
	for i := range maxShards {
		names = append(names, fmt.Sprintf("shard%d", i))
	}
	conns := map[string]engine.Conn{}
	for _, n := range names {
		execSQL(t, admin, "DROP DATABASE IF EXISTS prop_"+n)
		execSQL(t, admin, "CREATE DATABASE prop_"+n)
		conns[n] = ds.open(t, "prop_"+n)
		execSQL(t, conns[n], ds.create)
	}
	prepared := make([]*merge.Prepared, len(propertyQueries))
	for i, q := range propertyQueries {
		p, err := merge.Prepare(ds.dialect, q.sql)
		if err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
		prepared[i] = p
	}
	for iter := range 25 {
		seed := uint64(iter)*7919 + 1
		rng := rand.New(rand.NewPCG(seed, 42))
		nShards := 1 + rng.IntN(maxShards)
		nRows := rng.IntN(120)
		if iter == 0 {
			nRows = 0 // every shard empty
		}
		for _, n := range names {
			execSQL(t, conns[n], "DELETE FROM t")
		}
		inserts := map[string][]string{}
		for id := 1; id <= nRows; id++ {
			row := fmt.Sprintf("(%d, %s, %s, %d, %s)", id, pick(rng, "NULL", "'a'", "'b'", "'B'", "'dd'", "'c'"),
				pick(rng, "NULL", "0", "1", "2", "3", "5", "8"), rng.IntN(200)-50,
				pick(rng, "NULL", fmt.Sprintf("%d.%02d", rng.IntN(1000)-300, rng.IntN(100))))
			shard := fmt.Sprintf("shard%d", rng.IntN(nShards))
			inserts["whole"] = append(inserts["whole"], row)
			inserts[shard] = append(inserts[shard], row)
		}
		for n, rows := range inserts {
			execSQL(t, conns[n], "INSERT INTO t (id, g, k, v, d) VALUES "+strings.Join(rows, ", "))
		}
		for qi, q := range propertyQueries {
			want, _, err := conns["whole"].Query(ctx, 0, q.sql)
			if err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
			p := prepared[qi]
			var shards []merge.Shard
			for i := range nShards {
				name := fmt.Sprintf("shard%d", i)
				rs, err := conns[name].(engine.Streamer).Stream(ctx, p.ShardSQL)
				if err != nil {
					t.Fatalf("%s on %s: %v", p.ShardSQL, name, err)
				}
				shards = append(shards, merge.Shard{Name: name, Stream: rs})
			}
			m := merge.Merge(ctx, p.Plan, shards)
			var got [][]any
			for m.Next() {
				got = append(got, slices.Clone(m.Row()))
			}
			err = m.Err()
			if cerr := m.Close(); cerr != nil {
				t.Fatal(cerr)
			}
			if err != nil {
				t.Fatalf("seed %d, %d shards: %s: %v", seed, nShards, q.sql, err)
			}
			if !reflect.DeepEqual(m.Columns(), want.Columns) {
				t.Errorf("%s: columns %q, want %q", q.sql, m.Columns(), want.Columns)
			}
			w := want.Values
			if !q.ordered {
				w, got = sorted(w), sorted(got)
			}
			if len(w) == 0 && len(got) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("seed %d, %d shards, %d rows: %s\nshard sql: %s\n got %v\nwant %v", seed, nShards, nRows, q.sql, p.ShardSQL, got, w)
			}
		}
	}
}

func pick(rng *rand.Rand, vs ...string) string { return vs[rng.IntN(len(vs))] }

func sorted(rows [][]any) [][]any {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b []any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}
