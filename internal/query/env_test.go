package query

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/engine/redis"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// serverSet is shared by the package's tests, started (and seeded) by the
// first test that needs it.
type serverSet struct {
	cluster *testenv.MariaDBCluster
	single  *testenv.MariaDB // for readers whose inventory account is weak, or that move (reader_test.go)
	pg      *testenv.Postgres
	rd      *testenv.Redis
}

var shared = testenv.Share(func(tb testing.TB) *serverSet {
	s := &serverSet{
		cluster: testenv.StartMariaDBCluster(tb, 2),
		pg:      testenv.StartPostgres(tb),
		rd:      testenv.StartRedis(tb),
		single:  testenv.StartMariaDB(tb),
	}
	seed(tb, s)
	return s
})

// servers returns the shared servers; it skips t under -short.
func servers(t testing.TB) *serverSet { return shared.Get(t) }

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func seed(tb testing.TB, servers *serverSet) {
	p := servers.cluster.Primary()
	p.Exec(tb,
		"CREATE DATABASE shop",
		"CREATE TABLE shop.users (id INT PRIMARY KEY, name VARCHAR(50), phone VARCHAR(20), email VARCHAR(100), note VARCHAR(50) INVISIBLE)",
		"INSERT INTO shop.users (id, name, phone, email, note) VALUES (1, 'Alice', '13812345678', 'alice@example.com', 'n1'), (2, 'Bob', '13987654321', 'bob@example.org', 'n2')",
		"CREATE TABLE shop.orders (id INT PRIMARY KEY, user_id INT, card VARCHAR(20))",
		"INSERT INTO shop.orders VALUES (10, 1, '6222020200112233445'), (11, 2, '6222020200998877665')",
		"CREATE VIEW shop.contact_v AS SELECT id, phone AS mobile FROM shop.users",
		"CREATE TABLE shop.seq (n INT PRIMARY KEY)",
		"INSERT INTO shop.seq SELECT a.n * 100 + b.n + 1 FROM (WITH RECURSIVE r (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 14) SELECT n FROM r) a, (WITH RECURSIVE r (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 99) SELECT n FROM r) b",
		"CREATE DATABASE crm",
		"CREATE TABLE crm.contacts (id INT PRIMARY KEY, phone VARCHAR(20))",
		"INSERT INTO crm.contacts VALUES (1, '13700001111')",
		"CREATE DATABASE secret",
		"CREATE TABLE secret.keys (id INT PRIMARY KEY, k VARCHAR(20))",
		"INSERT INTO secret.keys VALUES (1, 'top-secret')",
		"CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pass'",
		"GRANT SELECT, SHOW VIEW ON shop.* TO 'reader'@'%'",
	)
	servers.cluster.WaitSync(tb)

	ctx := context.Background()
	pgc, err := postgres.New().Open(ctx, engine.Target{Engine: engine.Postgres, Host: servers.pg.Host, Port: servers.pg.Port, User: servers.pg.User, Password: servers.pg.Password})
	if err != nil {
		tb.Fatal(err)
	}
	defer pgc.Close()
	if _, err := pgc.Exec(ctx, "CREATE DATABASE app"); err != nil {
		tb.Fatal(err)
	}
	app, err := postgres.New().Open(ctx, engine.Target{Engine: engine.Postgres, Host: servers.pg.Host, Port: servers.pg.Port, User: servers.pg.User, Password: servers.pg.Password, Database: "app"})
	if err != nil {
		tb.Fatal(err)
	}
	defer app.Close()
	for _, st := range []string{
		"CREATE TABLE users (id int PRIMARY KEY, name text, phone text, email text)",
		"INSERT INTO users VALUES (1, 'Alice', '13812345678', 'alice@example.com'), (2, 'Bob', '13987654321', 'bob@example.org')",
		"CREATE TABLE orders (id int PRIMARY KEY, user_id int, card text)",
		"INSERT INTO orders VALUES (10, 1, '6222020200112233445'), (11, 2, '6222020200998877665')",
		"CREATE VIEW contact_v AS SELECT id, phone AS mobile FROM users",
		"CREATE TABLE seq AS SELECT n FROM generate_series(1, 1500) AS n",
		"CREATE SCHEMA crm",
		"CREATE TABLE crm.contacts (id int, phone text)",
		"INSERT INTO crm.contacts VALUES (1, '13700001111')",
	} {
		if _, err := app.Exec(ctx, st); err != nil {
			tb.Fatalf("%s: %v", st, err)
		}
	}

	rc := servers.rd.Client(tb)
	rc.HSet(ctx, "user:1", "name", "Alice", "phone", "13812345678")
	for i := range 50 {
		rc.HSet(ctx, "big", fmt.Sprintf("f%02d", i), i)
	}
	for i := range 30 {
		rc.RPush(ctx, "list", fmt.Sprintf("item%02d", i))
		rc.Set(ctx, fmt.Sprintf("key:%02d", i), i, 0)
	}
	rc.SAdd(ctx, "set", "a", "b", "c")
	rc.HSet(ctx, "user:2", "name", "Bob", "phone", "13987654321")
	rc.Set(ctx, "huge", strings.Repeat("x", 2<<20), 0)
	rc.HSet(ctx, "user:1", "blob", strings.Repeat("y", 2<<20))
}

// fixture is a metadata store with the inventory, users and the service.
type fixture struct {
	db   *sqldb.DB
	inv  *inventory.Service
	auth *auth.Service
	svc  *Service
	ctx  context.Context

	dev, dba, viewer, ops auth.Principal
}

func engines() *engine.Registry {
	return engine.NewRegistry(mysql.New(), postgres.New(), redis.New())
}

func newFixture(t testing.TB, opts Config) *fixture {
	t.Helper()
	db := sqldbtest.SQLite(t)
	return newFixtureOn(t, db, opts)
}

func newFixtureOn(t testing.TB, db *sqldb.DB, opts Config) *fixture {
	t.Helper()
	key := make([]byte, secret.KeySize)
	key[1] = 42
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	f := &fixture{db: db, ctx: audit.WithActor(context.Background(), audit.Actor{User: "setup"})}
	f.inv = inventory.NewService(db, box, engines(), log)
	f.auth = auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost})
	if f.svc, err = NewService(db, box, f.inv, engines(), f.auth, log, opts); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		role auth.Role
		p    *auth.Principal
	}{{"dev", auth.Developer, &f.dev}, {"dba", auth.DBA, &f.dba}, {"vic", auth.Viewer, &f.viewer}, {"ops", auth.Developer, &f.ops}} {
		if _, err := f.auth.AddUser(f.ctx, u.name, u.role, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
		*u.p = auth.Principal{User: u.name, Role: u.role}
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.inv.AddHost(f.ctx, inventory.Host{Name: "h1", Address: "127.0.0.1"}))
	must(f.inv.AddCluster(f.ctx, inventory.Cluster{Name: "orders", Engine: engine.MariaDB}))
	c := servers(t).cluster
	must(f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "orders-1", Engine: engine.MariaDB, Host: "h1", Port: c.Nodes[0].Port,
		User: c.Nodes[0].User, Password: c.Nodes[0].Password, Cluster: "orders", Role: inventory.RolePrimary}))
	must(f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "orders-2", Engine: engine.MariaDB, Host: "h1", Port: c.Nodes[1].Port,
		User: c.Nodes[1].User, Password: c.Nodes[1].Password, Cluster: "orders", Role: inventory.RoleReplica}))
	must(f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "pg-1", Engine: engine.Postgres, Host: "h1", Port: servers(t).pg.Port,
		User: servers(t).pg.User, Password: servers(t).pg.Password}))
	must(f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: "cache-1", Engine: engine.Redis, Host: "h1", Port: servers(t).rd.Port,
		Password: servers(t).rd.Password}))
	return f
}

// as is a request context with p as the audit actor.
func (f *fixture) as(p auth.Principal) context.Context {
	return audit.WithActor(context.Background(), audit.Actor{User: p.User, Addr: "192.0.2.7"})
}

func (f *fixture) grant(t testing.TB, n NewGrant) Grant {
	t.Helper()
	g, err := f.svc.AddGrant(f.as(f.dba), f.dba, n)
	if err != nil {
		t.Fatalf("grant %+v: %v", n, err)
	}
	return g
}

func (f *fixture) mask(t testing.TB, r MaskRule) MaskRule {
	t.Helper()
	r, err := f.svc.AddMask(f.as(f.dba), f.dba, r)
	if err != nil {
		t.Fatalf("mask %+v: %v", r, err)
	}
	return r
}

func (f *fixture) run(t testing.TB, p auth.Principal, instance, db, stmt string) (*Result, error) {
	t.Helper()
	return f.svc.Run(f.as(p), p, Request{Instance: instance, Database: db, Statement: stmt, Primary: true})
}

func (f *fixture) mustRun(t testing.TB, p auth.Principal, instance, db, stmt string) *Result {
	t.Helper()
	res, err := f.run(t, p, instance, db, stmt)
	if err != nil {
		t.Fatalf("%s on %s/%s: %v", stmt, instance, db, err)
	}
	return res
}

// table renders a result compactly: "a,b|1,2|3,4".
func table(r *Result) string {
	var parts []string
	var head []string
	for _, c := range r.Columns {
		head = append(head, c.Name)
	}
	parts = append(parts, strings.Join(head, ","))
	for _, row := range r.Rows {
		var cells []string
		for _, v := range row {
			cells = append(cells, FormatValue(v))
		}
		parts = append(parts, strings.Join(cells, ","))
	}
	return strings.Join(parts, "|")
}

func lastAudit(t testing.TB, f *fixture, action string) audit.Entry {
	t.Helper()
	es, err := audit.NewLog(f.db).List(context.Background(), audit.Filter{Action: action, Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("no audit entry %s: %v", action, err)
	}
	return es[0]
}

func itoa(n int) string { return strconv.Itoa(n) }
