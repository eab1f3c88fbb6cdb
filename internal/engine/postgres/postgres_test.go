package postgres

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// pair is a primary and its streaming replica, shared by the integration
// tests.
type pair struct{ primary, replica *testenv.Postgres }

// shared starts the pair for the first test that needs it.
var shared = testenv.Share(func(tb testing.TB) pair {
	p := testenv.StartPostgres(tb)
	return pair{p, testenv.StartPostgresReplica(tb, p)}
})

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const wrongPassword = "wr0ng-Pa55word-never-shown"

func target(p *testenv.Postgres, db string) engine.Target {
	return engine.Target{Engine: engine.Postgres, Host: p.Host, Port: p.Port, User: p.User, Password: p.Password,
		Database: db, ConnectTimeout: 5 * time.Second}
}

func noSecrets(t *testing.T, err error) {
	t.Helper()
	primary := shared.Get(t).primary
	if err == nil {
		return
	}
	for _, s := range []string{primary.Password, wrongPassword} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error message contains a password: %v", err)
		}
	}
}

func open(t *testing.T, p *testenv.Postgres, db string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := engine.NewRegistry(New()).Open(ctx, target(p, db))
	noSecrets(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Conn)
}

func TestConnString(t *testing.T) {
	tg := engine.Target{Host: "db.example", Port: 5433, User: "o'brien", Password: `p a\ss'word`, ConnectTimeout: 1500 * time.Millisecond}
	cs := connString(tg)
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "db.example" || cfg.Port != 5433 || cfg.User != "o'brien" || cfg.Password != `p a\ss'word` ||
		cfg.Database != "postgres" || cfg.ConnectTimeout != 2*time.Second {
		t.Errorf("parsed %q as host=%q port=%d user=%q password=%q db=%q timeout=%s",
			cs, cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database, cfg.ConnectTimeout)
	}
}

func TestConninfoHostPort(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
	}{
		{"user=repl password=secret host=10.0.0.1 port=5433 sslmode=prefer", "10.0.0.1", 5433},
		{`host='db one' password='it\'s' port = 6000`, "db one", 6000},
		{`password='a\'b' hostaddr=10.0.0.9`, "10.0.0.9", 5432},
		{"", "", 5432},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, p := conninfoHostPort(tt.in)
			if h != tt.host || p != tt.port {
				t.Errorf("conninfoHostPort(%q) = %q %d, want %q %d", tt.in, h, p, tt.host, tt.port)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	primary := shared.Get(t).primary
	c := open(t, primary, "")
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := engine.Inspect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.Version, "1") || info.Uptime <= 0 {
		t.Errorf("version %q uptime %v", info.Version, info.Uptime)
	}
	vars, err := c.Variables(ctx, "shared_buffers", "fsync", "no_such_setting")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"shared_buffers": "16MB", "fsync": "off"}; !reflect.DeepEqual(vars, want) {
		t.Errorf("Variables = %v, want %v", vars, want)
	}
	all, err := c.Variables(ctx)
	if err != nil || len(all) < 100 || all["wal_level"] != "replica" {
		t.Errorf("Variables() has %d entries, wal_level=%q, %v", len(all), all["wal_level"], err)
	}
	status, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"xact_commit", "xact_rollback", "blks_hit", "numbackends", "deadlocks", "tup_inserted", "buffers_alloc"} {
		if _, ok := status[k]; !ok {
			t.Errorf("status lacks %s: %v", k, status)
		}
	}
	if status["numbackends"] == "0" {
		t.Errorf("numbackends 0 while connected")
	}
}

func TestExecQuery(t *testing.T) {
	primary := shared.Get(t).primary
	db := fmt.Sprintf("exec_query_%d", time.Now().UnixNano()) // -count=N reuses the shared server
	primary.CreateDatabase(t, db)
	c := open(t, primary, db)
	ctx := context.Background()
	if _, err := c.Exec(ctx, `CREATE TABLE t (id serial PRIMARY KEY, name text, price numeric(10,2), ratio float8,
		data bytea, at timestamptz, ok bool, u uuid, doc jsonb, small int2, note text)`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := 1; i <= 5; i++ {
		res, err := c.Exec(ctx, "INSERT INTO t (name, price, ratio, data, at, ok, u, doc, small) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			fmt.Sprintf("n%d", i), "12.30", 0.5, []byte{0, byte(i)}, at, true, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `{"a": 1}`, 7)
		if err != nil {
			t.Fatal(err)
		}
		if res.RowsAffected != 1 {
			t.Errorf("insert %d: %+v", i, res)
		}
	}
	if res, err := c.Exec(ctx, "UPDATE t SET ratio = ratio * 2 WHERE id > $1", 3); err != nil || res.RowsAffected != 2 {
		t.Errorf("update: %+v, %v", res, err)
	}

	wantCols := []string{"id", "name", "price", "ratio", "data", "at", "ok", "u", "doc", "small", "note"}
	wantRow := []any{int64(1), "n1", "12.30", 0.5, []byte{0, 1}, at, true, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", `{"a":1}`, int64(7), nil}
	for _, args := range [][]any{{1}, nil} { // extended and simple protocol
		q := "SELECT id, name, price, ratio, data, at, ok, u, doc, small, note FROM t WHERE id = $1"
		if args == nil {
			q = strings.Replace(q, "$1", "1", 1)
		}
		rows, truncated, err := c.Query(ctx, 0, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		if truncated || !reflect.DeepEqual(rows.Columns, wantCols) || len(rows.Values) != 1 {
			t.Fatalf("Query(%v) = %v %v truncated=%v", args, rows.Columns, rows.Values, truncated)
		}
		got := rows.Values[0]
		if tm, ok := got[5].(time.Time); ok {
			got[5] = tm.UTC()
		}
		if !reflect.DeepEqual(got, wantRow) {
			t.Errorf("Query(%v) row = %#v, want %#v", args, got, wantRow)
		}
	}

	for _, tt := range []struct {
		max       int
		wantRows  int
		truncated bool
	}{{0, 5, false}, {3, 3, true}, {5, 5, false}, {10, 5, false}} {
		rows, truncated, err := c.Query(ctx, tt.max, "SELECT id FROM t ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows.Values) != tt.wantRows || truncated != tt.truncated {
			t.Errorf("maxRows %d: %d rows truncated=%v, want %d %v", tt.max, len(rows.Values), truncated, tt.wantRows, tt.truncated)
		}
	}
	// The connection is usable after a truncated read.
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	_, _, err := c.Query(ctx, 0, "SELEC nonsense")
	noSecrets(t, err)
	if !errkind.Is(err, errkind.Invalid) {
		t.Errorf("syntax error kind %v: %v", errkind.Of(err), err)
	}
	_, err = c.Exec(ctx, "INSERT INTO t (id) VALUES (1)")
	if !errkind.Is(err, errkind.Conflict) {
		t.Errorf("duplicate key kind %v: %v", errkind.Of(err), err)
	}
	_, _, err = c.Query(ctx, 0, "SELECT * FROM no_such_table")
	if !errkind.Is(err, errkind.NotFound) {
		t.Errorf("missing table kind %v: %v", errkind.Of(err), err)
	}

	// A cancelled query breaks nothing for the next call.
	qctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, _, err = c.Query(qctx, 0, "SELECT pg_sleep(5)")
	cancel()
	if err == nil {
		t.Fatal("pg_sleep(5) finished within 100ms")
	}
	if _, _, err := c.Query(ctx, 0, "SELECT 1"); err != nil {
		t.Errorf("after a cancelled query: %v", err)
	}
}

func TestWrongPassword(t *testing.T) {
	primary := shared.Get(t).primary
	tg := target(primary, "")
	tg.Password = wrongPassword
	_, err := New().Open(context.Background(), tg)
	if !errkind.Is(err, errkind.Unauthorized) {
		t.Fatalf("kind %v, want unauthorized: %v", errkind.Of(err), err)
	}
	noSecrets(t, err)
	t.Logf("error: %v", err)
	for _, want := range []string{"postgres", tg.User, tg.Addr()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	primary := shared.Get(t).primary
	tests := []struct {
		name string
		port int
	}{
		{"refused", testenv.FreePort(t)},
		{"silent", testenv.SilentPort(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(primary, "")
			tg.Port = tt.port
			tg.ConnectTimeout = time.Second
			began := time.Now()
			_, err := New().Open(context.Background(), tg)
			if !errkind.Is(err, errkind.Unavailable) {
				t.Errorf("kind %v, want unavailable: %v", errkind.Of(err), err)
			}
			if d := time.Since(began); d > 3*time.Second {
				t.Errorf("took %s with a 1s connect timeout", d)
			}
			noSecrets(t, err)
			t.Logf("error after %s: %v", time.Since(began).Round(time.Millisecond), err)
			if err != nil && !strings.Contains(err.Error(), tg.Addr()) {
				t.Errorf("error %q does not name %s", err, tg.Addr())
			}
		})
	}
}

func TestReplication(t *testing.T) {
	replica := shared.Get(t).replica
	primary := shared.Get(t).primary
	ctx := context.Background()
	p, err := open(t, primary, "").Replication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != engine.RolePrimary || p.ReadOnly || p.Source != nil || p.GTIDCurrent == "" {
		t.Errorf("primary: %+v", p)
	}
	if len(p.Replicas) != 1 || p.Replicas[0].Host != "127.0.0.1" || p.Replicas[0].State != "streaming" || p.Replicas[0].LagBytes == nil {
		t.Errorf("primary's replicas: %+v", p.Replicas)
	}

	r, err := open(t, replica, "").Replication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Role != engine.RoleReplica || !r.ReadOnly || r.Source == nil || r.GTIDCurrent == "" {
		t.Fatalf("replica: %+v", r)
	}
	s := r.Source
	if s.Host != "127.0.0.1" || s.Port != primary.Port || !s.IORunning || !s.SQLRunning || s.IOState != "streaming" ||
		s.LagSeconds == nil || s.LastError != "" {
		t.Errorf("replica's source: %+v", s)
	}
	if len(r.Replicas) != 0 {
		t.Errorf("replica has replicas: %+v", r.Replicas)
	}
}
