package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Each server error a caller can provoke is classified (classes 22 and 42:
// the caller's mistakes, Invalid; refusals Forbidden/Unauthorized) and
// keeps its SQLSTATE on the error; a NUL byte in a statement is the
// caller's mistake too, not an unavailable server.
func TestServerErrors(t *testing.T) {
	primary := shared.Get(t).primary
	db := fmt.Sprintf("errs_%d", time.Now().UnixNano()%1e9)
	primary.CreateDatabase(t, db)
	root := open(t, primary, db)
	ctx := context.Background()
	role := "lim" + db[5:]
	for _, st := range []string{
		"CREATE TABLE t (id int PRIMARY KEY, email text NOT NULL)",
		"INSERT INTO t VALUES (1, 'alice@example.com')",
		"CREATE ROLE " + role + " LOGIN PASSWORD 'lim-pass-1'",
	} {
		if _, err := root.Exec(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	tg := target(primary, db)
	tg.User, tg.Password = role, "lim-pass-1"
	lc, err := New().Open(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	sess, err := root.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Exec(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		conn  engine.Conn
		sql   string
		state string
		kind  errkind.Kind
	}{
		{"invalid text", root, "SELECT email::int FROM t", "22P02", errkind.Invalid},
		{"out of range", root, "SELECT 99999999999::int", "22003", errkind.Invalid},
		{"division by zero", root, "SELECT 1/0", "22012", errkind.Invalid},
		{"syntax", root, "SELEC 1", "42601", errkind.Invalid},
		{"undefined column", root, "SELECT nocol FROM t", "42703", errkind.Invalid},
		{"undefined function", root, "SELECT no_such_function(1)", "42883", errkind.Invalid},
		{"datatype mismatch", root, "SELECT 1 WHERE 1", "42804", errkind.Invalid},
		{"ambiguous column", root, "SELECT id FROM t a, t b", "42702", errkind.Invalid},
		{"grouping", root, "SELECT id, count(*) FROM t", "42803", errkind.Invalid},
		{"undefined table", root, "SELECT * FROM no_such_table", "42P01", errkind.NotFound},
		{"cardinality", root, "SELECT (SELECT generate_series(1, 2))", "21000", errkind.Invalid},
		{"read-only transaction", sess, "CREATE TABLE u (a int)", "25006", errkind.Invalid},
		{"not null", root, "INSERT INTO t (id) VALUES (2)", "23502", errkind.Conflict},
		{"insufficient privilege", lc, "SELECT * FROM t", "42501", errkind.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.conn.Query(ctx, 10, tt.sql)
			var se *engine.ServerError
			if !errors.As(err, &se) {
				t.Fatalf("%v: no engine.ServerError in the chain", err)
			}
			if se.SQLState != tt.state || se.Code != 0 || errkind.Of(err) != tt.kind || se.Short() != "error "+tt.state {
				t.Errorf("%v: %s (%s) kind %v, want %s %v", err, se.SQLState, se.Short(), errkind.Of(err), tt.state, tt.kind)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		bad := target(primary, db)
		bad.Password = wrongPassword
		_, err := New().Open(ctx, bad)
		var se *engine.ServerError
		if !errors.As(err, &se) || se.SQLState != "28P01" || !errkind.Is(err, errkind.Unauthorized) {
			t.Errorf("%v: want 28P01, unauthorized", err)
		}
	})
	t.Run("NUL byte", func(t *testing.T) {
		for _, c := range []engine.Conn{root, sess} {
			_, _, err := c.Query(ctx, 10, "SELECT 1 \x00 AND 2")
			if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), "NUL byte") || !strings.Contains(err.Error(), "at byte 10") {
				t.Errorf("query with NUL: %v (%v), want invalid naming the byte", err, errkind.Of(err))
			}
			if _, err := c.Exec(ctx, "SELECT '\x00'"); !errkind.Is(err, errkind.Invalid) {
				t.Errorf("exec with NUL: %v (%v), want invalid", err, errkind.Of(err))
			}
			// The connection (a session too) is still there.
			if _, _, err := c.Query(ctx, 1, "SELECT 1"); err != nil {
				t.Errorf("after the NUL byte: %v", err)
			}
		}
	})
}
