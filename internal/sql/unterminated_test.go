package sql

import "testing"

func TestUnterminated(t *testing.T) {
	tests := []struct {
		d    Dialect
		text string
		off  int
		what string // "" when everything is closed
	}{
		{MySQL, "SELECT 'abc", 7, "' quote"},
		{MySQL, `SELECT 'a\'`, 7, "' quote"},
		{Postgres, `SELECT 'a\'`, 0, ""},
		{Postgres, `SELECT E'a\'`, 8, "' quote"},
		{MySQL, "SELECT 'it''s'", 0, ""},
		{MySQL, `SELECT "x`, 7, `" quote`},
		{Postgres, `SELECT "x`, 7, `" quote`},
		{MySQL, "SELECT `x", 7, "` quote"},
		{Postgres, "SELECT `x", 0, ""},
		{MySQL, "SELECT 1 /* x", 9, "/* comment"},
		{MySQL, "SELECT 1 /* x */", 0, ""},
		{MySQL, "SELECT 1 /**/", 0, ""},
		{MySQL, "SELECT 1 -- x", 0, ""},
		{MySQL, "SELECT 1 # x '", 0, ""},
		{MySQL, "SELECT '*/' /* ' */", 0, ""},
		{Postgres, "SELECT 1 /* a /* b */", 9, "/* comment"},
		{MySQL, "SELECT 1 /* a /* b */", 0, ""},
		{Postgres, "SELECT $$abc", 7, "$$ quote"},
		{Postgres, "DO $b$ BEGIN END $b$", 0, ""},
		{Postgres, "DO $b$ BEGIN END $c$", 3, "$b$ quote"},
		{Postgres, "SELECT $1", 0, ""},
		{MySQL, "SELECT a$b FROM t", 0, ""},
		{MariaDB, "/*M! DELETE FROM t", 0, "/*M! comment"},
		{MySQL, "/*M! DELETE FROM t", 0, "/* comment"},
		{MariaDB, "/*!40101 SET NAMES utf8mb4 */", 0, ""},
		{MariaDB, "/*!40101 SET NAMES utf8mb4", 0, "/*! comment"},
		{MariaDB, "/*!40101 SELECT '*/'", 0, "/*! comment"},
		{MySQL, "", 0, ""},
	}
	for _, tt := range tests {
		off, what, ok := Unterminated(tt.text, tt.d)
		if ok != (tt.what != "") || what != tt.what || (ok && off != tt.off) {
			t.Errorf("%v %q: (%d, %q, %v), want (%d, %q)", tt.d, tt.text, off, what, ok, tt.off, tt.what)
		}
	}
}

// TestUnterminatedOnlyInLastStatement checks the premise callers rely on:
// in a split script only the last statement can be left open.
func TestUnterminatedOnlyInLastStatement(t *testing.T) {
	for _, tt := range []struct {
		d   Dialect
		src string
	}{
		{MySQL, "SELECT 1; SELECT 'a;\nSELECT 2;"},
		{MariaDB, "UPDATE t SET a = 1 /* note;\n; SELECT 3"},
		{Postgres, "SELECT 1; SELECT $$x; SELECT 2;"},
	} {
		stmts := Split(tt.src, tt.d)
		for i, s := range stmts {
			_, _, open := Unterminated(s.Text, tt.d)
			if last := i == len(stmts)-1; open != last {
				t.Errorf("%q statement %d %q: open %v, want %v", tt.src, i+1, s.Text, open, last)
			}
		}
	}
}
