package executor

import (
	"slices"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/sql/sqltest"
)

// agreementCases are the executor's part of the golden agreement on what a
// statement is (code review, problem 2): the scripts on which dbfleet's
// splitters and classifiers disagreed, and the executor's refusals. want
// is the executor's decision for each statement sql.Split returns: how it
// runs (runMode), with "+backup" when it is refused without backup_done.
//
// These are the examples of code review problem 2 with the executor's
// decision for each; TestAgreementWithGolden runs every statement of
// internal/sql/testdata/classify.golden, the table every consumer shares.
var agreementCases = []struct {
	name string
	d    sql.Dialect
	src  string
	want []string
	err  string // the script is refused as a whole
}{
	{name: "double dash without a space is minus", d: sql.MariaDB, src: "UPDATE t SET a = a--1;\nDELETE FROM t WHERE id = 2;",
		want: []string{"units", "units"}},
	{name: "delimiter block then a query", d: sql.MariaDB, src: "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND //\nDELIMITER ;\nSELECT 3;",
		want: []string{"online-ddl", "query"}},
	{name: "select into outfile is not a query", d: sql.MariaDB, src: "SELECT * FROM t INTO OUTFILE '/var/lib/mysql-files/x';",
		want: []string{"as-written"}},
	{name: "select into variables is not a query", d: sql.MySQL, src: "SELECT a INTO @x FROM t WHERE id = 1;",
		want: []string{"as-written"}},
	{name: "mariadb runs its executable comment", d: sql.MariaDB, src: "/*M! DELETE FROM t */;", want: []string{"units"}},
	{name: "mysql ignores mariadb's comment", d: sql.MySQL, src: "/*M! DELETE FROM t */;", err: "the script has no statement"},
	{name: "mysql ignores mariadb's comment, runs the rest", d: sql.MySQL, src: "/*M! DELETE FROM t */;\nSELECT 1;", want: []string{"query"}},
	{name: "version comment", d: sql.MariaDB, src: "/*!40101 SET NAMES utf8mb4 */;", want: []string{"session"}},
	{name: "transaction control", d: sql.MariaDB, src: "START TRANSACTION;\nUPDATE t SET a = 1;\nCOMMIT;\nSET autocommit = 0;\nLOCK TABLES t WRITE;",
		want: []string{"refused", "units", "refused", "refused", "refused"}},
	{name: "destroys", d: sql.MariaDB, src: "DROP TABLE a, b; TRUNCATE t; DROP DATABASE d; DROP TEMPORARY TABLE tmp; DROP VIEW v; ALTER TABLE t DROP PARTITION p0",
		want: []string{"online-ddl+backup", "online-ddl+backup", "online-ddl+backup", "online-ddl", "online-ddl", "online-ddl+backup"}},
	{name: "session and global", d: sql.MariaDB, src: "USE shop; SET @a = 1; SET GLOBAL max_connections = 10; GRANT SELECT ON *.* TO u",
		want: []string{"session", "session", "as-written", "as-written"}},
	{name: "mariadb anonymous block is one statement", d: sql.MariaDB, src: "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;",
		want: []string{"as-written", "query"}},
	{name: "postgres", d: sql.Postgres,
		src:  "SET search_path = app; UPDATE t SET a = 1; WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d; SELECT 1; SELECT * INTO t2 FROM t; CREATE INDEX CONCURRENTLY i ON t (a); VACUUM t; ANALYZE t; DO $$ BEGIN END $$",
		want: []string{"session", "units", "units", "query", "ddl-in-tx", "outside-tx", "outside-tx", "as-written", "as-written"}},
	{name: "postgres transaction control and destroys", d: sql.Postgres, src: "BEGIN; DROP TABLE t; DROP SCHEMA s CASCADE; DROP SCHEMA s2; TRUNCATE u; LOCK TABLE t; COMMIT",
		want: []string{"refused", "ddl-in-tx+backup", "ddl-in-tx+backup", "ddl-in-tx", "ddl-in-tx+backup", "refused", "refused"}},
	{name: "postgres statements outside a transaction", d: sql.Postgres, src: "CREATE DATABASE x; DROP DATABASE y; DROP INDEX CONCURRENTLY i; REINDEX INDEX CONCURRENTLY i",
		want: []string{"outside-tx", "outside-tx+backup", "outside-tx", "outside-tx"}},
	{name: "postgres syntax error", d: sql.Postgres, src: "SELECT 1;\nSELEC 2;", err: `line 2, column 1: syntax error at or near "SELEC"`},
}

// TestAgreementWithSQL checks that the executor's decisions follow from
// internal/sql's answer and nothing else: the same statements as
// sql.Split, each with sql.Parse's Parsed.Class (LexClass where the MySQL
// grammar has no tree); transaction control refused, what Destroys
// refused without backup_done, NonTx PostgreSQL statements alone outside a
// transaction, SELECT ... INTO never run as a query.
func TestAgreementWithSQL(t *testing.T) {
	for _, tc := range agreementCases {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := parseScript(tc.d, tc.src)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			split := sql.Split(tc.src, tc.d)
			if len(stmts) != len(split) {
				t.Fatalf("%d statements, sql.Split has %d", len(stmts), len(split))
			}
			var got []string
			for i, s := range stmts {
				if s.Text != split[i].Text || s.Line != split[i].Line || s.Col != split[i].Column {
					t.Errorf("statement %d: %q at %d:%d, sql.Split has %q at %d:%d", i+1, s.Text, s.Line, s.Col, split[i].Text, split[i].Line, split[i].Column)
				}
				want := sqlClass(t, tc.d, s.Text)
				if s.class != want || s.Kind != string(want.Kind) || s.Verb != want.Verb {
					t.Errorf("statement %d %q: class %+v (kind %s), sql says %+v", i+1, s.Text, s.class, s.Kind, want)
				}
				if s.tree != nil || s.my != nil || s.pg != nil {
					t.Errorf("statement %d: its tree is kept after Start", i+1)
				}
				mode := modeOf(tc.d, s.class)
				checkDecision(t, tc.d, s, mode)
				d := string(mode)
				if s.class.Destroys != "" {
					d += "+backup"
				}
				got = append(got, d)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("decisions %v, want %v", got, tc.want)
			}
		})
	}
}

// sqlClass is what internal/sql says a statement is.
func sqlClass(t *testing.T, d sql.Dialect, text string) sql.Class {
	t.Helper()
	p, err := sql.Parse(d, text)
	if err != nil {
		if d == sql.Postgres {
			t.Fatalf("%q: %v", text, err)
		}
		return sql.LexClass(d, text)
	}
	return p.Class()
}

// checkDecision checks the rules that tie a decision to the class.
func checkDecision(t *testing.T, d sql.Dialect, s *stmt, mode runMode) {
	t.Helper()
	c := s.class
	errNoBackup := checkScript([]*stmt{s}, Options{})
	errBackup := checkScript([]*stmt{s}, Options{BackupDone: true})
	switch {
	case c.Kind == sql.KindTxn:
		if mode != modeRefused || errBackup == nil || !strings.Contains(errBackup.Error(), s.where()+": ") {
			t.Errorf("%q: transaction control must be refused naming where: mode %s, %v", s.Text, mode, errBackup)
		}
	case c.Destroys != "":
		if errNoBackup == nil || !strings.Contains(errNoBackup.Error(), c.Destroys+" is refused unless a backup was taken first") || errBackup != nil {
			t.Errorf("%q destroys %q: without backup %v, with backup %v", s.Text, c.Destroys, errNoBackup, errBackup)
		}
	default:
		if errNoBackup != nil || mode == modeRefused {
			t.Errorf("%q: refused: %s %v", s.Text, mode, errNoBackup)
		}
	}
	if d == sql.Postgres && c.NonTx && mode != modeAlone && c.Kind != sql.KindTxn {
		t.Errorf("%q cannot run in a transaction block but runs %s", s.Text, mode)
	}
	if mode == modePGDDL || mode == modeUnits {
		if c.NonTx {
			t.Errorf("%q cannot run in a transaction block but runs %s", s.Text, mode)
		}
	}
	if c.SelectInto != "" && mode == modeQuery {
		t.Errorf("%q writes (INTO %s) but runs as a query", s.Text, c.SelectInto)
	}
}

// TestAgreementScriptsRun runs the code review's MariaDB scripts on the
// server: what the executor decided is what MariaDB does.
func TestAgreementScriptsRun(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL)", "INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)")
	svc, stop := e.service(Config{})
	defer stop()

	ex := e.run(svc, "m1", "UPDATE t SET a = a--1;\nDELETE FROM t WHERE id = 2;", Options{})
	e.done(ex)
	if got := e.dump("SELECT id, a FROM t ORDER BY id"); got != "\"1\"|\"11\"\n\"3\"|\"31\"\n" {
		t.Errorf("after a--1 and the DELETE: %s", got)
	}
	if len(ex.Statements) != 2 || ex.Statements[0].Kind != KindDML || ex.Statements[1].Kind != KindDML {
		t.Errorf("statements: %+v", ex.Statements)
	}

	ex = e.run(svc, "m1", "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND //\nDELIMITER ;\nSELECT 3;", Options{})
	e.done(ex)
	if len(ex.Statements) != 2 || ex.Statements[0].Kind != KindDDL || ex.Statements[1].Kind != KindQuery || ex.Statements[1].Line != 8 {
		t.Errorf("statements: %+v", ex.Statements)
	}
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME = 'p'"); got != "1" {
		t.Errorf("procedure p: %s", got)
	}

	// MariaDB runs the content of /*M! ... */: one DML statement.
	ex = e.run(svc, "m1", "/*M! DELETE FROM t WHERE id = 3 */;", Options{})
	e.done(ex)
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM t"); got != "1" {
		t.Errorf("rows after /*M! DELETE: %s", got)
	}
	if s := ex.Statements[0]; s.Kind != KindDML || s.RowsAffected != 1 || !strings.HasPrefix(s.Rollback, "not available: the MySQL grammar read the statement normalised") {
		t.Errorf("/*M! DELETE: kind %s, rows %d, rollback %q", s.Kind, s.RowsAffected, s.Rollback)
	}
}

// TestAgreementWithGolden runs the executor's classification over every
// statement of internal/sql's golden file: the executor reads each
// statement as the front end does (same class), and its decision follows
// from that class alone.
func TestAgreementWithGolden(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, c sqltest.Case, g sqltest.Stmt) {
		if g.Client || g.Err != "" {
			return // the executor refuses the script (tested above)
		}
		stmts, err := parseScript(c.Dialect, g.Text)
		if err != nil {
			// A script of one statement the executor refuses as a whole
			// (a psql command, an unterminated quote...) must be one the
			// front end could not read either.
			if g.Parsed() && g.Class.Kind != sql.KindTxn {
				t.Fatalf("refused %q, which the front end reads as %+v: %v", g.Text, g.Class, err)
			}
			return
		}
		if len(stmts) != 1 {
			t.Fatalf("%q: %d statements, the front end has 1", g.Text, len(stmts))
		}
		s := stmts[0]
		if s.class != g.Class {
			t.Errorf("%q: executor class %+v, golden %+v", g.Text, s.class, g.Class)
		}
		checkDecision(t, c.Dialect, s, modeOf(c.Dialect, s.class))
	}, sql.MariaDB, sql.MySQL, sql.Postgres)
}
