package sql

import (
	"errors"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

func TestParseNormalises(t *testing.T) {
	tests := []struct {
		name      string
		d         Dialect
		text      string
		kind      Kind
		verb      string
		rewritten bool
		types     []string // the types as written, by offset order
		manual    bool
	}{
		{"spatial column", MariaDB, "CREATE TABLE t (id INT PRIMARY KEY, geom GEOMETRY NOT NULL, p POINT, SPATIAL INDEX (geom))", KindDDL, "CREATE TABLE", true, []string{"geometry", "point"}, false},
		{"spatial column on mysql", MySQL, "ALTER TABLE t ADD COLUMN g MULTIPOLYGON", KindDDL, "ALTER TABLE", true, []string{"multipolygon"}, false},
		{"alter view", MariaDB, "ALTER VIEW v AS SELECT 1", KindDDL, "ALTER VIEW", true, nil, false},
		{"alter view with algorithm", MySQL, "ALTER ALGORITHM=MERGE VIEW v AS SELECT a FROM t", KindDDL, "ALTER VIEW", true, nil, false},
		{"set global row", MariaDB, "SET GLOBAL binlog_format = ROW", KindOther, "SET", true, nil, false},
		{"uuid", MariaDB, "CREATE TABLE t (id UUID PRIMARY KEY)", KindDDL, "CREATE TABLE", true, []string{"uuid"}, false},
		{"plain select", MariaDB, "SELECT a FROM t WHERE id = 1", KindQuery, "SELECT", false, nil, false},
		{"procedure", MariaDB, "CREATE PROCEDURE p() BEGIN SELECT 1; END", KindDDL, "CREATE PROCEDURE", false, nil, true},
		{"mariadb only", MariaDB, "SELECT * FROM t FOR SYSTEM_TIME ALL", KindQuery, "SELECT", false, nil, true},
		{"tidb comment is a comment to mariadb", MariaDB, "SELECT 1 /*T! , 'a */ , 2", KindQuery, "SELECT", true, nil, false},
		{"select into variables", MariaDB, "SELECT a, b INTO @a, @b FROM t WHERE id = 1", KindOther, "SELECT", true, nil, false},
		{"select into variables at the end", MySQL, "SELECT a FROM t LIMIT 1 INTO @a", KindOther, "SELECT", true, nil, false},
		{"select into dumpfile", MariaDB, "SELECT a FROM t INTO DUMPFILE '/tmp/x'", KindOther, "SELECT", true, nil, false},
		{"insert into is not select into", MariaDB, "INSERT INTO t SELECT a FROM u", KindDML, "INSERT", false, nil, false},
		{"begin work", MariaDB, "BEGIN WORK", KindTxn, "BEGIN", true, nil, false},
		{"rollback work to savepoint", MySQL, "ROLLBACK WORK TO SAVEPOINT s", KindTxn, "ROLLBACK TO SAVEPOINT", true, nil, false},
		{"mariadb analyze statement", MariaDB, "ANALYZE UPDATE t SET a = 1", KindDML, "ANALYZE", true, nil, false},
		{"mariadb analyze table", MariaDB, "ANALYZE TABLE t", KindOther, "ANALYZE", false, nil, false},
		{"mariadb values", MariaDB, "VALUES (1, 2), (3, (4))", KindQuery, "VALUES", true, nil, false},
		{"mysql row alias", MySQL, "INSERT INTO t VALUES (1) AS new (x) ON DUPLICATE KEY UPDATE a = new.x", KindDML, "INSERT", true, nil, false},
		{"srid", MySQL, "CREATE TABLE g (p POINT NOT NULL SRID 4326)", KindDDL, "CREATE TABLE", true, []string{"point"}, false},
		{"explain format tree", MySQL, "EXPLAIN FORMAT=TREE SELECT 1", KindQuery, "EXPLAIN", true, nil, false},
		{"mariadb multi-table update with limit", MariaDB, "UPDATE t1, t2 SET t1.a = t2.a WHERE t1.id = t2.id LIMIT 10", KindDML, "UPDATE", true, nil, false},
		{"a decimal longer than the grammar's driver holds", MariaDB, "SELECT " + strings.Repeat("0", 118) + "." + strings.Repeat("0", 32) + " AS x, .5, 1.5e3, t.a FROM t", KindQuery, "SELECT", true, nil, false},
		{"an integer longer than the grammar's driver holds", MySQL, "INSERT INTO t VALUES (1" + strings.Repeat("0", 82) + ", -" + strings.Repeat("9", 70) + ")", KindDML, "INSERT", true, nil, false},
		{"xa is beyond the grammar", MariaDB, "XA START 'x'", KindTxn, "XA", false, nil, true},
		{"json_table is beyond the grammar", MariaDB, "SELECT * FROM JSON_TABLE('[1]', '$[*]' COLUMNS (x INT PATH '$')) AS j", KindQuery, "SELECT", false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.d, tt.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			c := p.Class()
			if c.Kind != tt.kind || c.Verb != tt.verb {
				t.Errorf("class = %s %q, want %s %q", c.Kind, c.Verb, tt.kind, tt.verb)
			}
			if p.Rewritten != tt.rewritten {
				t.Errorf("rewritten = %v, want %v", p.Rewritten, tt.rewritten)
			}
			if (p.Manual != "") != tt.manual {
				t.Errorf("manual = %q, want manual=%v", p.Manual, tt.manual)
			}
			if !tt.manual && p.MySQL == nil {
				t.Errorf("no tree")
			}
			var types []string
			for off := 0; off < len(tt.text); off++ {
				if ty, ok := p.Types[off]; ok {
					types = append(types, ty)
				}
			}
			if strings.Join(types, ",") != strings.Join(tt.types, ",") {
				t.Errorf("types = %v, want %v", types, tt.types)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		d     Dialect
		text  string
		off   int // -2: a LimitError
		multi bool
	}{
		{"mysql syntax", MariaDB, "SELECT FROM WHERE", 7, false},
		{"offset after a length-changing rewrite", MariaDB, "ALTER VIEW v AS SELECT FROM x WHERE", 23, false},
		{"offset after ANALYZE read as EXPLAIN ANALYZE", MariaDB, "ANALYZE SELECT FROM WHERE", 15, false},
		{"offset after VALUES read as VALUES ROW", MariaDB, "VALUES (1, 2), (3, FROM)", 19, false},
		{"offset after a blanked INTO", MariaDB, "SELECT a INTO @a FROM WHERE", 22, false},
		{"offset after a long number read as 1e308", MariaDB, "SELECT " + strings.Repeat("1", 100) + " FROM WHERE", 113, false},
		{"a typo in XA is manual, not an error, but a typo in SELECT is", MariaDB, "SELEC 1", 0, false},
		{"pg syntax", Postgres, "SELECT * FORM t", 9, false},
		{"mysql multi", MySQL, "SELECT 1; SELECT 2", 10, true},
		{"pg multi", Postgres, "SELECT 1; SELECT 2", 9, true},
		{"pg deep sum", Postgres, "SELECT 1" + strings.Repeat("+1", 40000), -2, false},
		{"pg deep parens", Postgres, "SELECT " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000), -2, false},
		{"pg deep not", Postgres, "SELECT " + strings.Repeat("NOT ", 5000) + "true", -2, false},
		{"pg deep union", Postgres, "SELECT 1" + strings.Repeat(" UNION SELECT 1", 3000), -2, false},
		{"mysql deep case", MariaDB, "SELECT " + strings.Repeat("CASE WHEN 1 THEN ", 2000) + "1" + strings.Repeat(" END", 2000), -2, false},
		{"pg deep prefix run", Postgres, "SELECT 1 " + strings.Repeat("-+", 3000) + "1", -2, false},
		{"mysql deep bang run", MySQL, "SELECT " + strings.Repeat("!", 5000) + "1", -2, false},
		{"mysql deep between chain", MariaDB, "SELECT 1" + strings.Repeat(" BETWEEN 0 AND 2", 3000), -2, false},
		{"too long", MySQL, "SELECT '" + strings.Repeat("x", MaxStatementBytes) + "'", -2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.d, tt.text)
			if err == nil {
				t.Fatal("no error")
			}
			if errkind.Of(err) != errkind.Invalid {
				t.Errorf("kind %s, want invalid", errkind.Of(err))
			}
			if tt.off == -2 {
				var le *LimitError
				if !errors.As(err, &le) {
					t.Fatalf("want a LimitError, got %v", err)
				}
				return
			}
			se, ok := AsSyntax(err)
			if !ok {
				t.Fatalf("want a SyntaxError, got %v", err)
			}
			if se.Off != tt.off || se.Multi != tt.multi {
				t.Errorf("error %q at %d multi %v, want at %d multi %v", se.Msg, se.Off, se.Multi, tt.off, tt.multi)
			}
		})
	}
}

func TestDepthAllowsWideStatements(t *testing.T) {
	var values []string
	for i := 0; i < 5000; i++ {
		values = append(values, "(1, 'a', NULL)")
	}
	var ors []string
	for i := 0; i < 3000; i++ {
		ors = append(ors, "id = 1")
	}
	var betweens []string
	for i := 0; i < 3000; i++ {
		betweens = append(betweens, "a BETWEEN 1 AND 2")
	}
	var whens []string
	for i := 0; i < 3000; i++ {
		whens = append(whens, "WHEN a = 1 THEN 'x'")
	}
	for _, d := range []Dialect{MariaDB, Postgres} {
		for _, text := range []string{
			"INSERT INTO t VALUES " + strings.Join(values, ", "),
			"SELECT * FROM t WHERE " + strings.Join(ors, " OR "),
			"SELECT * FROM t WHERE " + strings.Join(betweens, " AND "),
			"SELECT CASE " + strings.Join(whens, " ") + " END FROM t",
			"SELECT a FROM t WHERE a IN (" + strings.Repeat("1, ", 20000) + "1)",
		} {
			if _, err := Parse(d, text); err != nil {
				t.Errorf("%s: %q...: %v", d, text[:40], err)
			}
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		d          Dialect
		text, want string
	}{
		{MariaDB, `SELECT 'a\\b', "it's", count(*), u.name FROM shop.users u WHERE id = 1`,
			"SELECT 'a\\\\b','it''s',COUNT(1) AS `count(*)`,`u`.`name` FROM `shop`.`users` AS `u` WHERE `id` = 1"},
		{MariaDB, "SELECT 1 /*T! , 'a */ , (SELECT secret FROM k) /*' */", ""},
		{MariaDB, "SELECT 1 /*!50000 , (SELECT secret FROM k) */", "SELECT 1,(SELECT `secret` FROM `k`) AS `(SELECT ``secret`` FROM ``k``)`"},
		{Postgres, "select  a , count(*) from s.t -- c\n where x = 'it''s'", "SELECT a, count(*) FROM s.t WHERE x = 'it''s'"},
		// pg_query's reader turns an empty string field of a utility
		// statement into NULL: the deparser would crash or print another
		// statement. Each is refused; a failure here kills the test binary.
		{Postgres, "ROLLBACK PREPARED ''", ""},
		{Postgres, "COMMIT PREPARED ''", ""},
		{Postgres, "PREPARE TRANSACTION $$$$", ""},
		{Postgres, "LOAD ''", ""},
		{Postgres, "ALTER TYPE e ADD VALUE ''", ""},
		{Postgres, "ALTER TYPE e RENAME VALUE '' TO 'x'", ""},
		{Postgres, "ALTER TYPE e ADD VALUE 'x' BEFORE $a$$a$", ""},
		{Postgres, "CREATE CONVERSION c FOR '' TO 'UTF8' FROM f", ""},
		{Postgres, "ALTER SUBSCRIPTION s CONNECTION ''", ""},
		{Postgres, "COPY t FROM ''", ""},
		// An empty constant in an expression prints exactly.
		{Postgres, "SELECT '', $$$$, E'' FROM t WHERE a = '' AND b LIKE ''", "SELECT '', '', '' FROM t WHERE a = '' AND b LIKE ''"},
		{Postgres, "UPDATE t SET a = '' WHERE b = ''", "UPDATE t SET a = '' WHERE b = ''"},
		{Postgres, "ROLLBACK PREPARED 'tx1'", "ROLLBACK PREPARED 'tx1'"},
	}
	for _, tt := range tests {
		p, err := Parse(tt.d, tt.text)
		if err != nil {
			t.Fatalf("%q: %v", tt.text, err)
		}
		got, err := p.Render()
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q rendered as %q, want a refusal", tt.text, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Render(%q) = %q, %v\nwant %q", tt.text, got, err, tt.want)
		}
		// The rendering is a fixpoint: parsed again, it renders the same.
		p2, err := Parse(tt.d, got)
		if err != nil {
			t.Fatalf("reparse %q: %v", got, err)
		}
		if again, err := p2.Render(); err != nil || again != got {
			t.Errorf("render of %q = %q, %v: not a fixpoint", got, again, err)
		}
	}
}
