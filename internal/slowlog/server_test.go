package slowlog_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/engine/redis"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/slowlog"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"github.com/dbfleet/dbfleet/migrations"
)

// fixture is a metadata store with an inventory, users, the query console
// and the slow-query service wired to it.
type fixture struct {
	db    *sqldb.DB
	inv   *inventory.Service
	auth  *auth.Service
	query *query.Service
	svc   *slowlog.Service
	ctx   context.Context
	// dba sees every example; dev is a developer without grants.
	dba, dev auth.Principal
}

func openStore(t *testing.T, spec string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return db
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	key := make([]byte, secret.KeySize)
	key[1] = 9
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.NewService(db, box, engine.NewRegistry(mysql.New(), postgres.New(), redis.New()), slog.New(slog.DiscardHandler))
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "tester", Addr: "192.0.2.7"})
	// Two host names for the same machine, so that one server can be two
	// instances.
	for _, h := range []inventory.Host{{Name: "local", Address: "127.0.0.1"}, {Name: "alias", Address: "localhost"}} {
		if _, err := inv.AddHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	f := &fixture{db: db, inv: inv, svc: slowlog.NewService(db, inv, log), ctx: ctx,
		auth: auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost})}
	if f.query, err = query.NewService(db, box, inv, engine.NewRegistry(mysql.New(), postgres.New(), redis.New()), f.auth, log, query.Config{}); err != nil {
		t.Fatal(err)
	}
	f.svc.Examples, f.svc.Explainer = console{f.query}, console{f.query}
	for _, u := range []struct {
		name string
		role auth.Role
		p    *auth.Principal
	}{{"dba", auth.DBA, &f.dba}, {"dev", auth.Developer, &f.dev}} {
		if _, err := f.auth.AddUser(ctx, u.name, u.role, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
		*u.p = auth.Principal{User: u.name, Role: u.role}
	}
	return f
}

func (f *fixture) addInstance(t *testing.T, name string, k engine.Kind, port int, user, password string) {
	t.Helper()
	f.addInstanceOn(t, "local", name, k, port, user, password)
}

func (f *fixture) addInstanceOn(t *testing.T, host, name string, k engine.Kind, port int, user, password string) {
	t.Helper()
	if _, err := f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: name, Engine: k, Host: host, Port: port, User: user, Password: password}); err != nil {
		t.Fatal(err)
	}
}

// classByFP finds a class of a top list by fingerprint.
func classByFP(top slowlog.TopResult, fp string) (slowlog.TopClass, bool) {
	for _, c := range top.Top {
		if c.Fingerprint == fp {
			return c, true
		}
	}
	return slowlog.TopClass{}, false
}

func sourceStatus(sts []slowlog.SourceStatus, src string) slowlog.SourceStatus {
	for _, s := range sts {
		if s.Source == src {
			return s
		}
	}
	return slowlog.SourceStatus{}
}

// load runs a known mix of statements from several connections at once
// and returns how many of each fingerprint it ran.
func load(t *testing.T, db *sql.DB, rounds int) map[string]int {
	t.Helper()
	want := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			conn, err := db.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			run := func(fp, q string, args ...any) {
				if err != nil {
					return
				}
				var rows *sql.Rows
				rows, err = conn.QueryContext(ctx, q, args...)
				if err == nil {
					rows.Close()
					mu.Lock()
					want[fp]++
					mu.Unlock()
				}
			}
			for i := 0; i < rounds; i++ {
				id := w*rounds + i
				run("select * from shop.orders where id = ?", fmt.Sprintf("SELECT * FROM shop.orders WHERE id = %d", id%50+1))
				run("select id, total from shop.orders where customer in(?+) order by total desc limit ?",
					fmt.Sprintf("SELECT id, total FROM shop.orders WHERE customer IN (%d, %d, %d) ORDER BY total DESC LIMIT %d", i%7, i%5, w, i%9+1))
				run("update shop.orders set total = ? where id = ?", fmt.Sprintf("UPDATE shop.orders SET total = %d.5 WHERE id = %d", i, id%50+1))
				if i%10 == 0 {
					run("insert into shop.orders (customer, total) values(?+)", fmt.Sprintf("INSERT INTO shop.orders (customer, total) VALUES (%d, 10), (%d, 20)", w, i))
				}
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return want
}

// waitLogged waits until the server's slow log holds at least the events
// that ran: MariaDB writes a statement's entry after its answer.
func waitLogged(t *testing.T, path string, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := slowlog.Run(context.Background(), []slowlog.Input{{Name: path, R: bytes.NewReader(b)}}, slowlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for fp, n := range want {
			if c := d.Classes[fp]; c == nil || int(c.Count()) < n {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow log lacks events after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func setupShop(t *testing.T, m *testenv.MariaDB) {
	t.Helper()
	m.Exec(t, "CREATE DATABASE shop",
		"CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer INT NOT NULL, total DECIMAL(10,2) NOT NULL, KEY (customer))")
	var vals []string
	for i := 1; i <= 50; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, %d)", i%7, i*3, i))
	}
	m.Exec(t, "INSERT INTO shop.orders (customer, total, id) VALUES "+strings.Join(vals, ","))
}

// TestMariaDBUnderLoad digests the slow log a real MariaDB writes with
// long_query_time=0 under concurrent load: offline (and against
// pt-query-digest when installed), uploaded, and collected from
// mysql.slow_log; then reads it back, explains a SELECT and refuses to
// explain an UPDATE.
func TestMariaDBUnderLoad(t *testing.T) {
	m := testenv.StartMariaDB(t, testenv.MariaDBArgs("--slow-query-log=1", "--long-query-time=0",
		"--log-slow-verbosity=query_plan,explain", "--slow-query-log-file=slow.log", "--log-output=FILE,TABLE"))
	setupShop(t, m)
	want := load(t, m.DB(t, ""), 60)
	logPath := filepath.Join(m.DataDir, "slow.log")
	waitLogged(t, logPath, want)

	// Offline, in parallel and not: the counts of what ran.
	for _, workers := range []int{1, 2} {
		rc, err := slowlog.OpenFile(logPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := slowlog.Run(context.Background(), []slowlog.Input{{Name: logPath, R: rc}}, slowlog.Options{Workers: workers, BlockSize: 64 << 10})
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for fp, n := range want {
			c := d.Classes[fp]
			if c == nil {
				t.Fatalf("workers=%d: no class %q in the digest", workers, fp)
			}
			if int(c.Count()) != n {
				t.Errorf("workers=%d: class %q has %d events, %d ran", workers, fp, c.Count(), n)
			}
		}
		var buf bytes.Buffer
		if err := d.WriteText(&buf, slowlog.ReportOptions{Limit: 5}); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"# Overall:", "# Profile", "0x" + slowlog.QueryID("select * from shop.orders where id = ?"), "# Query_time distribution"} {
			if !strings.Contains(buf.String(), s) {
				t.Errorf("report lacks %q:\n%s", s, buf.String())
			}
		}
	}

	f := newFixture(t, openStore(t, filepath.Join(t.TempDir(), "store.db")))
	f.addInstance(t, "maria", engine.MariaDB, m.Port, m.User, m.Password)
	f.addInstanceOn(t, "alias", "uploaded", engine.MariaDB, m.Port, m.User, m.Password)

	// Upload, gzipped.
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	up, err := f.svc.Upload(f.ctx, "uploaded", &gz)
	if err != nil {
		t.Fatal(err)
	}
	if up.Bytes != int64(len(raw)) || up.Events == 0 {
		t.Errorf("upload: %+v, log of %d bytes", up, len(raw))
	}
	all := slowlog.Filter{Since: time.Now().Add(-48 * time.Hour), Until: time.Now().Add(time.Hour), Limit: 1000}
	top, err := f.svc.Top(f.ctx, f.dba, "uploaded", all)
	if err != nil {
		t.Fatal(err)
	}
	for fp, n := range want {
		c, ok := classByFP(top, fp)
		if !ok || c.Calls != int64(n) {
			t.Errorf("uploaded: class %q: %+v, want %d calls", fp, c, n)
		}
	}

	// Collected from mysql.slow_log, incrementally. (The table gets its
	// row right after the file: collect again until all are there.)
	collectUntil := func(want map[string]int) []slowlog.SourceStatus {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			sts, err := f.svc.Collect(f.ctx, "maria")
			if err != nil {
				t.Fatal(err)
			}
			top, err := f.svc.Top(f.ctx, f.dba, "maria", all)
			if err != nil {
				t.Fatal(err)
			}
			ok := true
			for fp, n := range want {
				c, found := classByFP(top, fp)
				if !found || c.Calls < int64(n) {
					ok = false
				}
				if found && c.Calls > int64(n) {
					t.Fatalf("collected: class %q has %d calls, only %d ran", fp, c.Calls, n)
				}
			}
			if ok {
				return sts
			}
			if time.Now().After(deadline) {
				t.Fatalf("collected: classes %+v, want %v", top.Top, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	sts := collectUntil(want)
	if st := sourceStatus(sts, slowlog.SourceSlowLogTable); st.Status != slowlog.StatusOK {
		t.Fatalf("slow_log_table: %+v", st)
	}
	if st := sourceStatus(sts, slowlog.SourcePerformanceSchema); st.Status != slowlog.StatusUnavailable || !strings.Contains(st.Message, "performance_schema=OFF") {
		t.Errorf("performance_schema: %+v", st)
	}
	more := load(t, m.DB(t, ""), 5)
	all2 := map[string]int{}
	for fp, n := range want {
		all2[fp] = n + more[fp]
	}
	collectUntil(all2)

	// One class: its example, EXPLAIN of a SELECT, refusal of an UPDATE.
	sel := slowlog.QueryID("select * from shop.orders where id = ?")
	c, err := f.svc.Class(f.ctx, f.dba, "maria", "0x"+sel, all)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Explainable || !strings.HasPrefix(c.Example, "SELECT * FROM shop.orders WHERE id = ") || len(c.Trend) == 0 || c.P95 <= 0 {
		t.Errorf("class: %+v", c)
	}
	if short, err := f.svc.Class(f.ctx, f.dba, "maria", slowlog.ShortQueryID(sel), all); err != nil || short.QueryID != sel {
		t.Errorf("short id: %v %v", short.QueryID, err)
	}
	// EXPLAIN goes through the query console, for the caller: audited
	// there, refused to a developer without a grant with the console's
	// rule.
	ex, err := f.svc.Explain(f.ctx, f.dba, "maria", sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Rows) == 0 || !strings.Contains(strings.Join(ex.Columns, ","), "select_type") || ex.Statement != "EXPLAIN "+c.Example || ex.RanOn != "maria" {
		t.Errorf("explain: %+v", ex)
	}
	var audited int
	if err := f.db.QueryRowContext(f.ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'query.run' AND target = 'maria' AND detail LIKE ? AND detail LIKE ?",
		"%\"explain\":true%", "%SELECT * FROM shop.orders WHERE id = %").Scan(&audited); err != nil || audited != 1 {
		t.Errorf("the console audited %d EXPLAIN runs (%v)", audited, err)
	}
	if _, err := f.svc.Explain(f.ctx, f.dev, "maria", sel); errkind.Of(err) != errkind.Forbidden ||
		!strings.Contains(err.Error(), "user dev (role developer) has no query grant on instance maria; a DBA can grant one") {
		t.Errorf("explain without a grant: %v", err)
	}
	upd := slowlog.QueryID("update shop.orders set total = ? where id = ?")
	if d, err := f.svc.Class(f.ctx, f.dba, "maria", upd, all); err != nil || d.Explainable || !strings.Contains(d.WhyNot, "refuse EXPLAIN of a write") {
		t.Errorf("class of an UPDATE: explainable %v (%q) %v", d.Explainable, d.WhyNot, err)
	}
	if _, err := f.svc.Explain(f.ctx, f.dba, "maria", upd); errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "the example is an UPDATE: MariaDB and MySQL refuse EXPLAIN of a write") {
		t.Errorf("explain of an UPDATE: %v", err)
	}
	if _, err := f.svc.Class(f.ctx, f.dba, "maria", "0x0123456789ABCDEF0123456789ABCDEF", all); errkind.Of(err) != errkind.NotFound {
		t.Errorf("unknown class: %v", err)
	}

	// pt-query-digest finds the same classes in the same log.
	// (On a copy: the server is still writing to its log.)
	if pt := slowlog.PTPath(t); pt != "" {
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		snap := filepath.Join(t.TempDir(), "slow.log")
		if err := os.WriteFile(snap, b, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := slowlog.Run(context.Background(), []slowlog.Input{{Name: snap, R: bytes.NewReader(b)}}, slowlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		slowlog.ComparePT(t, pt, d, snap)
	}
}

// TestPerformanceSchemaDigests collects statement digests: the first look
// takes a baseline, the next the calls since.
func TestPerformanceSchemaDigests(t *testing.T) {
	m := testenv.StartMariaDB(t, testenv.MariaDBArgs("--performance-schema=ON"))
	setupShop(t, m)
	f := newFixture(t, openStore(t, filepath.Join(t.TempDir(), "store.db")))
	f.addInstance(t, "maria", engine.MariaDB, m.Port, m.User, m.Password)
	sts, err := f.svc.Collect(f.ctx, "maria")
	if err != nil {
		t.Fatal(err)
	}
	if st := sourceStatus(sts, slowlog.SourcePerformanceSchema); st.Status != slowlog.StatusOK || !strings.Contains(st.Message, "baseline") {
		t.Fatalf("performance_schema: %+v", st)
	}
	if st := sourceStatus(sts, slowlog.SourceSlowLogTable); st.Status != slowlog.StatusUnavailable || !strings.Contains(st.Message, "log_output") {
		t.Errorf("slow_log_table: %+v", st)
	}
	want := load(t, m.DB(t, ""), 20)
	// The digest table counts a statement after its answer: wait for it.
	db := m.DB(t, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n sql.NullInt64
		if err := db.QueryRow("SELECT SUM(COUNT_STAR) FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST_TEXT LIKE 'SELECT * FROM `shop` . `orders` WHERE id = ?%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if int(n.Int64) >= want["select * from shop.orders where id = ?"]*9/10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := f.svc.Collect(f.ctx, "maria"); err != nil {
		t.Fatal(err)
	}
	top, err := f.svc.Top(f.ctx, f.dba, "maria", slowlog.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// performance_schema normalizes the text itself: the class of the
	// point SELECT is its digest text's fingerprint. (MariaDB's digest table
	// now and then misses a statement of a new connection: the calls are
	// those since the baseline, give or take a few.)
	n := int64(want["select * from shop.orders where id = ?"])
	found := false
	for _, c := range top.Top {
		if strings.Contains(c.Fingerprint, "from `shop` . `orders` where id = ?") && c.Calls <= n && c.Calls >= n*9/10 {
			found = true
		}
	}
	if !found {
		t.Errorf("no digest class with about %d calls of the point SELECT: %+v", n, top.Top)
	}
}

// TestRedisSlowlog collects SLOWLOG entries incrementally.
func TestRedisSlowlog(t *testing.T) {
	r := testenv.StartRedis(t, testenv.RedisArgs("--slowlog-log-slower-than", "0", "--slowlog-max-len", "1024"))
	cl := r.Client(t)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		cl.Set(ctx, fmt.Sprintf("k%d", i), "v", 0)
		cl.Get(ctx, fmt.Sprintf("k%d", i))
	}
	f := newFixture(t, openStore(t, filepath.Join(t.TempDir(), "store.db")))
	f.addInstance(t, "cache", engine.Redis, r.Port, "", r.Password)
	sts, err := f.svc.Collect(f.ctx, "cache")
	if err != nil || sts[0].Status != slowlog.StatusOK {
		t.Fatalf("collect: %+v %v", sts, err)
	}
	top, err := f.svc.Top(f.ctx, f.dba, "cache", slowlog.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	get, ok1 := classByFP(top, "get ?")
	set, ok2 := classByFP(top, "set ?+")
	if !ok1 || !ok2 || get.Calls != 30 || set.Calls != 30 {
		t.Fatalf("classes: %+v", top.Top)
	}
	for i := 0; i < 5; i++ {
		cl.Get(ctx, "k1")
	}
	if _, err := f.svc.Collect(f.ctx, "cache"); err != nil {
		t.Fatal(err)
	}
	top, _ = f.svc.Top(f.ctx, f.dba, "cache", slowlog.Filter{Limit: 100})
	if get, _ := classByFP(top, "get ?"); get.Calls != 35 {
		t.Errorf("after a second collection: get ? has %d calls, want 35", get.Calls)
	}
	f.addInstanceOn(t, "alias", "mongo", engine.MongoDB, 27017, "u", "p")
	if _, err := f.svc.Collect(f.ctx, "mongo"); errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "collected from MariaDB") {
		t.Errorf("collect from MongoDB: %v", err)
	}
	d, err := f.svc.Class(f.ctx, f.dba, "cache", slowlog.QueryID("get ?"), slowlog.Filter{})
	if err != nil || d.Explainable || !strings.HasPrefix(d.Example, "get k") {
		t.Errorf("class: %+v %v", d, err)
	}
}

// TestPostgres runs the store on PostgreSQL and collects the same server's
// pg_stat_statements: unavailable with the fix until the extension exists,
// then a baseline, then the calls since.
func TestPostgres(t *testing.T) {
	pg := testenv.StartPostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pg.Stop(t)
	pg.Start(t)
	pg.CreateDatabase(t, "meta")
	pg.CreateDatabase(t, "app")

	f := newFixture(t, openStore(t, pg.URL("meta")))
	f.addInstance(t, "pg", engine.Postgres, pg.Port, pg.User, pg.Password)
	sts, err := f.svc.Collect(f.ctx, "pg")
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].Status != slowlog.StatusUnavailable || !strings.Contains(sts[0].Message, "CREATE EXTENSION pg_stat_statements") {
		t.Fatalf("without the extension: %+v", sts)
	}
	app, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	for _, q := range []string{"CREATE EXTENSION pg_stat_statements", "CREATE TABLE items (id int PRIMARY KEY, name text)",
		"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g"} {
		if _, err := app.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	sts, err = f.svc.Collect(f.ctx, "pg")
	if err != nil || sts[0].Status != slowlog.StatusOK || !strings.Contains(sts[0].Message, "baseline") {
		t.Fatalf("baseline: %+v %v", sts, err)
	}
	for i := 0; i < 25; i++ {
		if _, err := app.Exec(ctx, fmt.Sprintf("SELECT name FROM items WHERE id = %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Collect(f.ctx, "pg"); err != nil {
		t.Fatal(err)
	}
	top, err := f.svc.Top(f.ctx, f.dba, "pg", slowlog.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var found *slowlog.TopClass
	for i, c := range top.Top {
		if strings.HasPrefix(c.Fingerprint, "select name from items where id = $") {
			found = &top.Top[i]
		}
	}
	if found == nil || found.Calls != 25 || found.RowsSent != 25 {
		t.Fatalf("pg_stat_statements class: %+v in %+v", found, top.Top)
	}
	// Its example is normalized ($1): no EXPLAIN, and why.
	d, err := f.svc.Class(f.ctx, f.dba, "pg", found.QueryID, slowlog.Filter{})
	if err != nil || d.Explainable || !strings.Contains(d.WhyNot, "parameters") {
		t.Errorf("class: explainable=%v why=%q err=%v", d.Explainable, d.WhyNot, err)
	}
	if _, err := f.svc.Explain(f.ctx, f.dba, "pg", found.QueryID); errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "parameters") {
		t.Errorf("explain of a normalized statement: %v", err)
	}
	// A statement without constants keeps its text: EXPLAIN runs through
	// the console, in the example's database; a developer without a
	// grant gets the console's refusal.
	for i := 0; i < 3; i++ {
		if _, err := app.Exec(ctx, "SELECT count(*) FROM items WHERE name LIKE name"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Collect(f.ctx, "pg"); err != nil {
		t.Fatal(err)
	}
	cnt := slowlog.QueryID(slowlog.Fingerprint("SELECT count(*) FROM items WHERE name LIKE name"))
	if d, err := f.svc.Class(f.ctx, f.dba, "pg", cnt, slowlog.Filter{}); err != nil || !d.Explainable || d.ExampleDB != "postgres" {
		t.Fatalf("class without constants: %+v %v", d, err)
	}
	plan, err := f.svc.Explain(f.ctx, f.dba, "pg", cnt)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Columns) != 1 || plan.Columns[0] != "QUERY PLAN" || len(plan.Rows) == 0 || !strings.Contains(fmt.Sprint(plan.Rows), "items") {
		t.Errorf("explain on PostgreSQL: %+v", plan)
	}
	if _, err := f.svc.Explain(f.ctx, f.dev, "pg", cnt); errkind.Of(err) != errkind.Forbidden || !strings.Contains(err.Error(), "no query grant on instance pg") {
		t.Errorf("explain without a grant: %v", err)
	}

	// The store on PostgreSQL: an upload, ranges, pruning.
	f.addInstanceOn(t, "alias", "maria", engine.MariaDB, 3306, "u", "p")
	up, err := f.svc.Upload(f.ctx, "maria", strings.NewReader(slowlog.MariaDBSample))
	if err != nil || up.Events != 21 {
		t.Fatalf("upload: %+v %v", up, err)
	}
	all := slowlog.Filter{Since: up.From.Add(-time.Hour), Until: up.To.Add(time.Hour), Limit: 100}
	top, err = f.svc.Top(f.ctx, f.dba, "maria", all)
	if err != nil || top.Classes != 17 || top.Calls != 21 {
		t.Fatalf("top after upload: %+v %v", top, err)
	}
	if _, err := f.svc.Upload(f.ctx, "pg", strings.NewReader(slowlog.MariaDBSample)); errkind.Of(err) != errkind.Invalid {
		t.Errorf("upload to a PostgreSQL instance: %v", err)
	}
	if _, err := f.svc.Upload(f.ctx, "maria", strings.NewReader("\x00\x01 not a slow log\n")); errkind.Of(err) != errkind.Invalid {
		t.Errorf("upload of garbage: %v", err)
	}
	n, err := f.svc.Prune(f.ctx, up.To.Add(2*time.Hour))
	if err != nil || n == 0 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if top, _ := f.svc.Top(f.ctx, f.dba, "maria", all); top.Classes != 0 {
		t.Errorf("after pruning: %d classes", top.Classes)
	}

	// Finding 12 on PostgreSQL, whose text columns refuse invalid UTF-8
	// and NUL bytes and whose float columns hold Infinity.
	f.addInstanceOn(t, "alias", "maria-bad", engine.MariaDB, 3307, "u", "p")
	checkOutOfRangeUpload(t, f, "maria-bad")
}
