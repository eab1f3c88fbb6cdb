package executor

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"github.com/dbfleet/dbfleet/migrations"
)

// The package's tests share one MariaDB cluster (a primary and a replica)
// and one PostgreSQL, started by the first test that needs them; each test
// works in databases of its own.
type servers struct {
	cluster *testenv.MariaDBCluster
	pg      *testenv.Postgres
}

var shared = struct {
	servers *testenv.Shared[*servers]
	n       atomic.Int64
}{servers: testenv.Share(func(tb testing.TB) *servers {
	return &servers{cluster: testenv.StartMariaDBCluster(tb, 2), pg: testenv.StartPostgres(tb)}
})}

// srv returns the shared servers; it skips t under -short.
func srv(t testing.TB) *servers { return shared.servers.Get(t) }

var discard = slog.New(slog.DiscardHandler)

// tester is the principal the tests read executions as (sql.execute).
var tester = auth.Principal{User: "tester", Role: auth.DBA}

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// tenv is one test's world: a metadata store, an inventory naming the
// shared servers (m1 primary and m2 replica of cluster "maria", pg1), a
// fresh database on each, and direct connections to them.
type tenv struct {
	t     testing.TB
	ctx   context.Context
	store *sqldb.DB
	inv   *inventory.Service
	db    string  // the test's database name, on MariaDB and PostgreSQL
	my    *sql.DB // primary, in db
	myRep *sql.DB // replica, in db
	pg    *sql.DB // PostgreSQL, in db
}

func newEnv(t testing.TB) *tenv {
	t.Helper()
	return newEnvOn(t, sqldbtest.SQLite(t))
}

// pgStore is a migrated metadata store in a fresh database of the shared
// PostgreSQL.
func pgStore(t testing.TB) *sqldb.DB {
	t.Helper()
	name := fmt.Sprintf("store%d_%d", os.Getpid(), shared.n.Add(1))
	srv(t).pg.CreateDatabase(t, name)
	db, err := sqldb.Open(context.Background(), srv(t).pg.URL(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations.FS, discard); err != nil {
		t.Fatal(err)
	}
	return db
}

func newEnvOn(t testing.TB, store *sqldb.DB) *tenv {
	t.Helper()
	e := &tenv{t: t, ctx: audit.WithActor(context.Background(), audit.Actor{User: "tester"})}
	e.store = store
	key := make([]byte, secret.KeySize)
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	e.inv = inventory.NewService(e.store, box, engine.NewRegistry(mysql.New(), postgres.New()), slog.New(slog.DiscardHandler))
	c, p := srv(t).cluster, srv(t).pg
	if _, err := e.inv.AddHost(e.ctx, inventory.Host{Name: "h1", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inv.AddCluster(e.ctx, inventory.Cluster{Name: "maria", Engine: engine.MariaDB}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []inventory.NewInstance{
		{Name: "m1", Engine: engine.MariaDB, Host: "h1", Port: c.Primary().Port, User: c.Primary().User, Password: c.Primary().Password,
			Cluster: "maria", Role: inventory.RolePrimary},
		{Name: "m2", Engine: engine.MariaDB, Host: "h1", Port: c.Replicas()[0].Port, User: c.Primary().User, Password: c.Primary().Password,
			Cluster: "maria", Role: inventory.RoleReplica},
		{Name: "pg1", Engine: engine.Postgres, Host: "h1", Port: p.Port, User: p.User, Password: p.Password},
	} {
		if _, err := e.inv.AddInstance(e.ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	e.db = fmt.Sprintf("x%d_%d", os.Getpid(), shared.n.Add(1))
	root := c.Primary().DB(t, "")
	if _, err := root.Exec("CREATE DATABASE " + e.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + e.db) })
	e.my = c.Primary().DB(t, e.db)
	p.CreateDatabase(t, e.db)
	e.pg, err = sql.Open("pgx", p.URL(e.db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.pg.Close() })
	return e
}

// replica waits until the replica has the test's database and opens it.
func (e *tenv) replica() *sql.DB {
	e.t.Helper()
	srv(e.t).cluster.WaitSync(e.t)
	if e.myRep == nil {
		e.myRep = srv(e.t).cluster.Replicas()[0].DB(e.t, e.db)
	}
	return e.myRep
}

// service starts a Service over the test's store with Run in the
// background; stop ends Run and waits for it.
func (e *tenv) service(cfg Config) (svc *Service, stop func()) {
	e.t.Helper()
	if cfg.ThrottleInterval == 0 {
		cfg.ThrottleInterval = 50 * time.Millisecond
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	svc = NewService(e.store, e.inv, cfg, discard)
	ctx, cancel := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := svc.Run(ctx); err != nil {
			e.t.Errorf("run: %v", err)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	e.t.Cleanup(stop)
	return svc, stop
}

// run starts a script and waits for its end.
func (e *tenv) run(svc *Service, instance, script string, o Options) Execution {
	e.t.Helper()
	id, err := svc.Start(e.ctx, Request{Instance: instance, Database: e.db, SQL: script, Options: o, RequestedBy: "tester"})
	if err != nil {
		e.t.Fatalf("start: %v", err)
	}
	return e.wait(svc, id)
}

func (e *tenv) wait(svc *Service, id ID) Execution {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	ex, err := svc.Wait(ctx, id)
	if err != nil {
		e.t.Fatalf("wait for execution %d: %v", id, err)
	}
	return ex
}

// done fails the test unless the execution succeeded.
func (e *tenv) done(ex Execution) {
	e.t.Helper()
	if ex.State != StateDone {
		var b strings.Builder
		for _, s := range ex.Statements {
			fmt.Fprintf(&b, "\n  %d %s %s: %s %s", s.Seq, s.State, oneLine(s.SQL, 60), s.Error, s.Note)
		}
		e.t.Fatalf("execution %d: %s: %s%s", ex.ID, ex.State, ex.Error, b.String())
	}
}

func (e *tenv) exec(db *sql.DB, stmts ...string) {
	e.t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(e.ctx, s); err != nil {
			e.t.Fatalf("%s: %v", oneLine(s, 80), err)
		}
	}
}

func (e *tenv) scalar(db *sql.DB, q string, args ...any) string {
	e.t.Helper()
	var v sql.NullString
	if err := db.QueryRowContext(e.ctx, q, args...).Scan(&v); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

// myState is what must be equal after a change and its rollback: each
// table's CHECKSUM TABLE and its definition (without AUTO_INCREMENT=).
func (e *tenv) myState(tables ...string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, t := range tables {
		var name, sum sql.NullString
		if err := e.my.QueryRowContext(e.ctx, "CHECKSUM TABLE "+t).Scan(&name, &sum); err != nil {
			e.t.Fatal(err)
		}
		out[t+" checksum"] = sum.String
		var def string
		if err := e.my.QueryRowContext(e.ctx, "SHOW CREATE TABLE "+t).Scan(&name, &def); err != nil {
			out[t+" definition"] = "missing"
			continue
		}
		var kept []string
		for _, part := range strings.Fields(def) {
			if !strings.HasPrefix(part, "AUTO_INCREMENT=") {
				kept = append(kept, part)
			}
		}
		out[t+" definition"] = strings.Join(kept, " ")
	}
	rows, err := e.my.QueryContext(e.ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	out["tables"] = strings.Join(names, ",")
	return out
}

// pgState is the PostgreSQL equivalent: md5 of each table's rows in key
// order, and its columns, indexes and constraints.
func (e *tenv) pgState(tables map[string]string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for t, order := range tables {
		out[t+" md5"] = e.scalar(e.pg, fmt.Sprintf("SELECT md5(string_agg(x::text, '|' ORDER BY %s)) FROM %s x", order, t))
		out[t+" columns"] = e.scalar(e.pg, `SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, ''), ', ' ORDER BY ordinal_position)
			FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, t)
		out[t+" indexes"] = e.scalar(e.pg, "SELECT string_agg(indexdef, '; ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", t)
		out[t+" constraints"] = e.scalar(e.pg, "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), '; ' ORDER BY conname) FROM pg_constraint WHERE conrelid = to_regclass($1)", t)
	}
	out["tables"] = e.scalar(e.pg, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
	return out
}

func sameState(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %s differs:\nbefore %s\nafter  %s", what, k, v, after[k])
		}
	}
}

func differentState(t *testing.T, what string, before, after map[string]string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if after[k] == before[k] {
			t.Errorf("%s: %s did not change (%s): the test would prove nothing", what, k, before[k])
		}
	}
}

func stmtBySeq(t *testing.T, ex Execution, seq int) Statement {
	t.Helper()
	for _, s := range ex.Statements {
		if s.Seq == seq {
			return s
		}
	}
	t.Fatalf("execution %d has no statement %d", ex.ID, seq)
	return Statement{}
}

// dump renders a query's rows as text, one line per row.
func (e *tenv) dump(q string) string {
	e.t.Helper()
	rows, err := e.my.QueryContext(e.ctx, q)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		rows.Scan(ptrs...)
		for i, v := range vals {
			if v == nil {
				b.WriteString("NULL")
			} else {
				fmt.Fprintf(&b, "%q", v)
			}
			if i < len(vals)-1 {
				b.WriteByte('|')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
