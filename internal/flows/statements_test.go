package flows

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// review.kinds reads scripts through internal/sql: the statements its
// splitter finds, listed by kind in its vocabulary.
func TestScriptKinds(t *testing.T) {
	tests := []struct {
		name   string
		engine engine.Kind
		script string
		stmts  int
		kinds  string
	}{
		{"mariadb ok", engine.MariaDB, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10));\n-- a comment; with a semicolon\nINSERT INTO t VALUES (1, 'a;b');\nUPDATE t SET v = 'y' WHERE id = 2",
			3, "ddl,dml"},
		// "--1" is no comment in MariaDB: a minus and a negative number.
		{"double minus", engine.MariaDB, "UPDATE t SET a = a--1;\nDELETE FROM t WHERE id = 2;", 2, "dml"},
		{"delimiter block", engine.MariaDB, "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\nSELECT 3;",
			2, "ddl,query"},
		{"mariadb syntax error", engine.MariaDB, "UPDATE t SET a = 1 WHERE;", 1, "dml"},
		{"postgres errors and txn", engine.Postgres, "SELECT 1;\nSELEC 2;\nBEGIN", 3, "query,txn,other"},
		{"set autocommit", engine.MariaDB, "SET autocommit = 0;\nINSERT INTO t VALUES (1)", 2, "dml,txn"},
		{"psql meta-command", engine.Postgres, "\\connect other\nSELECT 1;", 2, "query,other"},
		{"only comments", engine.Postgres, "-- nothing\n/* at all */", 0, ""},
		// Nesting that would crash PostgreSQL's parser is refused before it runs.
		{"too deep", engine.Postgres, "SELECT 1" + strings.Repeat("+1", 40000), 1, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts := readScript(dialect(tt.engine), tt.script)
			if kinds := scriptKinds(stmts); len(stmts) != tt.stmts || strings.Join(kinds, ",") != tt.kinds {
				t.Fatalf("statements %d kinds %v, want %d %s", len(stmts), kinds, tt.stmts, tt.kinds)
			}
		})
	}
}
