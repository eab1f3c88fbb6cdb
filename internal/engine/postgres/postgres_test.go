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
	"github.com/dbfleet/dbfleet/internal/engine/enginetest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// pair is a primary and its replica, shared by the integration tests.
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

func open(t *testing.T, p *testenv.Postgres, db string) *Conn {
	t.Helper()
	return enginetest.Open(t, New(), target(p, db), wrongPassword).(*Conn)
}

// TestConformance runs the adapter contract every engine keeps.
func TestConformance(t *testing.T) {
	p := shared.Get(t)
	primary, replica := p.primary, p.replica
	db := fmt.Sprintf("conformance_%d", time.Now().UnixNano()) // -count=N reuses the shared server
	primary.CreateDatabase(t, db)
	tg := target(primary, "")
	enginetest.Run(t, enginetest.Setup{
		Driver:         New(),
		Kinds:          []engine.Kind{engine.Postgres},
		Primary:        tg,
		Replicas:       []engine.Target{target(replica, "")},
		Secrets:        []string{wrongPassword},
		WrongPasswords: []string{wrongPassword},
		WhereWords:     []string{"postgres", tg.User},
		Version:        func(v string) bool { return strings.HasPrefix(v, "1") },
		Variables:      []string{"shared_buffers", "fsync", "no_such_setting"},
		WantVariables:  map[string]string{"shared_buffers": "16MB", "fsync": "off"},
		AllVariables:   100,
		AllVariable:    [2]string{"wal_level", "replica"},
		StatusKeys:     []string{"xact_commit", "xact_rollback", "blks_hit", "numbackends", "deadlocks", "tup_inserted", "buffers_alloc"},
		CheckStatus: func(t *testing.T, status map[string]string) {
			if status["numbackends"] == "0" {
				t.Errorf("numbackends 0 while connected")
			}
		},
		Table: enginetest.Table{
			Database: db,
			Target:   target(primary, db),
			Create: func(t *testing.T, c engine.Conn) {
				for _, s := range []string{"DROP TABLE IF EXISTS t", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1), (2), (3), (4), (5)"} {
					if _, err := c.Exec(context.Background(), s); err != nil {
						t.Fatal(err)
					}
				}
			},
			All:       "SELECT id FROM t ORDER BY id",
			None:      "SELECT id FROM t WHERE id < 0",
			Bad:       "SELEC nonsense",
			Duplicate: "INSERT INTO t (id) VALUES (1)",
			Missing:   "SELECT * FROM no_such_table",
			Sleep:     "SELECT pg_sleep(5)",
			Streams:   true,
		},
		ReplicaState:    "streaming",
		ReplicaLagBytes: true,
		CheckReplica: func(t *testing.T, p, r engine.Replication) {
			if r.GTIDCurrent == "" || r.Source.IOState != "streaming" {
				t.Errorf("replica: gtid_current %q source %+v", r.GTIDCurrent, r.Source)
			}
		},
	})
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
}
