package mysql

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

// Each server error a caller can provoke is classified (the caller's
// mistakes Invalid, refusals Forbidden/Unauthorized) and keeps its number
// and SQLSTATE on the error.
func TestServerErrors(t *testing.T) {
	cluster := shared.Get(t)
	p := cluster.Primary()
	db := fmt.Sprintf("errs_%d", time.Now().UnixNano()%1e9)
	user := "lim" + db[5:]
	p.Exec(t,
		"CREATE DATABASE "+db,
		"CREATE TABLE "+db+".t (id INT PRIMARY KEY, secret INT)",
		"CREATE USER '"+user+"'@'%' IDENTIFIED BY 'lim-pass-1'",
		"GRANT SELECT (id) ON "+db+".t TO '"+user+"'@'%'",
	)
	ctx := context.Background()
	tg := target(p)
	tg.Database = db
	root, err := New().Open(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tg.User, tg.Password = user, "lim-pass-1"
	lim, err := New().Open(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	sess, err := root.(*Conn).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Exec(ctx, "START TRANSACTION READ ONLY"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		conn  engine.Conn
		sql   string
		code  int
		state string
		kind  errkind.Kind
	}{
		{"unknown function", root, "SELECT no_such_function(1)", 1305, "42000", errkind.Invalid},
		{"read-only transaction", sess, "INSERT INTO t VALUES (1, 1)", 1792, "25006", errkind.Invalid},
		{"XPATH syntax", root, "SELECT EXTRACTVALUE('<a/>', '~13812345678')", 1105, "HY000", errkind.Invalid},
		{"out of range", root, "SELECT CAST(0 AS UNSIGNED) - 1", 1690, "22003", errkind.Invalid},
		{"syntax", root, "SELEC 1", 1064, "42000", errkind.Invalid},
		{"unknown table", root, "SELECT * FROM no_such_table", 1146, "42S02", errkind.NotFound},
		{"unknown column", root, "SELECT no_such_column FROM t", 1054, "42S22", errkind.Invalid},
		{"subquery rows", root, "SELECT (SELECT 1 UNION SELECT 2)", 1242, "21000", errkind.Invalid},
		{"table denied", lim, "INSERT INTO t (id) VALUES (2)", 1142, "42000", errkind.Forbidden},
		{"column denied", lim, "SELECT secret FROM t", 1143, "42000", errkind.Forbidden},
		{"database denied", lim, "SHOW TABLES FROM mysql", 1044, "42000", errkind.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.conn.Query(ctx, 10, tt.sql)
			checkServerError(t, err, tt.code, tt.state, tt.kind)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		bad := target(p)
		bad.Password = wrongPassword
		_, err := New().Open(ctx, bad)
		checkServerError(t, err, 1045, "28000", errkind.Unauthorized)
		noSecrets(t, err)
	})
}

func checkServerError(t *testing.T, err error, code int, state string, kind errkind.Kind) {
	t.Helper()
	var se *engine.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("%v: no engine.ServerError in the chain", err)
	}
	if se.Code != code || se.SQLState != state || errkind.Of(err) != kind {
		t.Errorf("%v: code %d (%s) kind %v, want %d (%s) %v", err, se.Code, se.SQLState, errkind.Of(err), code, state, kind)
	}
	if want := fmt.Sprintf("error %d (%s)", code, state); se.Short() != want || strings.Contains(se.Short(), "13812345678") {
		t.Errorf("Short() = %q, want %q", se.Short(), want)
	}
}
