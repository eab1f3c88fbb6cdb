package sql

import (
	"strings"
	"testing"
)

type wantStmt struct {
	text      string
	line, col int
	delim     string
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		d    Dialect
		src  string
		want []wantStmt
	}{
		{"simple", MySQL, "SELECT 1;\nSELECT 2;", []wantStmt{{"SELECT 1", 1, 1, ";"}, {"SELECT 2", 2, 1, ";"}}},
		{"no final delimiter and blank lines", MySQL, "\n\n  UPDATE t SET a = 1 WHERE id = 2  \n", []wantStmt{{"UPDATE t SET a = 1 WHERE id = 2", 3, 3, ";"}}},
		{"semicolons in quotes", MySQL, "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`);SELECT ';'", []wantStmt{{"INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)", 1, 1, ";"}, {"SELECT ';'", 1, 44, ";"}}},
		{"backslash escapes in mysql strings", MySQL, `SELECT 'it\'s;'; SELECT "a\";b"; SELECT 'x''y;'`, []wantStmt{{`SELECT 'it\'s;'`, 1, 1, ";"}, {`SELECT "a\";b"`, 1, 18, ";"}, {`SELECT 'x''y;'`, 1, 34, ";"}}},
		{"comments", MySQL, "-- lead; comment\nSELECT 1 /* ; */ + 1; # hash ; comment\n SELECT 2", []wantStmt{{"SELECT 1 /* ; */ + 1", 2, 1, ";"}, {"SELECT 2", 3, 2, ";"}}},
		{"mysql double dash needs a space", MySQL, "SELECT 1--1;SELECT 2", []wantStmt{{"SELECT 1--1", 1, 1, ";"}, {"SELECT 2", 1, 13, ";"}}},
		{"executable comments", MariaDB, "/*!40101 SET NAMES utf8mb4 */;\n/*M!100100 ALTER TABLE t ADD c INT */;", []wantStmt{{"/*!40101 SET NAMES utf8mb4 */", 1, 1, ";"}, {"/*M!100100 ALTER TABLE t ADD c INT */", 2, 1, ";"}}},
		{"delimiter block", MySQL, "DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND$$\nDELIMITER ;\nSELECT 3;",
			[]wantStmt{{"CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND", 2, 1, "$$"}, {"SELECT 3", 8, 1, ";"}}},
		{"delimiter slashes lower case", MySQL, "delimiter //\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END//\ndelimiter ;\n",
			[]wantStmt{{"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END", 2, 1, "//"}}},
		{"routine body without delimiter", MySQL, "CREATE DEFINER=`root`@`%` PROCEDURE p()\nBEGIN\n  IF 1 THEN SELECT 1; END IF;\n  CASE WHEN 1 THEN SELECT 2; END CASE;\n  lbl: LOOP LEAVE lbl; END LOOP;\nEND;\nSELECT 4;",
			[]wantStmt{{"CREATE DEFINER=`root`@`%` PROCEDURE p()\nBEGIN\n  IF 1 THEN SELECT 1; END IF;\n  CASE WHEN 1 THEN SELECT 2; END CASE;\n  lbl: LOOP LEAVE lbl; END LOOP;\nEND", 1, 1, ";"}, {"SELECT 4", 7, 1, ";"}}},
		{"nested begin and case expression", MySQL, "CREATE FUNCTION f() RETURNS INT BEGIN DECLARE x INT; BEGIN SET x = CASE WHEN 1 THEN 2 END; END; RETURN x; END; SELECT f()",
			[]wantStmt{{"CREATE FUNCTION f() RETURNS INT BEGIN DECLARE x INT; BEGIN SET x = CASE WHEN 1 THEN 2 END; END; RETURN x; END", 1, 1, ";"}, {"SELECT f()", 1, 112, ";"}}},
		{"mariadb anonymous block", MySQL, "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; BEGIN; COMMIT;",
			[]wantStmt{{"BEGIN NOT ATOMIC SELECT 1; SELECT 2; END", 1, 1, ";"}, {"BEGIN", 1, 43, ";"}, {"COMMIT", 1, 50, ";"}}},
		{"transaction begin is not a block", MySQL, "BEGIN;\nUPDATE t SET a=1 WHERE b=2;\nCOMMIT;", []wantStmt{{"BEGIN", 1, 1, ";"}, {"UPDATE t SET a=1 WHERE b=2", 2, 1, ";"}, {"COMMIT", 3, 1, ";"}}},
		{"empty statements", MySQL, ";;SELECT 1;;", []wantStmt{{"SELECT 1", 1, 3, ";"}}},
		{"unterminated quote", MySQL, "SELECT 1; SELECT 'abc;", []wantStmt{{"SELECT 1", 1, 1, ";"}, {"SELECT 'abc;", 1, 11, ";"}}},
		{"unicode columns", MySQL, "SELECT 'é';SELECT 2", []wantStmt{{"SELECT 'é'", 1, 1, ";"}, {"SELECT 2", 1, 12, ";"}}},
		{"crlf", MySQL, "SELECT 1;\r\nSELECT 2;\r\n", []wantStmt{{"SELECT 1", 1, 1, ";"}, {"SELECT 2", 2, 1, ";"}}},

		{"pg dollar quotes", Postgres, "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\nSELECT f();",
			[]wantStmt{{"CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql", 1, 1, ";"}, {"SELECT f()", 2, 1, ";"}}},
		{"pg tagged dollar quotes", Postgres, "DO $body$ BEGIN PERFORM 'x;'; END $body$; SELECT $1;", []wantStmt{{"DO $body$ BEGIN PERFORM 'x;'; END $body$", 1, 1, ";"}, {"SELECT $1", 1, 43, ";"}}},
		{"pg strings have no backslash escapes", Postgres, `SELECT 'a\'; SELECT E'b\';c'; SELECT "x;y" FROM t`, []wantStmt{{`SELECT 'a\'`, 1, 1, ";"}, {`SELECT E'b\';c'`, 1, 14, ";"}, {`SELECT "x;y" FROM t`, 1, 31, ";"}}},
		{"pg nested comments", Postgres, "/* a /* b; */ c; */ SELECT 1; -- x;\nSELECT 2", []wantStmt{{"SELECT 1", 1, 21, ";"}, {"SELECT 2", 2, 1, ";"}}},
		{"pg begin atomic", Postgres, "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;",
			[]wantStmt{{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END", 1, 1, ";"}, {"SELECT 3", 2, 1, ";"}}},
		{"pg meta command", Postgres, "\\connect other\nSELECT 1;", []wantStmt{{"\\connect other", 1, 1, ";"}, {"SELECT 1", 2, 1, ";"}}},
		{"pg delimiter word is sql", Postgres, "DELIMITER $$\n", []wantStmt{{"DELIMITER $$", 1, 1, ";"}}},
		{"pg hash is an operator", Postgres, "SELECT 1 # 2; SELECT 3", []wantStmt{{"SELECT 1 # 2", 1, 1, ";"}, {"SELECT 3", 1, 15, ";"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.src, tt.d)
			if len(got) != len(tt.want) {
				var texts []string
				for _, s := range got {
					texts = append(texts, s.Text)
				}
				t.Fatalf("got %d statements %q, want %d", len(got), texts, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Text != w.text || g.Line != w.line || g.Column != w.col || g.Delimiter != w.delim {
					t.Errorf("statement %d = %q at %d:%d delim %q, want %q at %d:%d delim %q", i+1, g.Text, g.Line, g.Column, g.Delimiter, w.text, w.line, w.col, w.delim)
				}
				if tt.src[g.Start:g.End] != g.Text {
					t.Errorf("statement %d: Start/End do not point at the text", i+1)
				}
			}
			checkCover(t, tt.src, got)
		})
	}
}

func checkCover(t *testing.T, src string, got []Statement) {
	t.Helper()
	if len(got) == 0 {
		return
	}
	var b strings.Builder
	prev := 0
	for i, s := range got {
		if s.SpanStart != prev {
			t.Fatalf("statement %d span starts at %d, want %d", i+1, s.SpanStart, prev)
		}
		if s.Start < s.SpanStart || s.End > s.SpanEnd || s.Start >= s.End {
			t.Fatalf("statement %d text [%d,%d) outside span [%d,%d)", i+1, s.Start, s.End, s.SpanStart, s.SpanEnd)
		}
		b.WriteString(src[s.SpanStart:s.SpanEnd])
		prev = s.SpanEnd
	}
	if b.String() != src {
		t.Fatalf("spans do not concatenate to the input")
	}
}

func TestSplitKinds(t *testing.T) {
	src := "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\nWITH x AS (SELECT 1) DELETE FROM t;\nSELECT 1;\nSET NAMES utf8mb4;\n(SELECT 2);\nTRUNCATE t;\nREPLACE INTO t VALUES (2);\nSHOW TABLES;\nLOAD DATA INFILE 'x' INTO TABLE t"
	want := []Kind{KindDDL, KindDML, KindDML, KindQuery, KindSession, KindQuery, KindDDL, KindDML, KindQuery, KindDML}
	got := Split(src, MySQL)
	if len(got) != len(want) {
		t.Fatalf("got %d statements", len(got))
	}
	for i, s := range got {
		if s.Kind != want[i] {
			t.Errorf("%q: kind %s, want %s", s.Text, s.Kind, want[i])
		}
	}
}

func TestClassifyPostgres(t *testing.T) {
	for text, want := range map[string]Kind{
		"COMMENT ON TABLE t IS 'x'": KindDDL,
		"COPY t FROM STDIN":         KindDML,
		"COPY t TO STDOUT":          KindQuery,
		"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d":  KindDML,
		"WITH d AS (SELECT * FROM t FOR UPDATE) SELECT * FROM d": KindQuery,
		"WITH x AS (SELECT 1) UPDATE t SET a = 1":                KindDML,
		"VACUUM t": KindOther,
		"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE": KindDML,
	} {
		if got := Classify(text, Postgres); got != want {
			t.Errorf("Classify(%q) = %s, want %s", text, got, want)
		}
	}
	if got := Classify("COMMENT 'x'", MySQL); got != KindOther {
		t.Errorf("mysql COMMENT classified %s", got)
	}
}

func TestVerb(t *testing.T) {
	for text, want := range map[string]string{
		"CREATE TABLE t (a int)":                        "CREATE TABLE",
		"create or replace table t (a int)":             "CREATE TABLE",
		"CREATE UNIQUE INDEX i ON t (a)":                "CREATE INDEX",
		"CREATE DEFINER=`a`@`b` PROCEDURE p() SELECT 1": "CREATE PROCEDURE",
		"CREATE TEMPORARY TABLE t (a int)":              "CREATE TABLE",
		"CREATE MATERIALIZED VIEW v AS SELECT 1":        "CREATE MATERIALIZED VIEW",
		"/* x */ drop table if exists t":                "DROP TABLE",
		"ALTER ONLINE TABLE t ADD c int":                "ALTER TABLE",
		"update t set a = 1":                            "UPDATE",
		"/*!40101 SET NAMES utf8 */":                    "SET",
		"":                                              "",
	} {
		if got := Verb(text, MySQL); got != want {
			t.Errorf("Verb(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestTokens(t *testing.T) {
	src := "SELECT `a``b`, \"c\", 'd', $1, x.y /*!50000 STRAIGHT_JOIN */ -- c\n# h\nFROM t"
	var got []string
	for _, tok := range Tokens(src, MySQL) {
		got = append(got, tok.Name(src))
	}
	want := []string{"SELECT", "a`b", ",", `"c"`, ",", "'d'", ",", "$1", ",", "x", ".", "y", "STRAIGHT_JOIN", "FROM", "t"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tokens = %q\nwant     %q", got, want)
	}
	pg := `SELECT "A""b", $q$x$q$, $2 FROM t`
	got = got[:0]
	for _, tok := range Tokens(pg, Postgres) {
		got = append(got, tok.Name(pg))
	}
	want = []string{"SELECT", `A"b`, ",", "$q$x$q$", ",", "$2", "FROM", "t"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pg tokens = %q\nwant        %q", got, want)
	}
}

func TestLineIndex(t *testing.T) {
	src := "ab\ncdé\n\nf"
	x := NewLineIndex(src)
	for _, c := range []struct{ off, line, col int }{{0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {5, 2, 3}, {7, 2, 4}, {8, 3, 1}, {9, 4, 1}, {100, 4, 2}} {
		l, col := x.Position(c.off)
		if l != c.line || col != c.col {
			t.Errorf("Position(%d) = %d:%d, want %d:%d", c.off, l, col, c.line, c.col)
		}
		if c.off <= len(src) {
			if back := x.Offset(l, col); back != c.off {
				t.Errorf("Offset(%d,%d) = %d, want %d", l, col, back, c.off)
			}
		}
	}
}

func TestSpecialComments(t *testing.T) {
	src := "/*!40101 SET a=1 */ '/*!x*/' /*M!100100 ALTER TABLE t ADD c INT*/ /* plain */ /*T! SELECT 'a */ /*+ NO_INDEX(t) */ /*!unterminated"
	tests := []struct {
		d    Dialect
		runs []bool
	}{
		{MariaDB, []bool{true, true, false, false, true}},
		{MySQL, []bool{true, false, false, false, true}},
	}
	for _, tt := range tests {
		got := SpecialComments(src, tt.d)
		if len(got) != 5 {
			t.Fatalf("%s: got %d comments: %+v", tt.d, len(got), got)
		}
		for i, c := range got {
			if c.Runs != tt.runs[i] {
				t.Errorf("%s: comment %d (%s) runs = %v, want %v", tt.d, i, c.Marker, c.Runs, tt.runs[i])
			}
		}
		if m := []string{got[0].Marker, got[1].Marker, got[2].Marker, got[3].Marker, got[4].Marker}; strings.Join(m, " ") != "/*! /*M! /*T! /*+ /*!" {
			t.Errorf("%s: markers %q", tt.d, m)
		}
		if src[got[0].Body:got[0].Close] != " SET a=1 " || got[0].Version != "40101" {
			t.Errorf("%s: first = %q version %q", tt.d, src[got[0].Body:got[0].Close], got[0].Version)
		}
		if got[4].Close != len(src) {
			t.Errorf("%s: unterminated comment closes at %d", tt.d, got[4].Close)
		}
	}
	// TiDB runs /*T!, so the quote opened inside it hides the rest.
	if got := SpecialComments(src, TiDB); len(got) != 3 || !got[2].Runs || got[2].Marker != "/*T!" {
		t.Errorf("tidb: %+v", got)
	}
	if got := SpecialComments(src, Postgres); got != nil {
		t.Errorf("postgres has no special comments: %+v", got)
	}
}
