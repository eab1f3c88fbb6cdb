package sqlreview

import "testing"

func TestRuleSyntax(t *testing.T) {
	runRuleCases(t, "syntax", []ruleCase{
		{name: "valid", sql: "SELECT 1;\nUPDATE t SET a = 1 WHERE id = 2;"},
		{name: "typo in keyword", sql: "SELECT 1;\nSELEC 2;", want: []string{"2:1"}, msg: `syntax error near "SELEC 2"`},
		{name: "error mid statement", sql: "SELECT a\n  FROM t\n  WHERE a = = 2", want: []string{"3:13"}},
		{name: "error at the end", sql: "SELECT a FROM t WHERE", want: []string{"1:22"}, msg: "at the end of the statement"},
		{name: "unterminated string", sql: "SELECT 'abc", want: []string{"1:8"}},
		{name: "position after multibyte text", sql: "SELECT 'é', x FROM t WHERE", want: []string{"1:27"}},
		{name: "second statement of several", sql: "CREATE TABLE t (id INT);\n\n  ALTER TABLE t ADD COLUMN;", want: []string{"3:27"}},
		{name: "cte window function json index", sql: "WITH x AS (SELECT id, ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) AS rn FROM t) SELECT id FROM x WHERE rn = 1;\nCREATE TABLE j (id INT PRIMARY KEY, doc JSON, INDEX idx_x ((CAST(doc->'$.x' AS UNSIGNED))));\nALTER TABLE t ADD c INT, ALGORITHM=INSTANT;"},
		{name: "mysql does not take mariadb syntax", engine: "mysql", sql: "CREATE OR REPLACE TABLE t (id INT PRIMARY KEY)", want: []string{"1:19"}},
		{name: "pg error", engine: "postgres", sql: "SELECT 1;\nSELECT a FROM t WHERE a = = 1;", want: []string{"2:27"}, msg: "syntax error at or near"},
		{name: "pg mysql syntax", engine: "postgres", sql: "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY)", want: []string{"1:24"}},
		{name: "pg valid", engine: "postgres", sql: "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc jsonb);\nINSERT INTO t (doc) VALUES ('{}') ON CONFLICT DO NOTHING RETURNING id;"},
	})
}

// TestMariaDBSyntaxIsNotAnError: MariaDB syntax users write is either
// reviewed (normalised for the MySQL grammar) or sent to manual review,
// never reported as a syntax error.
func TestMariaDBSyntaxIsNotAnError(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		manual bool
	}{
		{"CREATE OR REPLACE TABLE t (id INT PRIMARY KEY)", false},
		{"CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)", false},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT", false},
		{"ALTER TABLE t DROP COLUMN IF EXISTS c", false},
		{"ALTER TABLE t ADD INDEX IF NOT EXISTS idx_c (c)", false},
		{"ALTER TABLE t DROP INDEX IF EXISTS idx_c", false},
		{"ALTER TABLE t MODIFY COLUMN IF EXISTS c BIGINT", false},
		{"CREATE INDEX IF NOT EXISTS idx_c ON t (c)", false},
		{"DROP INDEX IF EXISTS idx_c ON t", false},
		{"CREATE SEQUENCE s START WITH 1 INCREMENT BY 1", false},
		{"CREATE OR REPLACE SEQUENCE s", false},
		{"CREATE SEQUENCE IF NOT EXISTS s", false},
		{"SELECT NEXT VALUE FOR s", false},
		{"SELECT NEXTVAL(s)", false},
		{"CREATE TABLE t (id INT PRIMARY KEY) WITH SYSTEM VERSIONING", false},
		{"CREATE TABLE t (id INT PRIMARY KEY, x INT WITHOUT SYSTEM VERSIONING) WITH SYSTEM VERSIONING", false},
		{"CREATE TABLE t (id INT PRIMARY KEY, s TIMESTAMP(6) GENERATED ALWAYS AS ROW START, e TIMESTAMP(6) GENERATED ALWAYS AS ROW END, PERIOD FOR SYSTEM_TIME(s, e)) WITH SYSTEM VERSIONING", false},
		{"ALTER TABLE t ADD SYSTEM VERSIONING", true},
		{"SELECT id FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'", true},
		{"DELETE HISTORY FROM t BEFORE SYSTEM_TIME '2024-01-01'", true},
		{"DELETE FROM t WHERE id = 1 RETURNING id, name", false},
		{"INSERT INTO t (id) VALUES (1) RETURNING id", false},
		{"REPLACE INTO t (id) VALUES (1) RETURNING id", false},
		{"/*M!100100 ALTER TABLE t ADD COLUMN c INT */", false},
		{"/*!40101 SET NAMES utf8mb4 */", false},
		{"ALTER TABLE t ADD COLUMN c INT, ALGORITHM=NOCOPY, LOCK=NONE", false},
		{"ALTER ONLINE TABLE t ADD COLUMN c INT", false},
		{"ALTER TABLE t WAIT 10 ADD COLUMN c INT", false},
		{"ALTER TABLE t NOWAIT ADD COLUMN c INT", false},
		{"DROP TABLE t WAIT 5", false},
		{"CREATE TABLE t (id UUID PRIMARY KEY, ip INET6, ip4 INET4)", false},
		{"CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT AS (a + 1) PERSISTENT)", false},
		{"CREATE TABLE t (id INT PRIMARY KEY, secret INT INVISIBLE)", false},
		{"CREATE TABLE t (id INT PRIMARY KEY, body TEXT COMPRESSED)", false},
		{"ALTER TABLE t ADD SPATIAL INDEX sp_g (g)", false},
		{"SET STATEMENT max_statement_time=10 FOR SELECT id FROM t", false},
		{"CREATE TABLE t (id INT PRIMARY KEY) ENGINE=Aria PAGE_CHECKSUM=1 TRANSACTIONAL=1", false},
		{"EXECUTE IMMEDIATE 'SELECT 1'", true},
		{"BEGIN NOT ATOMIC SELECT 1; END", true},
		{"DROP PROCEDURE IF EXISTS p", false},
		{"DROP FUNCTION IF EXISTS f", false},
		{"DROP TRIGGER IF EXISTS trg", false},
		{"DROP EVENT IF EXISTS e", false},
	} {
		rv, _ := New(Config{})
		rep, err := rv.Review(t.Context(), Request{Engine: "mariadb", SQL: tc.sql})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings {
			if f.Rule == RuleSyntax {
				t.Errorf("%s: syntax error: %s", tc.sql, f.Message)
			}
		}
		if rep.NeedsManualReview != tc.manual {
			t.Errorf("%s: needs manual review = %v, want %v", tc.sql, rep.NeedsManualReview, tc.manual)
		}
	}
}

// TestOneStatementPerText: a text the splitter kept whole but the parser
// reads as several statements is refused, so that nothing downstream
// (EXPLAIN against an instance) ever sends two statements.
func TestOneStatementPerText(t *testing.T) {
	runRuleCases(t, "syntax", []ruleCase{
		{name: "mysql delimiter block: manual review", sql: "DELIMITER //\nUPDATE t SET a = 1 WHERE id = 1; DROP TABLE t//\nDELIMITER ;"},
		{name: "pg function body keeps one statement", engine: "postgres", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;"},
	})
}
