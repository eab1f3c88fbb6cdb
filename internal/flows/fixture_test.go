package flows

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"github.com/dbfleet/dbfleet/migrations"
)

// The servers every integration test of the package shares, started by
// the first test that calls servers.
var shared struct {
	maria *testenv.MariaDB
	pg    *testenv.Postgres
	mu    sync.Mutex
	n     int
}

var sharedServers = testenv.Share(func(tb testing.TB) struct{} {
	shared.maria = testenv.StartMariaDB(tb)
	shared.pg = testenv.StartPostgres(tb)
	return struct{}{}
})

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// servers starts the shared servers if no test has yet; it skips t under
// -short.
func servers(t *testing.T) {
	t.Helper()
	sharedServers.Get(t)
}

// uniq returns a name unique in this test binary.
func uniq(prefix string) string {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.n++
	return fmt.Sprintf("%s%d_%d", prefix, os.Getpid()%10000, shared.n)
}

// sqliteStore is a migrated SQLite metadata store.
func sqliteStore(t *testing.T) *sqldb.DB {
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "dbfleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return db
}

// pgStore is a migrated metadata store in a fresh database of the shared
// PostgreSQL.
func pgStore(t *testing.T) *sqldb.DB {
	name := uniq("store")
	shared.pg.CreateDatabase(t, name)
	db, err := sqldb.Open(context.Background(), shared.pg.URL(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return db
}

// recorder is a Notifier that keeps what it was sent.
type recorder struct {
	mu   sync.Mutex
	sent []sentMsg
	fail error
}

type sentMsg struct {
	Channel string
	Msg     Message
}

func (r *recorder) SendTo(ctx context.Context, channel string, msg Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.sent = append(r.sent, sentMsg{channel, msg})
	return nil
}

func (r *recorder) messages() []sentMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentMsg(nil), r.sent...)
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	db     *sqldb.DB
	auth   *auth.Service
	inv    *inventory.Service
	query  *query.Service // the query console exports run through
	exec   *executor.Service
	cat    *Catalog
	svc    *Service
	queue  *jobs.Queue
	notes  *recorder
	dir    string
	stop   context.CancelFunc
	wg     *sync.WaitGroup
	mariaD string // a fresh database on the MariaDB server
	pgD    string // a fresh database on the PostgreSQL server
}

// newFixture builds a flows service over db with the given flow files, an
// inventory naming the shared servers (maria-stg: MariaDB in env staging;
// maria-prod: the same server in env prod; pg-test: PostgreSQL in env
// test), users dev, dev2 (developers), dba, dba2 (DBAs), the query console
// as its Exporter, and a running worker.
func newFixture(t *testing.T, db *sqldb.DB, files map[string]string) *fixture {
	t.Helper()
	return newFixtureWith(t, db, files, nil)
}

// newFixtureWith is newFixture with the service's options changed by opts
// before it is built.
func newFixtureWith(t *testing.T, db *sqldb.DB, files map[string]string, opts func(*Options)) *fixture {
	t.Helper()
	servers(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f := &fixture{t: t, ctx: ctx, db: db, notes: &recorder{}, dir: t.TempDir(), wg: &sync.WaitGroup{}}
	f.auth = auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost})
	for name, role := range map[string]auth.Role{"dev": auth.Developer, "dev2": auth.Developer, "dba": auth.DBA, "dba2": auth.DBA, "view": auth.Viewer} {
		if _, err := f.auth.AddUser(ctx, name, role, name+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, _ := secret.New(key)
	engines := engine.NewRegistry(mysql.New(), postgres.New())
	f.inv = inventory.NewService(db, box, engines, log)
	var err error
	if f.query, err = query.NewService(db, box, f.inv, engines, f.auth, log, query.Config{}); err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.inv.AddHost(ctx, inventory.Host{Name: "h1", Address: "127.0.0.1"}))
	must(f.inv.AddHost(ctx, inventory.Host{Name: "h2", Address: "localhost"}))
	must(f.inv.AddCluster(ctx, inventory.Cluster{Name: "maria-stg", Engine: engine.MariaDB, Env: "staging"}))
	must(f.inv.AddCluster(ctx, inventory.Cluster{Name: "maria-prod", Engine: engine.MariaDB, Env: "prod"}))
	must(f.inv.AddCluster(ctx, inventory.Cluster{Name: "pg-test", Engine: engine.Postgres, Env: "test"}))
	m, p := shared.maria, shared.pg
	must(f.inv.AddInstance(ctx, inventory.NewInstance{Name: "maria-1", Engine: engine.MariaDB, Host: "h1", Port: m.Port, User: m.User, Password: m.Password, Cluster: "maria-stg", Role: "primary"}))
	must(f.inv.AddInstance(ctx, inventory.NewInstance{Name: "maria-p", Engine: engine.MariaDB, Host: "h2", Port: m.Port, User: m.User, Password: m.Password, Cluster: "maria-prod", Role: "primary"}))
	must(f.inv.AddInstance(ctx, inventory.NewInstance{Name: "pg-1", Engine: engine.Postgres, Host: "h1", Port: p.Port, User: p.User, Password: p.Password, Cluster: "pg-test", Role: "primary"}))

	f.mariaD = uniq("app")
	shared.maria.Exec(t, "CREATE DATABASE "+f.mariaD)
	f.pgD = uniq("app")
	shared.pg.CreateDatabase(t, f.pgD)

	for name, src := range files {
		f.write(name, src)
	}
	f.cat = NewCatalog(f.dir, db, log)
	if err := f.cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if probs := f.cat.Problems(); len(probs) > 0 {
		t.Fatalf("flow files: %v", probs)
	}
	f.queue = jobs.NewQueue(db, log)
	f.queue.LeaseTTL = 3 * time.Second
	rev, err := sqlreview.New(sqlreview.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.exec = executor.NewService(db, f.inv, executor.Config{PollInterval: 50 * time.Millisecond, DeclaredRowsMargin: executor.DefaultConfig().DeclaredRowsMargin}, log)
	o := Options{DB: db, Log: log, Catalog: f.cat, Queue: f.queue, Inventory: f.inv, Key: key,
		PublicURL: "http://dbfleet.test", Notifier: f.notes, Reviewer: rev, Executor: f.exec, Provisioner: f.exec, Exporter: f.query, Users: f.auth}
	if opts != nil {
		opts(&o)
	}
	if f.svc, err = NewService(o); err != nil {
		t.Fatal(err)
	}
	f.startWorker()
	return f
}

func (f *fixture) startWorker() {
	wctx, stop := context.WithCancel(context.Background())
	f.stop = stop
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		(&jobs.Worker{Queue: f.queue, Handlers: f.svc.Handlers(), OnFailure: f.svc.FailureHandlers(), Poll: 100 * time.Millisecond}).Run(wctx)
	}()
	go func() {
		defer f.wg.Done()
		f.exec.Run(wctx)
	}()
	f.t.Cleanup(f.stopWorker)
}

func (f *fixture) stopWorker() {
	f.stop()
	f.wg.Wait()
}

func (f *fixture) write(name, src string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(src), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// as is a principal and a context acting as that user.
func (f *fixture) as(user string) (context.Context, auth.Principal) {
	u, err := f.auth.GetUser(context.Background(), user)
	if err != nil {
		f.t.Fatal(err)
	}
	return audit.WithActor(context.Background(), audit.Actor{User: user, Addr: "192.0.2.9"}), auth.Principal{UserID: u.ID, User: u.Name, Role: u.Role}
}

func (f *fixture) submit(user, flow string, fields map[string]any) *Ticket {
	f.t.Helper()
	ctx, p := f.as(user)
	t, err := f.svc.Submit(ctx, p, SubmitRequest{Flow: flow, Fields: fields})
	if err != nil {
		f.t.Fatalf("submit %s as %s: %v", flow, user, err)
	}
	return t
}

// wait polls ticket id until it is in one of states.
func (f *fixture) wait(id int64, states ...string) *Ticket {
	f.t.Helper()
	_, p := f.as("dba")
	deadline := time.Now().Add(30 * time.Second)
	var t *Ticket
	for time.Now().Before(deadline) {
		var err error
		t, err = f.svc.Get(context.Background(), p, id)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, s := range states {
			if t.State == s {
				return t
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("ticket %d is %s (error %q), want %v\ntimeline:\n%s", id, t.State, t.Error, states, timelineText(t))
	return nil
}

func timelineText(t *Ticket) string {
	var b strings.Builder
	for _, e := range t.Timeline {
		step := ""
		if e.Step != nil {
			step = fmt.Sprintf(" step %d", *e.Step+1)
		}
		fmt.Fprintf(&b, "  %s %s%s: %s\n", e.Actor, e.Kind, step, e.Message)
	}
	return b.String()
}

// mariaQuery reads one value from the shared MariaDB.
func mariaQuery(t *testing.T, db, q string, args ...any) string {
	t.Helper()
	var v sql.NullString
	if err := shared.maria.DB(t, db).QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

// pgDB opens the shared PostgreSQL's database db as its superuser.
func pgDB(t *testing.T, db string) *sql.DB {
	t.Helper()
	c, err := sql.Open("pgx", shared.pg.URL(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testScheduler runs the cron scheduler of the fixture's tasks.
type testScheduler struct{ f *fixture }

func (s *testScheduler) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	sc := &jobs.Scheduler{DB: s.f.db, Log: slog.New(slog.DiscardHandler), Schedules: s.f.svc.Schedules, Tick: 200 * time.Millisecond, Wake: s.f.queue.Wake}
	go func() { defer close(done); sc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// in returns the fixture for a subtest.
func (f *fixture) in(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}
