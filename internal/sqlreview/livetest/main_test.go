// Package livetest checks the SQL review's live-schema rules against real
// MariaDB and PostgreSQL servers from testenv, shared by the package's
// tests, and benchmarks a review with live checks.
package livetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/sqlreview/reviewbench"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// The servers the tests share, set by the setup of shared: the first test
// that calls live starts and seeds them.
var (
	maria *testenv.MariaDB
	pg    *testenv.Postgres
)

var shared = testenv.Share(func(tb testing.TB) struct{} {
	maria = testenv.StartMariaDB(tb)
	pg = testenv.StartPostgres(tb)
	// shop: the schema the rule tests review against. big has rows
	// enough for the large-table rules (their thresholds are lowered
	// in the tests).
	maria.Exec(tb,
		"CREATE DATABASE shop",
		`CREATE TABLE shop.orders (
			id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
			account_id BIGINT UNSIGNED NOT NULL DEFAULT 0,
			status TINYINT NOT NULL DEFAULT 0,
			note VARCHAR(100) NOT NULL DEFAULT '',
			amount DECIMAL(12,2) NOT NULL DEFAULT 0,
			KEY idx_account (account_id),
			KEY idx_status_account (status, account_id)
		) ENGINE=InnoDB`,
		"USE shop",
		"INSERT INTO shop.orders (account_id, status, note) SELECT seq % 100, seq % 3, CONCAT('n', seq) FROM seq_1_to_20000",
		"ANALYZE TABLE shop.orders",
		"CREATE TABLE shop.small (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT '')",
		"INSERT INTO shop.small (id, name) VALUES (1, 'a'), (2, 'b')",
		"CREATE DATABASE bench",
	)
	maria.Exec(tb, append([]string{"USE bench"}, reviewbench.Schema(2000)...)...)
	pg.CreateDatabase(tb, "shop")
	pgExec(tb, "shop",
		"CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL DEFAULT 0, status smallint NOT NULL DEFAULT 0, note varchar(100) NOT NULL DEFAULT '')",
		"CREATE INDEX idx_account ON orders (account_id)",
		"INSERT INTO orders (account_id, status, note) SELECT g % 100, g % 3, 'n' || g FROM generate_series(1, 20000) g",
		"ANALYZE orders",
		"CREATE SCHEMA app",
		"CREATE TABLE app.items (id int PRIMARY KEY, name text NOT NULL DEFAULT '')",
	)
	return struct{}{}
})

// live starts the shared servers if no test has yet; it skips t under
// -short. Every test of the package calls it first.
func live(t testing.TB) {
	t.Helper()
	shared.Get(t)
}

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// pgExec runs statements on a PostgreSQL database through the adapter.
func pgExec(tb testing.TB, db string, stmts ...string) {
	tb.Helper()
	c := openConn(tb, engine.Postgres, db)
	for _, s := range stmts {
		if _, err := c.Exec(context.Background(), s); err != nil {
			tb.Fatalf("%s: %v", s, err)
		}
	}
}

var connMu sync.Mutex

// openConn connects through the engine adapter, as inventory.Connect does.
func openConn(tb testing.TB, kind engine.Kind, db string) engine.Conn {
	tb.Helper()
	connMu.Lock()
	defer connMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c engine.Conn
	var err error
	switch kind {
	case engine.Postgres:
		c, err = postgres.New().Open(ctx, engine.Target{Engine: engine.Postgres, Host: pg.Host, Port: pg.Port, User: pg.User, Password: pg.Password, Database: db})
	default:
		c, err = mysql.New().Open(ctx, engine.Target{Engine: kind, Host: maria.Host, Port: maria.Port, User: maria.User, Password: maria.Password, Database: db})
	}
	if err != nil {
		tb.Fatalf("connect to %s %s: %v", kind, db, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// countingConn counts the queries a review sends.
type countingConn struct {
	engine.Conn
	mu      sync.Mutex
	queries []string
}

func (c *countingConn) Query(ctx context.Context, maxRows int, stmt string, args ...any) (*engine.Rows, bool, error) {
	c.mu.Lock()
	c.queries = append(c.queries, stmt)
	c.mu.Unlock()
	return c.Conn.Query(ctx, maxRows, stmt, args...)
}

// liveCase is one case of a live rule's table test.
type liveCase struct {
	name   string
	engine string // default mariadb
	db     string // default shop
	sql    string
	want   []string // "line:col" of the rule's findings
	msg    string
	params map[string]any
}

// reviewerFor returns a Reviewer where only rule id runs, at error level,
// built through the public rule-file format.
func reviewerFor(t *testing.T, id string, params map[string]any) *sqlreview.Reviewer {
	t.Helper()
	var b strings.Builder
	b.WriteString("rules:\n")
	all, _ := sqlreview.New(sqlreview.Config{})
	for _, ri := range all.Rules("", "") {
		if ri.ID != id {
			fmt.Fprintf(&b, "  %s: off\n", ri.ID)
		}
	}
	fmt.Fprintf(&b, "  %s:\n    level: error\n", id)
	if len(params) > 0 {
		b.WriteString("    params:\n")
		for k, v := range params {
			fmt.Fprintf(&b, "      %s: %v\n", k, v)
		}
	}
	rf, err := sqlreview.ParseRuleFile("test.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	rv, err := sqlreview.New(sqlreview.Config{Rules: rf})
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func runLive(t *testing.T, id string, cases []liveCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng, db := tc.engine, tc.db
			if eng == "" {
				eng = "mariadb"
			}
			if db == "" {
				db = "shop"
			}
			conn := openConn(t, engine.Kind(eng), db)
			rep, err := reviewerFor(t, id, tc.params).Review(t.Context(), sqlreview.Request{Engine: eng, SQL: tc.sql, Conn: conn})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Live {
				t.Fatalf("live checks did not run: %+v", rep.Findings)
			}
			var got, all []string
			var first *sqlreview.Finding
			for i, f := range rep.Findings {
				all = append(all, fmt.Sprintf("%d:%d %s: %s", f.Line, f.Column, f.Rule, f.Message))
				if f.Rule != id {
					t.Errorf("unexpected finding %s: %s", f.Rule, f.Message)
					continue
				}
				got = append(got, fmt.Sprintf("%d:%d", f.Line, f.Column))
				if first == nil {
					first = &rep.Findings[i]
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("findings at %v, want %v\n%s", got, tc.want, strings.Join(all, "\n"))
			}
			if tc.msg != "" && !strings.Contains(first.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", first.Message, tc.msg)
			}
		})
	}
}
