package sql

import (
	"reflect"
	"testing"
)

func TestLexTraits(t *testing.T) {
	for _, tc := range []struct {
		d    Dialect
		text string
		want Traits
	}{
		{MariaDB, "SELECT id FROM t WHERE id = 1", Traits{}},
		{MariaDB, "SELECT 1; SELECT 2", Traits{Multi: true}},
		{MariaDB, "SELECT 1;", Traits{}},
		{MariaDB, "SELECT 1 ; -- trailing comment", Traits{}},
		{MariaDB, "SELECT LAST_INSERT_ID()", Traits{LastInsertID: true}},
		{MariaDB, "select last_insert_id ( )", Traits{LastInsertID: true}},
		{MariaDB, "SELECT last_insert_id FROM t", Traits{}}, // a column
		{MariaDB, "SELECT @@last_insert_id", Traits{LastInsertID: true}},
		{MariaDB, "SELECT @@session.identity", Traits{LastInsertID: true}},
		{MariaDB, "SELECT @@last_gtid", Traits{LastInsertID: true}},
		{MariaDB, "SELECT @@version, @@tx_isolation", Traits{}},
		{MariaDB, "SELECT @@innodb_read_only", Traits{ServerVar: true}},
		{MariaDB, "SELECT @@global.read_only, @@SERVER_ID", Traits{ServerVar: true}},
		{MariaDB, "SELECT @@gtid_binlog_pos", Traits{ServerVar: true}},
		{MariaDB, "SELECT GET_LOCK('a', 10)", Traits{GetLock: true, AdvisoryLock: true}},
		{MariaDB, "SELECT RELEASE_LOCK('a')", Traits{AdvisoryLock: true}},
		{MariaDB, "SELECT release_all_locks()", Traits{AdvisoryLock: true}},
		{MariaDB, "SELECT IS_FREE_LOCK('a'), IS_USED_LOCK('b')", Traits{AdvisoryLock: true}},
		{MariaDB, "DO GET_LOCK('a', 0)", Traits{GetLock: true, AdvisoryLock: true}},
		{MariaDB, "SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10", Traits{CalcFoundRows: true}},
		{MariaDB, "SELECT FOUND_ROWS()", Traits{Previous: true}},
		{MariaDB, "SELECT ROW_COUNT()", Traits{Previous: true}},
		{MariaDB, "SELECT @@warning_count", Traits{Previous: true}},
		{MariaDB, "SHOW WARNINGS", Traits{Previous: true}},
		{MariaDB, "SHOW ERRORS LIMIT 1", Traits{Previous: true}},
		{MariaDB, "SHOW COUNT(*) WARNINGS", Traits{Previous: true}},
		{MariaDB, "SHOW PROFILES", Traits{Previous: true}},
		{MariaDB, "SHOW TABLES", Traits{}},
		{MariaDB, "SELECT NEXTVAL(s)", Traits{Sequence: true}},
		{MariaDB, "SELECT NEXT VALUE FOR s", Traits{Sequence: true}},
		{MariaDB, "SELECT PREVIOUS VALUE FOR s", Traits{Sequence: true, LastInsertID: true}},
		{MariaDB, "SELECT LASTVAL(s)", Traits{Sequence: true, LastInsertID: true}},
		{MariaDB, "SELECT SETVAL(s, 10)", Traits{Sequence: true}},
		{MariaDB, "SELECT * FROM t WHERE a = @x", Traits{UserVar: true}},
		{MariaDB, "SELECT @`x y`, @'z'", Traits{UserVar: true}},
		{MariaDB, "SELECT @r := @r + 1 FROM t", Traits{UserVar: true, UserVarAssign: true}},
		{MariaDB, "UPDATE t SET a = (@x := a + 1)", Traits{UserVar: true, UserVarAssign: true}},
		{MariaDB, "SELECT a INTO @x FROM t LIMIT 1", Traits{UserVar: true, UserVarAssign: true}},
		{MariaDB, "CREATE USER 'u'@'%' IDENTIFIED BY 'p'", Traits{}},
		{MariaDB, "GRANT SELECT ON *.* TO u@localhost", Traits{}},
		{MariaDB, "SELECT 'a@b', '@x := 1' FROM t", Traits{}},
		{MariaDB, "CREATE TEMPORARY TABLE tmp (a int)", Traits{Temporary: true}},
		{MariaDB, "CREATE OR REPLACE TEMPORARY TABLE tmp AS SELECT 1", Traits{Temporary: true}},
		{MariaDB, "DROP TEMPORARY TABLE IF EXISTS tmp", Traits{Temporary: true}},
		{MariaDB, "CREATE TABLE temporary (a int)", Traits{}},
		{MariaDB, "/*!40101 SET NAMES utf8 */", Traits{Version: 40101}},
		{MariaDB, "/*!40101 SET x=1 */ /*M!100502 SELECT 1 */", Traits{Version: 100502}},
		{MySQL, "/*!40101 SET x=1 */ /*M!100502 SELECT 1 */", Traits{Version: 40101}},
		{MariaDB, "/*! SELECT 1 */", Traits{}},
		{MariaDB, "SELECT 1 /*!99999 FOR UPDATE */", Traits{Version: 99999}},
		{MariaDB, "SELECT '/*!99999 x */'", Traits{}},
		{MariaDB, "SELECT f(1)", Traits{Calls: true}},
		{MariaDB, "SELECT db.f(1), COUNT(*) FROM t", Traits{Calls: true}},
		{MariaDB, "SELECT my_func (a) FROM t", Traits{Calls: true}},
		{MariaDB, "SELECT `my_fn`(a) FROM t", Traits{Calls: true}},
		{MariaDB, "SELECT `db`.`my_fn`(a) FROM t", Traits{Calls: true}},
		{MariaDB, "SELECT `CONCAT`(a) FROM t", Traits{Calls: true}},
		{Postgres, `SELECT "my_fn"(a) FROM t`, Traits{Calls: true}},
		{MariaDB, "INSERT INTO `t` (a, b) VALUES (1, 2)", Traits{}},
		{MariaDB, "SELECT * FROM (SELECT 1, 2) AS `d` (a, b)", Traits{}},
		{MariaDB, "WITH `c` (n) AS (SELECT 1) SELECT n FROM c", Traits{}},
		{MariaDB, "SELECT `a` (1)", Traits{Calls: true}},
		{MariaDB, "SELECT NOW(), DATE_FORMAT(d, '%Y'), CONCAT(a, b), JSON_EXTRACT(j, '$.a'), COALESCE(a, 1), IF(a, 1, 2), COUNT(*), GROUP_CONCAT(a), CAST(a AS CHAR(10)) FROM t", Traits{}},
		{MariaDB, "SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) FROM t WHERE a IN (1, 2) AND EXISTS (SELECT 1)", Traits{}},
		{MariaDB, "SELECT JSON_DETAILED(j), NVL(a, 1), STD(a) FROM t", Traits{}},
		{MariaDB, "WITH c (n) AS (SELECT 1) SELECT n FROM c", Traits{}},
		{MariaDB, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT n FROM c", Traits{}},
		{MariaDB, "SELECT * FROM (SELECT 1, 2) AS d (a, b)", Traits{}},
		{MariaDB, "INSERT INTO t (a, b) VALUES (1, 2)", Traits{}},
		{MariaDB, "SELECT a FROM t USE INDEX (i) WHERE MATCH (a) AGAINST ('x')", Traits{}},
		{MariaDB, "SELECT db.t.c FROM db.t", Traits{}},
		{MariaDB, "/*!50000 SELECT GET_LOCK('x', 1) */", Traits{GetLock: true, AdvisoryLock: true, Version: 50000}},
	} {
		_, got := LexTraits(tc.d, tc.text)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q:\n got %+v\nwant %+v", tc.d, tc.text, got, tc.want)
		}
	}
}

func TestLexClassDropPrepare(t *testing.T) {
	if c := LexClass(MariaDB, "DROP PREPARE s"); c.Kind != KindSession {
		t.Errorf("DROP PREPARE: %+v, want a session statement", c)
	}
	if c := LexClass(MariaDB, "DROP TABLE prepare"); c.Kind != KindDDL {
		t.Errorf("DROP TABLE prepare: %+v", c)
	}
}

func TestSetItems(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []SetItem
		ok   bool
	}{
		{"SET sql_mode = 'ANSI'", []SetItem{{"session", "sql_mode", "'ANSI'", true, false}}, true},
		{"SET SESSION time_zone = '+00:00', @@session.wait_timeout = 60", []SetItem{{"session", "time_zone", "'+00:00'", true, false}, {"session", "wait_timeout", "60", true, false}}, true},
		{"SET LOCAL sql_mode := DEFAULT", []SetItem{{"session", "sql_mode", "DEFAULT", true, false}}, true},
		{"SET @@SQL_MODE = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')", []SetItem{{"session", "sql_mode", "CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')", false, true}}, true},
		{"SET GLOBAL max_connections = 10", []SetItem{{"global", "max_connections", "10", true, false}}, true},
		{"SET @@global.read_only = 1, x = 2", []SetItem{{"global", "read_only", "1", true, false}, {"session", "x", "2", true, false}}, true},
		{"SET GLOBAL a = 1, b = 2, SESSION c = 3, d = 4, @e = 5", []SetItem{{"global", "a", "1", true, false}, {"global", "b", "2", true, false}, {"session", "c", "3", true, false}, {"session", "d", "4", true, false}, {"user", "e", "5", true, false}}, true},
		{"SET @@global.a = 1, b = 2", []SetItem{{"global", "a", "1", true, false}, {"session", "b", "2", true, false}}, true},
		{"SET PERSIST x = 1", []SetItem{{"global", "x", "1", true, false}}, true},
		{"SET @a = 1, @B := 'x', @`c d` = -2, @'e' = _utf8mb4'x'", []SetItem{{"user", "a", "1", true, false}, {"user", "b", "'x'", true, false}, {"user", "c d", "-2", true, false}, {"user", "e", "_utf8mb4'x'", true, false}}, true},
		{"SET @a = (SELECT MAX(id) FROM t)", []SetItem{{"user", "a", "(SELECT MAX(id) FROM t)", false, true}}, true},
		{"SET @a = NOW()", []SetItem{{"user", "a", "NOW()", false, true}}, true},
		{"SET @a = @b", []SetItem{{"user", "a", "@b", false, false}}, true},
		{"SET NAMES utf8mb4", []SetItem{{"session", "names", "utf8mb4", true, false}}, true},
		{"SET NAMES 'utf8mb4' COLLATE 'utf8mb4_bin'", []SetItem{{"session", "names", "'utf8mb4' COLLATE 'utf8mb4_bin'", true, false}}, true},
		{"SET CHARACTER SET latin1", []SetItem{{"session", "character set", "latin1", true, false}}, true},
		{"SET CHARSET DEFAULT", []SetItem{{"session", "character set", "DEFAULT", true, false}}, true},
		{"SET autocommit = 0", []SetItem{{"session", "autocommit", "0", true, false}}, true},
		{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", []SetItem{{"next", "transaction_isolation", "SERIALIZABLE", true, false}}, true},
		{"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY", []SetItem{{"session", "transaction_isolation", "READ COMMITTED", true, false}, {"session", "transaction_read_only", "ON", true, false}}, true},
		{"SET GLOBAL TRANSACTION READ WRITE", []SetItem{{"global", "transaction_read_only", "OFF", true, false}}, true},
		{"SET tx_isolation = 'SERIALIZABLE'", []SetItem{{"session", "tx_isolation", "'SERIALIZABLE'", true, false}}, true},
		{"SET sql_log_bin = 0;", []SetItem{{"session", "sql_log_bin", "0", true, false}}, true},
		{"SET PASSWORD = PASSWORD('x')", nil, false},
		{"SET ROLE r", nil, false},
		{"SET DEFAULT ROLE r TO u", nil, false},
		{"SET STATEMENT max_statement_time = 1 FOR SELECT 1", nil, false},
		{"SELECT 1", nil, false},
		{"SET", nil, false},
		{"SET x", nil, false},
		{"SET x =", nil, false},
	} {
		got, ok := SetItems(MariaDB, tc.text)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %v %+v\nwant %v %+v", tc.text, ok, got, tc.ok, tc.want)
		}
	}
}

func TestUnquoteString(t *testing.T) {
	for _, tc := range []struct {
		d      Dialect
		lit    string
		want   string
		wantOK bool
	}{
		{MariaDB, "'abc'", "abc", true},
		{MariaDB, "'it''s'", "it's", true},
		{MariaDB, `'a\'b\nc\\d\%'`, "a'b\nc\\d\\%", true},
		{MariaDB, `"say ""hi"""`, `say "hi"`, true},
		{MariaDB, "'abc", "", false},
		{MariaDB, "'a'b'", "", false},
		{MariaDB, "abc", "", false},
		{Postgres, `'a\n'`, `a\n`, true},
		{Postgres, `"a"`, "", false},
	} {
		got, ok := UnquoteString(tc.d, tc.lit)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s %s: got %q %v, want %q %v", tc.d, tc.lit, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestComments(t *testing.T) {
	for _, tc := range []struct {
		d    Dialect
		src  string
		want []string
	}{
		{MariaDB, "/* a */ SELECT 1 -- b\n# c\n", []string{" a ", " b", " c"}},
		{MariaDB, "SELECT '/* no */', \"-- no\" /*+ hint */", []string{"+ hint "}},
		{MariaDB, "/*!40101 SET x = 1 /* inner */ */ /*M! SELECT 2 */", []string{" inner "}},
		{MySQL, "/*M! SELECT 2 */", []string{"M! SELECT 2 "}},
		{MariaDB, "SELECT 1 /* open", []string{" open"}},
		{MariaDB, "SELECT a--1", nil},
		{Postgres, "/* a /* b */ c */ SELECT 1", []string{" a /* b */ c "}},
	} {
		if got := Comments(tc.src, tc.d); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q: got %q, want %q", tc.d, tc.src, got, tc.want)
		}
	}
}
