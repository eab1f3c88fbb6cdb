package flows

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// The built-in review reads scripts through internal/sql: the statements
// its splitter finds, the kinds in its vocabulary, parse errors at their
// place in the script, and what the built-in executor cannot run.
func TestParseCheck(t *testing.T) {
	tests := []struct {
		name     string
		engine   engine.Kind
		script   string
		stmts    int
		kinds    string
		findings []string // rule@line:col
		manual   bool
	}{
		{"mariadb ok", engine.MariaDB, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10));\n-- a comment; with a semicolon\nINSERT INTO t VALUES (1, 'a;b');\nUPDATE t SET v = 'y' WHERE id = 2",
			3, "ddl,dml", nil, false},
		// "--1" is no comment in MariaDB: a minus and a negative number.
		{"double minus", engine.MariaDB, "UPDATE t SET a = a--1;\nDELETE FROM t WHERE id = 2;", 2, "dml", nil, false},
		{"delimiter block", engine.MariaDB, "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\nSELECT 3;",
			2, "ddl,query", []string{"manual-review@2:1"}, true},
		{"mariadb syntax error", engine.MariaDB, "UPDATE t SET a = 1 WHERE;", 1, "dml", []string{"syntax@1:25"}, false},
		{"postgres errors and txn", engine.Postgres, "SELECT 1;\nSELEC 2;\nBEGIN", 3, "query,txn,other",
			[]string{"syntax@2:1", "transaction-control@3:1"}, false},
		{"set autocommit", engine.MariaDB, "SET autocommit = 0;\nINSERT INTO t VALUES (1)", 2, "dml,txn", []string{"transaction-control@1:1"}, false},
		{"psql meta-command", engine.Postgres, "\\connect other\nSELECT 1;", 2, "query,other", []string{"client-command@1:1"}, false},
		{"only comments", engine.Postgres, "-- nothing\n/* at all */", 0, "", []string{"empty@1:1"}, false},
		// Nesting that would crash PostgreSQL's parser is refused before it runs.
		{"too deep", engine.Postgres, "SELECT 1" + strings.Repeat("+1", 40000), 1, "query", []string{"limit@1:2009"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := parseCheck(tt.engine, tt.script)
			var got []string
			for _, f := range rep.Findings {
				got = append(got, fmt.Sprintf("%s@%d:%d", f.Rule, f.Line, f.Column))
			}
			if rep.Statements != tt.stmts || strings.Join(rep.Kinds, ",") != tt.kinds || strings.Join(got, " ") != strings.Join(tt.findings, " ") || rep.Manual != tt.manual {
				t.Fatalf("statements %d kinds %v findings %v manual %v\nwant %d %s %v %v\n%+v", rep.Statements, rep.Kinds, got, rep.Manual, tt.stmts, tt.kinds, tt.findings, tt.manual, rep.Findings)
			}
		})
	}
}

// The built-in executor wraps in a transaction only what a transaction
// protects: DML on MariaDB/MySQL (DDL commits implicitly), everything on
// PostgreSQL but transaction control and what refuses a transaction block.
func TestTransactional(t *testing.T) {
	tests := []struct {
		engine engine.Kind
		sql    string
		want   bool
	}{
		{engine.MariaDB, "INSERT INTO t VALUES (1)", true},
		{engine.MariaDB, "UPDATE t SET a = 1", true},
		{engine.MariaDB, "CREATE TABLE t (id INT)", false},
		{engine.MariaDB, "SELECT 1", false},
		{engine.MariaDB, "UPDATE t SET a = WHERE", false}, // does not parse
		{engine.Postgres, "CREATE TABLE t (id int)", true},
		{engine.Postgres, "INSERT INTO t VALUES (1)", true},
		{engine.Postgres, "CREATE INDEX CONCURRENTLY i ON t (id)", false},
		{engine.Postgres, "VACUUM t", false},
		{engine.Postgres, "CREATE DATABASE d", false},
		{engine.Postgres, "COMMIT", false},
	}
	for _, tt := range tests {
		stmts := readScript(dialect(tt.engine), tt.sql)
		if len(stmts) != 1 {
			t.Fatalf("%s: %d statements", tt.sql, len(stmts))
		}
		if got := stmts[0].transactional(dialect(tt.engine)); got != tt.want {
			t.Errorf("%s %q: transactional %v, want %v (class %+v)", tt.engine, tt.sql, got, tt.want, stmts[0].Class)
		}
	}
}
