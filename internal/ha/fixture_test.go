package ha

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/redis"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

func TestMain(m *testing.M) {
	gomysql.SetLogger(&gomysql.NopLogger{}) // the test writer's connections to killed servers
	redis.RouteLogs(slog.New(slog.DiscardHandler))
	os.Exit(sqldbtest.Main(m))
}

// env is a metadata store, an inventory and an HA service for one test.
type env struct {
	t     testing.TB
	db    *sqldb.DB
	inv   *inventory.Service
	ha    *Service
	notes *notes
	ctx   context.Context
}

// notes records notifications.
type notes struct {
	mu     sync.Mutex
	events []Event
}

func (n *notes) Notify(ctx context.Context, e Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, e)
	return nil
}

func (n *notes) kinds() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, e := range n.events {
		out = append(out, e.Kind)
	}
	return out
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t testing.TB, db *sqldb.DB, opt Config) *env {
	t.Helper()
	if db == nil {
		db = sqldbtest.SQLite(t)
	}
	key := make([]byte, secret.KeySize)
	key[5] = 9
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	engines := engine.NewRegistry(mysql.New(), redis.New())
	log := testLogger(t)
	inv := inventory.NewService(db, box, engines, log.With("component", "inventory"))
	n := &notes{}
	s := NewService(db, inv, engines, box, n, log.With("component", "ha"), "test", opt)
	t.Cleanup(s.Close)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "tester"})
	e := &env{t: t, db: db, inv: inv, ha: s, notes: n, ctx: ctx}
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "local", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// fastOptions detect quickly, for tests.
func fastOptions() Config {
	return Config{ProbeInterval: 300 * time.Millisecond, ProbeTimeout: 700 * time.Millisecond, Confirmations: 2,
		ConfirmInterval: 100 * time.Millisecond, SwitchoverTimeout: 5 * time.Second, ApplyTimeout: 10 * time.Second, CatchUpTimeout: 10 * time.Second}
}

// addMariaDB registers a testenv cluster as cluster name, instance i as
// name+(i+1) on port ports[i] (the node's own port when ports is nil).
func (e *env) addMariaDB(name string, c *testenv.MariaDBCluster, ports []int, mode Mode) []string {
	e.t.Helper()
	if _, err := e.inv.AddCluster(e.ctx, inventory.Cluster{Name: name, Engine: engine.MariaDB, Env: "test"}); err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for i, n := range c.Nodes {
		role := inventory.RoleReplica
		if i == 0 {
			role = inventory.RolePrimary
		}
		port := n.Port
		if ports != nil {
			port = ports[i]
		}
		in := fmt.Sprintf("%s-db%d", name, i+1)
		if _, err := e.inv.AddInstance(e.ctx, inventory.NewInstance{Name: in, Engine: engine.MariaDB, Host: "local", Port: port,
			User: n.User, Password: n.Password, Cluster: name, Role: role}); err != nil {
			e.t.Fatal(err)
		}
		names = append(names, in)
	}
	user, pw := c.ReplUser, c.ReplPassword
	if _, err := e.ha.SetSettings(e.ctx, name, SettingsPatch{Mode: &mode, ReplUser: &user, ReplPassword: &pw}); err != nil {
		e.t.Fatal(err)
	}
	return names
}

// runController runs the controller until the test ends.
func (e *env) runController() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.ha.Run(ctx)
	}()
	e.t.Cleanup(func() { cancel(); <-done })
}

// waitRecovery waits until cluster has a recovery that ended.
func (e *env) waitRecovery(cluster string, n int, within time.Duration) Recovery {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		list, err := e.ha.Recoveries(e.ctx, cluster, 10)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(list) >= n && list[0].State != StateRunning {
			r, err := e.ha.Recovery(e.ctx, list[0].ID)
			if err != nil {
				e.t.Fatal(err)
			}
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("no ended recovery #%d of %s within %s", n, cluster, within)
	return Recovery{}
}

func (e *env) role(instance string) string {
	e.t.Helper()
	in, err := e.inv.GetInstance(e.ctx, instance)
	if err != nil {
		e.t.Fatal(err)
	}
	return in.Role
}

// pid reads a testenv MariaDB's process id from its pid file.
func pid(t testing.TB, m *testenv.MariaDB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(m.DataDir), "mariadbd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func signal(t testing.TB, m *testenv.MariaDB, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid(t, m), sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// scalar runs a one-value query.
func scalar(t testing.TB, db *sql.DB, q string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var v sql.NullString
	if err := db.QueryRowContext(ctx, q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

// enableSemiSync turns semi-synchronous replication on, both sides on
// every node (so that a promoted replica keeps it), and restarts the
// receivers so that they acknowledge.
func enableSemiSync(t testing.TB, c *testenv.MariaDBCluster) {
	for _, n := range c.Nodes {
		n.Exec(t, "SET GLOBAL rpl_semi_sync_master_enabled = ON", "SET GLOBAL rpl_semi_sync_slave_enabled = ON")
	}
	for _, r := range c.Replicas() {
		r.Exec(t, "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD")
	}
}

// heartbeat sets MASTER_HEARTBEAT_PERIOD=1 on every replica, so that a
// hung primary is noticed within seconds.
func heartbeat(t testing.TB, c *testenv.MariaDBCluster) {
	for _, r := range c.Replicas() {
		r.Exec(t, "STOP SLAVE", "CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD=1", "START SLAVE")
	}
}

// writer inserts rows into app.t on whichever node the inventory declares
// primary, through an application account (no SUPER: read_only holds it),
// and keeps the ids the server acknowledged.
type writer struct {
	t       testing.TB
	e       *env
	cluster string
	nodes   map[string]*testenv.MariaDB // by instance name

	mu    sync.Mutex
	acked []int64
	errs  int
	stop  chan struct{}
	done  chan struct{}
}

const appUser, appPassword = "app", "app-secret"

// prepareApp creates the table and the application account (replicated).
func prepareApp(t testing.TB, c *testenv.MariaDBCluster) {
	c.Primary().Exec(t,
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id BIGINT PRIMARY KEY, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))",
		"CREATE USER '"+appUser+"'@'%' IDENTIFIED BY '"+appPassword+"'",
		"GRANT SELECT, INSERT ON app.* TO '"+appUser+"'@'%'",
	)
	c.WaitSync(t)
}

func (e *env) startWriter(cluster string, names []string, c *testenv.MariaDBCluster) *writer {
	w := &writer{t: e.t, e: e, cluster: cluster, nodes: map[string]*testenv.MariaDB{}, stop: make(chan struct{}), done: make(chan struct{})}
	for i, n := range names {
		w.nodes[n] = c.Nodes[i]
	}
	go w.run()
	e.t.Cleanup(w.halt)
	return w
}

func (w *writer) primaryDB() (*sql.DB, error) {
	list, err := w.e.inv.ListInstances(w.e.ctx, inventory.InstanceFilter{Cluster: w.cluster})
	if err != nil {
		return nil, err
	}
	for _, in := range list {
		if in.Role == inventory.RolePrimary {
			m := w.nodes[in.Name]
			return sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/app?timeout=1s&readTimeout=2s&writeTimeout=2s", appUser, appPassword, m.Port))
		}
	}
	return nil, fmt.Errorf("no declared primary")
}

func (w *writer) run() {
	defer close(w.done)
	var db *sql.DB
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	id := int64(0)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		if db == nil {
			var err error
			if db, err = w.primaryDB(); err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
		}
		id++
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := db.ExecContext(ctx, "INSERT INTO t (id) VALUES (?)", id)
		cancel()
		if err != nil {
			w.mu.Lock()
			w.errs++
			w.mu.Unlock()
			db.Close()
			db = nil
			time.Sleep(20 * time.Millisecond)
			continue
		}
		w.mu.Lock()
		w.acked = append(w.acked, id)
		w.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *writer) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *writer) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitAcked waits until n more writes were acknowledged.
func (w *writer) waitMore(n int, within time.Duration) {
	w.t.Helper()
	start := w.ackedCount()
	deadline := time.Now().Add(within)
	for w.ackedCount() < start+n {
		if time.Now().After(deadline) {
			w.t.Fatalf("writer: only %d of %d more writes acknowledged within %s", w.ackedCount()-start, n, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkNoLoss verifies every acknowledged id exists on node m.
func (w *writer) checkNoLoss(m *testenv.MariaDB) {
	w.t.Helper()
	w.halt()
	db := m.DB(w.t, "app")
	rows, err := db.Query("SELECT id FROM t")
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	have := map[int64]bool{}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		have[id] = true
	}
	var lost []int64
	for _, id := range w.acked {
		if !have[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		w.t.Errorf("%d of %d acknowledged writes lost on the new primary (first: %v)", len(lost), len(w.acked), lost[:min(len(lost), 10)])
	}
	w.t.Logf("writer: %d writes acknowledged, %d errors, all present on the new primary", len(w.acked), w.errs)
}
