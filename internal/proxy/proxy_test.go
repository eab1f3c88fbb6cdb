package proxy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	dsql "github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// cluster is a primary and one replica shared by the package's tests.
var cluster = testenv.Share(func(tb testing.TB) *testenv.MariaDBCluster {
	c := testenv.StartMariaDBCluster(tb, 2)
	c.Primary().Exec(tb,
		"CREATE DATABASE IF NOT EXISTS app",
		"CREATE TABLE IF NOT EXISTS app.t (id INT PRIMARY KEY, v VARCHAR(100))",
		"REPLACE INTO app.t VALUES (1, 'one'), (2, 'two'), (3, 'three')",
	)
	c.WaitSync(tb)
	// whoami says which server answered (a plain read, routed like any
	// other; @@server_id reads go to the primary): each node's own row,
	// written with its binary log off.
	for _, n := range c.Nodes {
		n.Exec(tb, "SET sql_log_bin = 0",
			"CREATE TABLE IF NOT EXISTS app.whoami (id INT PRIMARY KEY)",
			"DELETE FROM app.whoami",
			fmt.Sprintf("INSERT INTO app.whoami VALUES (%d)", n.ServerID),
			"SET sql_log_bin = 1")
	}
	return c
})

// whoami is the query that names the server that answered it.
const whoami = "SELECT id FROM app.whoami"

const (
	appUser = "app"
	appPass = "app-secret"
)

// startProxy runs a proxy in front of the shared cluster and returns its
// address; it stops with the test.
func startProxy(t *testing.T, mut ...func(*Options, *Topology, *User)) (string, *Proxy) {
	t.Helper()
	c := cluster.Get(t)
	topo := Topology{Primary: Backend{Name: "n1", Addr: hostPort(c.Primary().Host, c.Primary().Port)}}
	for i, r := range c.Replicas() {
		topo.Replicas = append(topo.Replicas, Backend{Name: "n" + strconv.Itoa(i+2), Addr: hostPort(r.Host, r.Port)})
	}
	u := User{Name: appUser, Password: appPass, Backend: Account{User: c.Primary().User, Password: c.Primary().Password}}
	opts := Options{Cluster: "c1", Dialect: dsql.MariaDB, PoolSize: 8, ConnectTimeout: 2 * time.Second}
	for _, f := range mut {
		f(&opts, &topo, &u)
	}
	p, err := New(opts, topo, []User{u})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String(), p
}

func openDB(t *testing.T, addr, db string, mut ...func(*mysql.Config)) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = appUser, appPass, "tcp", addr, db
	cfg.Timeout = 5 * time.Second
	for _, f := range mut {
		f(cfg)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := sql.OpenDB(conn)
	t.Cleanup(func() { d.Close() })
	return d
}

func serverID(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string) int {
	t.Helper()
	var id int
	if err := q.QueryRowContext(t.Context(), query).Scan(&id); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return id
}

func TestRoutesReadsToReplicaAndWritesToPrimary(t *testing.T) {
	addr, _ := startProxy(t)
	db := openDB(t, addr, "app")
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := serverID(t, conn, whoami); got != 2 {
		t.Errorf("autocommit read served by server %d, want the replica (2)", got)
	}
	if _, err := conn.ExecContext(ctx, "REPLACE INTO t VALUES (10, 'ten')"); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := serverID(t, tx, whoami); got != 1 {
		t.Errorf("read in a transaction served by server %d, want the primary (1)", got)
	}
	var v string
	if err := tx.QueryRowContext(ctx, "SELECT v FROM t WHERE id = 10").Scan(&v); err != nil || v != "ten" {
		t.Errorf("own write in the transaction: %q, %v", v, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestResultSetsRelayed(t *testing.T) {
	addr, _ := startProxy(t)
	db := openDB(t, addr, "app")
	ctx := t.Context()
	tests := []struct {
		name  string
		query string
		rows  int
	}{
		{"empty", "SELECT id FROM t WHERE id < 0", 0},
		{"rows", "SELECT id, v FROM t WHERE id <= 3 ORDER BY id", 3},
		{"big row", "SELECT REPEAT('x', 100000)", 1},
		{"many rows", "SELECT seq FROM seq_1_to_20000", 20000},
		{"row over 16 MiB", "SELECT REPEAT('y', 17000000)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n != tt.rows {
				t.Errorf("%d rows, want %d", n, tt.rows)
			}
		})
	}
	var mysqlErr *mysql.MySQLError
	_, err := db.ExecContext(ctx, "SELECT * FROM no_such_table")
	if !errors.As(err, &mysqlErr) || mysqlErr.Number != 1146 {
		t.Errorf("error relayed as %v, want 1146", err)
	}
}

func TestPreparedStatements(t *testing.T) {
	addr, _ := startProxy(t)
	db := openDB(t, addr, "app")
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sel, err := conn.PrepareContext(ctx, "SELECT t.v, w.id FROM t, app.whoami w WHERE t.id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	for _, id := range []int{1, 2, 3, 1} {
		var v string
		var sid int
		if err := sel.QueryRowContext(ctx, id).Scan(&v, &sid); err != nil {
			t.Fatal(err)
		}
		if sid != 2 {
			t.Errorf("prepared read served by %d, want the replica", sid)
		}
	}
	ins, err := conn.PrepareContext(ctx, "REPLACE INTO t VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	if _, err := ins.ExecContext(ctx, 20, "twenty"); err != nil {
		t.Fatal(err)
	}
	// In a transaction the read statement moves to the primary: prepared
	// there on first use, with its parameter types.
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var v string
	var sid int
	if err := sel.QueryRowContext(ctx, 20).Scan(&v, &sid); err != nil || v != "twenty" || sid != 1 {
		t.Errorf("prepared read in a transaction: %q on %d, %v; want twenty on the primary", v, sid, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
}

func TestSessionStateReplayedOnNewBackend(t *testing.T) {
	addr, _ := startProxy(t)
	db := openDB(t, addr, "app")
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The session starts on a replica connection; the primary connection
	// borrowed by BEGIN gets the login database and character set
	// replayed.
	if got := serverID(t, conn, whoami); got != 2 {
		t.Fatalf("first read on %d, want the replica", got)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var dbName, cs string
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE(), @@character_set_client").Scan(&dbName, &cs); err != nil || dbName != "app" || cs != "utf8mb4" {
		t.Errorf("on the primary: database %q, character set %q, %v; want app, utf8mb4", dbName, cs, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
}

// Binary prepared statements live on the backend connections only while a
// session holds them: a session's end resets its connections, so the
// server's count of prepared statements goes back to zero even when the
// client vanishes without closing them.
func TestPreparedStatementsDoNotAccumulate(t *testing.T) {
	addr, _ := startProxy(t)
	c := cluster.Get(t)
	for range 10 {
		var mu sync.Mutex
		var conns []net.Conn
		db := openDB(t, addr, "app", func(cfg *mysql.Config) {
			cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				nc, err := d.DialContext(ctx, network, addr)
				mu.Lock()
				conns = append(conns, nc)
				mu.Unlock()
				return nc, err
			}
		})
		db.SetMaxOpenConns(1)
		for _, q := range []string{"SELECT v FROM t WHERE id = ?", "SELECT v FROM t WHERE id = ? FOR UPDATE"} {
			st, err := db.PrepareContext(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			var v string
			if err := st.QueryRowContext(t.Context(), 1).Scan(&v); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		for _, nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		db.Close()
	}
	for _, n := range c.Nodes {
		st := n.DB(t, "")
		var name string
		var count int
		deadline := time.Now().Add(5 * time.Second)
		for {
			if err := st.QueryRowContext(t.Context(), "SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'").Scan(&name, &count); err != nil {
				t.Fatal(err)
			}
			if count == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if count != 0 {
			t.Errorf("server %d: %d prepared statements left", n.ServerID, count)
		}
	}
}

// Tracked SETs, USE and text PREPARE run on the connection the session
// holds and are replayed on a connection borrowed later.
func TestTrackedStateReplayed(t *testing.T) {
	addr, _ := startProxy(t)
	db := openDB(t, addr, "app")
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"SET time_zone = '+05:00'",
		"SET SESSION sql_mode = 'ANSI_QUOTES'",
		"USE mysql",
		"PREPARE s1 FROM 'SELECT 41 + ?'",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	check := func(where string, wantID int) {
		t.Helper()
		var tz, mode, dbName string
		var sid int
		if err := conn.QueryRowContext(ctx, "SELECT @@time_zone, @@sql_mode, DATABASE(), (SELECT id FROM app.whoami)").Scan(&tz, &mode, &dbName, &sid); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if tz != "+05:00" || mode != "ANSI_QUOTES" || dbName != "mysql" || sid != wantID {
			t.Errorf("%s: time_zone %q, sql_mode %q, database %q on %d", where, tz, mode, dbName, sid)
		}
	}
	check("replica", 2)
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	check("primary, borrowed after the SETs", 1)
	if _, err := conn.ExecContext(ctx, "SET @a = 1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "EXECUTE s1 USING @a").Scan(&n); err != nil || n != 42 {
		t.Errorf("text prepared statement replayed on the primary: %d, %v", n, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
}

// A session command the server refuses leaves no trace: the next
// connection the session borrows is not refused for it.
func TestRefusedSessionCommandNotReplayed(t *testing.T) {
	addr, _ := startProxy(t)
	db := openDB(t, addr, "app")
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET time_zone = 'Nowhere/Bogus'"); err == nil {
		t.Fatal("a bad time zone was accepted")
	}
	if _, err := conn.ExecContext(ctx, "USE no_such_db"); err == nil {
		t.Fatal("USE of a missing database was accepted")
	}
	var dbName string
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil || dbName != "app" {
		t.Errorf("database after a refused USE: %q, %v", dbName, err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatalf("BEGIN on a newly borrowed primary connection: %v", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil || dbName != "app" {
		t.Errorf("database on the primary: %q, %v", dbName, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
}
