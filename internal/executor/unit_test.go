package executor

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// TestSplitScript: scripts are split by sql.Split (one statement per
// statement it returns, at its line and column); what the executor cannot
// run is refused with the line and column.
func TestSplitScript(t *testing.T) {
	type at struct {
		text      string
		line, col int
	}
	for _, tc := range []struct {
		name string
		d    sql.Dialect
		src  string
		want []at
		err  string
	}{
		{name: "basic", d: sql.MariaDB, src: "SELECT 1;\nUPDATE t SET a = 1 WHERE b = 2;",
			want: []at{{"SELECT 1", 1, 1}, {"UPDATE t SET a = 1 WHERE b = 2", 2, 1}}},
		{name: "quotes and comments", d: sql.MariaDB, src: "-- lead;\n/* c; */ INSERT INTO t VALUES ('a;b', \"c;\\\"d\", `e;f`) # x;\n; SELECT 'it''s';",
			want: []at{{"INSERT INTO t VALUES ('a;b', \"c;\\\"d\", `e;f`) # x;", 2, 10}, {"SELECT 'it''s'", 3, 3}}},
		{name: "delimiter", d: sql.MariaDB, src: "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\nDELIMITER ;\nCALL p();",
			want: []at{{"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", 2, 1}, {"CALL p()", 4, 1}}},
		{name: "no trailing delimiter, unicode column", d: sql.MySQL, src: "SELECT 'é';  SELECT 2", want: []at{{"SELECT 'é'", 1, 1}, {"SELECT 2", 1, 14}}},
		{name: "executable comment", d: sql.MariaDB, src: "/*!40101 SET NAMES utf8mb4 */;", want: []at{{"/*!40101 SET NAMES utf8mb4 */", 1, 1}}},
		{name: "double dash without space is an operator", d: sql.MariaDB, src: "UPDATE t SET a = a--1;\nDELETE FROM t WHERE id = 2;",
			want: []at{{"UPDATE t SET a = a--1", 1, 1}, {"DELETE FROM t WHERE id = 2", 2, 1}}},
		{name: "mariadb comment mysql ignores", d: sql.MySQL, src: "/*M! DELETE FROM t */;\nSELECT 1;", want: []at{{"SELECT 1", 2, 1}}},
		{name: "postgres", d: sql.Postgres, src: "-- head\nUPDATE t SET a = $$x;y$$ WHERE id = 1;\n\n/* c */ CREATE INDEX CONCURRENTLY i ON t (a);\nSELECT 'é'",
			want: []at{{"UPDATE t SET a = $$x;y$$ WHERE id = 1", 2, 1}, {"CREATE INDEX CONCURRENTLY i ON t (a)", 4, 9}, {"SELECT 'é'", 5, 1}}},
		{name: "empty statements", d: sql.MariaDB, src: ";;\n;", err: "the script has no statement"},
		{name: "unterminated quote", d: sql.MariaDB, src: "SELECT 1;\nSELECT 'abc", err: "line 2, column 8: unterminated ' quote"},
		{name: "unterminated comment", d: sql.MariaDB, src: "SELECT 1 /* x", err: "line 1, column 10: unterminated /* comment"},
		{name: "unterminated dollar quote", d: sql.Postgres, src: "SELECT 1;\n DO $b$ BEGIN", err: "line 2, column 5: unterminated $b$ quote"},
		{name: "postgres syntax error", d: sql.Postgres, src: "SELECT 1;\nUPDATE t SET a = WHERE id = 1", err: `line 2, column 18: syntax error at or near "WHERE"`},
		{name: "psql command", d: sql.Postgres, src: "SELECT 1;\n\\connect other\nSELECT 2", err: "statement 2 (line 2, column 1): \\connect is a psql command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseScript(tc.d, tc.src)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || errkind.Of(err) != errkind.Invalid {
					t.Fatalf("err = %v, want %q (invalid)", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ats []at
			for _, s := range got {
				ats = append(ats, at{s.Text, s.Line, s.Col})
			}
			if !reflect.DeepEqual(ats, tc.want) {
				t.Errorf("got  %+v\nwant %+v", ats, tc.want)
			}
			if n := len(sql.Split(tc.src, tc.d)); n != len(got) {
				t.Errorf("%d statements, sql.Split has %d", len(got), n)
			}
		})
	}
}

func TestClassifyAndCheck(t *testing.T) {
	const txn = string(sql.KindTxn)
	for _, tc := range []struct {
		d        sql.Dialect
		src      string
		kinds    []string
		err      string // from checkScript without BackupDone
		nonTxIdx int    // 1-based statement that must be nonTx, 0 none
	}{
		{d: sql.MariaDB, src: "USE shop; SET @a = 1; SET SESSION sql_mode = ''; UPDATE t SET a = 1; SELECT 1; ALTER TABLE t ADD c INT; GRANT SELECT ON *.* TO u",
			kinds: []string{KindSession, KindSession, KindSession, KindDML, KindQuery, KindDDL, KindOther}},
		{d: sql.MariaDB, src: "SET GLOBAL max_connections = 10", kinds: []string{KindOther}},
		{d: sql.MariaDB, src: "CREATE TABLE t (a INT) WITH SYSTEM VERSIONING; DROP TEMPORARY TABLE tmp", kinds: []string{KindDDL, KindDDL}},
		{d: sql.MariaDB, src: "BEGIN; UPDATE t SET a = 1; COMMIT", kinds: []string{txn, KindDML, txn},
			err: "statement 1 (line 1, column 1): BEGIN is not allowed"},
		{d: sql.MariaDB, src: "SET autocommit = 0", kinds: []string{txn}, err: "SET autocommit is not allowed"},
		{d: sql.MariaDB, src: "DROP TABLE a, b", kinds: []string{KindDDL}, err: "DROP TABLE a, b is refused unless a backup was taken first"},
		{d: sql.MariaDB, src: "TRUNCATE shop.t", kinds: []string{KindDDL}, err: "TRUNCATE shop.t is refused"},
		{d: sql.MariaDB, src: "DROP DATABASE shop", kinds: []string{KindDDL}, err: "DROP DATABASE shop is refused"},
		// MariaDB's WAIT n is read by the MariaDB dialect; MySQL's grammar
		// rejects it and the statement is classified from its tokens.
		{d: sql.MariaDB, src: "DROP TABLE IF EXISTS t WAIT 5", kinds: []string{KindDDL}, err: "DROP TABLE t is refused"},
		{d: sql.MySQL, src: "DROP TABLE IF EXISTS t WAIT 5", kinds: []string{KindDDL}, err: "DROP TABLE t is refused"},
		{d: sql.MariaDB, src: "DROP VIEW v", kinds: []string{KindDDL}},
		// MariaDB's anonymous block is one statement (sql.Split), as the server needs it.
		{d: sql.MariaDB, src: "BEGIN NOT ATOMIC SELECT 1; END", kinds: []string{KindOther}},
		{d: sql.MariaDB, src: "SELECT * FROM t INTO OUTFILE '/tmp/x'; LOAD DATA INFILE '/tmp/x' INTO TABLE t", kinds: []string{KindOther, KindDML}},
		{d: sql.Postgres, src: "SET search_path = app; UPDATE t SET a = 1; INSERT INTO t VALUES (1); SELECT 1; CREATE INDEX CONCURRENTLY i ON t (a); VACUUM t; DO $$ BEGIN END $$",
			kinds: []string{KindSession, KindDML, KindDML, KindQuery, KindDDL, KindOther, KindOther}, nonTxIdx: 5},
		{d: sql.Postgres, src: "BEGIN; COMMIT", kinds: []string{txn, txn}, err: "BEGIN is not allowed"},
		{d: sql.Postgres, src: "DROP TABLE t; TRUNCATE u", kinds: []string{KindDDL, KindDDL}, err: "statement 2 (line 1, column 15): TRUNCATE u is refused"},
		{d: sql.Postgres, src: "DROP INDEX CONCURRENTLY i", kinds: []string{KindDDL}, nonTxIdx: 1},
	} {
		stmts, err := parseScript(tc.d, tc.src)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		var kinds []string
		for _, s := range stmts {
			kinds = append(kinds, s.Kind)
		}
		if !reflect.DeepEqual(kinds, tc.kinds) {
			t.Errorf("%q: kinds %v, want %v", tc.src, kinds, tc.kinds)
		}
		err = checkScript(stmts, Options{})
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: unexpected refusal %v", tc.src, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err = %v, want %q", tc.src, err, tc.err)
		}
		if tc.err != "" && strings.Contains(tc.err, "refused") {
			if err := checkScript(stmts, Options{BackupDone: true}); err != nil {
				t.Errorf("%q with backup_done: %v", tc.src, err)
			}
		}
		if tc.nonTxIdx > 0 && !stmts[tc.nonTxIdx-1].class.NonTx {
			t.Errorf("%q: statement %d should run outside a transaction", tc.src, tc.nonTxIdx)
		}
	}
	if _, err := parseScript(sql.MySQL, " ;\n -- nothing\n"); err == nil || !strings.Contains(err.Error(), "no statement") {
		t.Errorf("empty script: %v", err)
	}
}

func TestLiterals(t *testing.T) {
	my, pg := sql.MySQL, sql.Postgres
	ts := time.Date(2024, 2, 29, 13, 4, 5, 123456000, time.UTC)
	for _, tc := range []struct {
		d    sql.Dialect
		v    any
		typ  string
		want string
	}{
		{my, nil, "", "NULL"},
		{my, int64(-42), "int", "-42"},
		{my, 0.1, "double", "0.1"},
		{my, "it's", "varchar", "'it''s'"},
		{my, `a\b`, "varchar", `X'615c62'`},
		{sql.MariaDB, `a\b`, "varchar", `X'615c62'`},
		{sql.MariaDB, "1709211845", "timestamp", "'2024-02-29 13:04:05'"},
		{my, "line\nbreak", "text", `X'6c696e650a627265616b'`},
		{my, []byte{0, 0xff}, "blob", "X'00ff'"},
		{my, []byte{}, "blob", "''"},
		{my, ts, "datetime", "'2024-02-29 13:04:05.123456'"},
		{my, ts, "date", "'2024-02-29'"},
		{my, time.Time{}, "datetime", "'0000-00-00 00:00:00'"},
		{my, "1709211845.123000", "timestamp", "'2024-02-29 13:04:05.123'"},
		{my, int64(1709211845), "timestamp", "'2024-02-29 13:04:05'"},
		{my, int64(0), "timestamp", "'0000-00-00 00:00:00'"},
		{pg, "it's \\ ok", "", `'it''s \ ok'`},
		{pg, nil, "", "NULL"},
	} {
		if got := literal(tc.d, tc.v, tc.typ); got != tc.want {
			t.Errorf("literal(%#v, %q) = %s, want %s", tc.v, tc.typ, got, tc.want)
		}
	}
}

func TestKeyEncoding(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, k := range [][]any{nil, {int64(5)}, {"a:b", int64(-1)}, {[]byte{1, 2}, ts, 1.5, nil, true}} {
		enc := encodeKey(k)
		got, err := decodeKey(enc)
		if err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("%#v -> %q -> %#v, %v", k, enc, got, err)
		}
	}
}

func TestRangePred(t *testing.T) {
	q, args := rangePred(sql.MySQL, "", []string{"a", "b"}, nil, []any{int64(1), "x"}, []any{int64(3), "y"}, questionMarks())
	want := "((`a` > ?) OR (`a` = ? AND `b` > ?)) AND ((`a` < ?) OR (`a` = ? AND `b` <= ?))"
	if q != want || !reflect.DeepEqual(args, []any{int64(1), int64(1), "x", int64(3), int64(3), "y"}) {
		t.Errorf("mysql: %s %v", q, args)
	}
	q, args = rangePred(sql.Postgres, `"t"`, []string{"id"}, []string{"integer"}, []any{"5"}, nil, dollars(1))
	if q != `("t"."id") > (CAST($1::text AS integer))` || !reflect.DeepEqual(args, []any{"5"}) {
		t.Errorf("postgres: %s %v", q, args)
	}
	if q, _ := rangePred(sql.MySQL, "", []string{"id"}, nil, nil, nil, questionMarks()); q != "1=1" {
		t.Errorf("unbounded: %s", q)
	}
}

func TestBuildUndo(t *testing.T) {
	my := &table{d: sql.MySQL, Schema: "shop", Name: "items", PK: []string{"id"},
		Cols: []column{{Name: "id", Type: "int"}, {Name: "name", Type: "varchar"}, {Name: "total", Type: "decimal", Generated: true}, {Name: "ts", Type: "timestamp"}}}
	image := [][]any{{int64(1), "a", "2.00", int64(1700000000)}, {int64(2), nil, "3.00", nil}}
	got := buildUndo(my, undoDelete, image, nil)
	want := []string{"INSERT INTO `shop`.`items` (`id`, `name`, `ts`) VALUES (1, 'a', '2023-11-14 22:13:20'), (2, NULL, NULL)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("delete undo:\n%q\nwant\n%q", got, want)
	}
	got = buildUndo(my, undoUpdate, image, nil)
	want = []string{"UPDATE `shop`.`items` AS `dbfleet_t`, (SELECT 1 AS `c1`, 'a' AS `c2`, '2023-11-14 22:13:20' AS `c4` UNION ALL SELECT 2 AS `c1`, NULL AS `c2`, NULL AS `c4`) AS `dbfleet_v` SET `dbfleet_t`.`name` = `dbfleet_v`.`c2`, `dbfleet_t`.`ts` = `dbfleet_v`.`c4` WHERE `dbfleet_t`.`id` = `dbfleet_v`.`c1`"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("update undo:\n%q\nwant\n%q", got, want)
	}
	// An upsert that replaced row 1 and inserted row 9: delete 9, put 1 back.
	got = buildUndo(my, undoInsert, image[:1], [][]any{{"1"}, {int64(9)}, {int64(9)}})
	want = []string{"DELETE FROM `shop`.`items` WHERE `id` IN (9)",
		"INSERT INTO `shop`.`items` (`id`, `name`, `ts`) VALUES (1, 'a', '2023-11-14 22:13:20') ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `ts` = VALUES(`ts`)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("insert undo:\n%q\nwant\n%q", got, want)
	}

	pg := &table{d: sql.Postgres, Schema: "public", Name: "t", PK: []string{"a", "b"},
		Cols: []column{{Name: "a", Type: "integer"}, {Name: "b", Type: "text"}, {Name: "v", Type: "jsonb"}, {Name: "id", Type: "bigint", IdentityAlways: true}}}
	pimg := [][]any{{"1", "x", `{"k": "it's"}`, "7"}}
	got = buildUndo(pg, undoUpdate, pimg, nil)
	want = []string{`UPDATE "public"."t" AS "dbfleet_t" SET "v" = "dbfleet_v"."c3"::jsonb, "id" = "dbfleet_v"."c4"::bigint FROM (VALUES ('1', 'x', '{"k": "it''s"}', '7')) AS "dbfleet_v" ("c1", "c2", "c3", "c4") WHERE "dbfleet_t"."a" = "dbfleet_v"."c1"::integer AND "dbfleet_t"."b" = "dbfleet_v"."c2"::text`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pg update undo:\n%q\nwant\n%q", got, want)
	}
	got = buildUndo(pg, undoDelete, pimg, nil)
	want = []string{`INSERT INTO "public"."t" ("a", "b", "v", "id") OVERRIDING SYSTEM VALUE VALUES ('1', 'x', '{"k": "it''s"}', '7')`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pg delete undo:\n%q\nwant\n%q", got, want)
	}
	got = buildUndo(pg, undoInsert, nil, [][]any{{"1", "x"}, {"2", "y"}})
	want = []string{`DELETE FROM "public"."t" WHERE ("a", "b") IN (('1', 'x'), ('2', 'y'))`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pg insert undo:\n%q\nwant\n%q", got, want)
	}

	// Batches stay below the row limit.
	many := make([][]any, 2500)
	for i := range many {
		many[i] = []any{int64(i), "n", "0", nil}
	}
	if got := buildUndo(my, undoDelete, many, nil); len(got) != 3 {
		t.Errorf("2500 rows in %d statements, want 3", len(got))
	}
}

func TestMyDefAndAlterRollback(t *testing.T) {
	def := parseMyDef("CREATE TABLE `items` (\n" +
		"  `id` int(11) NOT NULL AUTO_INCREMENT,\n" +
		"  `na``me` varchar(50) NOT NULL,\n" +
		"  `qty` int(11) NOT NULL DEFAULT 0 COMMENT 'how, many',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `uk_name` (`na``me`),\n" +
		"  KEY `idx_qty` (`qty`),\n" +
		"  CONSTRAINT `chk` CHECK (`qty` >= 0)\n" +
		") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COMMENT='it''s items'")
	if len(def.Cols) != 3 || def.Cols[1].Name != "na`me" || def.Cols[2].Def != "`qty` int(11) NOT NULL DEFAULT 0 COMMENT 'how, many'" {
		t.Fatalf("cols: %+v", def.Cols)
	}
	if len(def.Keys) != 4 || def.key("uk_name").Kind != "unique" || def.key("PRIMARY") == nil || def.key("chk").Kind != "check" {
		t.Fatalf("keys: %+v", def.Keys)
	}
	if got := oldTableOption(def.Options, "COMMENT", "''"); got != "'it''s items'" {
		t.Errorf("comment option: %s", got)
	}
	for _, tc := range []struct{ alter, want string }{
		{"ALTER TABLE items ADD COLUMN a INT, ADD COLUMN b INT", "ALTER TABLE `items` DROP COLUMN `b`, DROP COLUMN `a`"},
		{"ALTER TABLE items DROP COLUMN qty", "ALTER TABLE `items` ADD COLUMN `qty` int(11) NOT NULL DEFAULT 0 COMMENT 'how, many' AFTER `na``me`"},
		{"ALTER TABLE items MODIFY qty BIGINT", "ALTER TABLE `items` CHANGE COLUMN `qty` `qty` int(11) NOT NULL DEFAULT 0 COMMENT 'how, many'"},
		{"ALTER TABLE items CHANGE qty quantity INT FIRST", "ALTER TABLE `items` CHANGE COLUMN `quantity` `qty` int(11) NOT NULL DEFAULT 0 COMMENT 'how, many' AFTER `na``me`"},
		{"ALTER TABLE items RENAME COLUMN qty TO q", "ALTER TABLE `items` RENAME COLUMN `q` TO `qty`"},
		{"ALTER TABLE items DROP INDEX uk_name, ADD INDEX i2 (qty)", "ALTER TABLE `items` DROP INDEX `i2`, ADD UNIQUE KEY `uk_name` (`na``me`)"},
		{"ALTER TABLE items ALTER COLUMN qty SET DEFAULT 5", "ALTER TABLE `items` MODIFY COLUMN `qty` int(11) NOT NULL DEFAULT 0 COMMENT 'how, many'"},
		{"ALTER TABLE items RENAME TO items2, ADD COLUMN z INT", "ALTER TABLE `items2` DROP COLUMN `z`, RENAME TO `items`"},
		{"ALTER TABLE items COMMENT = 'new', ALGORITHM=INSTANT", "ALTER TABLE `items` COMMENT = 'it''s items'"},
		{"ALTER TABLE items DROP PRIMARY KEY", "ALTER TABLE `items` ADD PRIMARY KEY (`id`)"},
		{"ALTER TABLE items ADD INDEX (qty)", "ALTER TABLE `items` DROP INDEX `\x00unnamed`"},
		{"ALTER TABLE items ROW_FORMAT = COMPRESSED", ""},
		{"ALTER TABLE items DROP COLUMN nope", ""},
	} {
		p, err := sql.Parse(sql.MariaDB, tc.alter)
		if err != nil {
			t.Fatalf("%s: %v", tc.alter, err)
		}
		d := &myDDL{table: "items", before: def}
		d.alterRollback(p.MySQL.(*ast.AlterTableStmt))
		got := strings.Join(d.rollback, ";")
		if got != tc.want {
			t.Errorf("%s:\n got %q (%s)\nwant %q", tc.alter, got, d.why, tc.want)
		}
		if tc.want == "" && d.why == "" {
			t.Errorf("%s: no rollback and no reason", tc.alter)
		}
	}
	// The name the server chose for an unnamed index.
	d := &myDDL{table: "items", before: def, rollback: []string{"ALTER TABLE `items` DROP INDEX `\x00unnamed`"}}
	after := parseMyDef("CREATE TABLE `items` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `uk_name` (`na``me`),\n  KEY `idx_qty` (`qty`),\n  KEY `qty` (`qty`)\n) ENGINE=InnoDB")
	d.finishMyRollback(after)
	if d.rollback[0] != "ALTER TABLE `items` DROP INDEX `qty`" {
		t.Errorf("unnamed index: %q", d.rollback)
	}
}

func TestPredictAlter(t *testing.T) {
	for _, tc := range []struct{ alter, algo string }{
		{"ALTER TABLE t ADD COLUMN c INT", "INSTANT"},
		{"ALTER TABLE t ADD COLUMN c INT, ALTER COLUMN d SET DEFAULT 1, RENAME COLUMN e TO f", "INSTANT"},
		{"ALTER TABLE t ADD INDEX i (c)", "INPLACE"},
		{"ALTER TABLE t ADD PRIMARY KEY (c)", "INPLACE (rebuild)"},
		{"ALTER TABLE t ADD COLUMN c INT, MODIFY d BIGINT", "COPY"},
		{"ALTER TABLE t DROP PRIMARY KEY", "COPY"},
	} {
		p, err := sql.Parse(sql.MariaDB, tc.alter)
		if err != nil {
			t.Fatal(err)
		}
		if algo, lock := predictAlter(p.MySQL.(*ast.AlterTableStmt)); algo != tc.algo || lock == "" {
			t.Errorf("%s: %s / %s, want %s", tc.alter, algo, lock, tc.algo)
		}
	}
}

func TestOSCCommandKeepsThePasswordOffTheCommandLine(t *testing.T) {
	secret := `pa"ss\word,=x`
	c, err := buildOSC("/usr/bin/pt-online-schema-change", []string{"--no-check-alter"}, "127.0.0.1", 3306, "dbfleet", secret, "shop", "items",
		"ADD INDEX `i` (`c`)", Options{MaxLag: Duration(2 * time.Second), MaxThreadsRunning: 40, LockTimeout: Duration(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.cleanup()
	line := strings.Join(c.args, " ")
	if strings.Contains(line, "pa\"ss") || strings.Contains(line, "word") {
		t.Fatalf("password on the command line: %s", line)
	}
	for _, want := range []string{"--alter ADD INDEX `i` (`c`)", "--execute", "--max-lag 2", "--max-load Threads_running=40", "--critical-load Threads_running=200",
		"--set-vars lock_wait_timeout=5", "--no-check-alter", ",h=127.0.0.1,P=3306,D=shop,t=items"} {
		if !strings.Contains(line, want) {
			t.Errorf("command line lacks %q: %s", want, line)
		}
	}
	cnf := c.args[len(c.args)-1]
	cnf = strings.TrimPrefix(cnf[:strings.Index(cnf, ",")], "F=")
	fi, err := os.Stat(cnf)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("defaults file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(c.dir); di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	b, _ := os.ReadFile(cnf)
	if !strings.Contains(string(b), `password="pa\"ss\\word,=x"`) || !strings.Contains(string(b), "[client]") {
		t.Errorf("defaults file: %s", b)
	}
	c.cleanup()
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", c.dir)
	}
	if _, err := buildOSC("x", nil, "h", 1, "u", "p", "sh,op", "t", "a", Options{}); err == nil {
		t.Error("a schema with ',' must be refused")
	}
}

func TestCommitLag(t *testing.T) {
	pos, ok := parsePositions(sql.MySQL, "0-1-100, 1-2-7")
	if !ok || !reflect.DeepEqual(pos, []commitPos{{domain: "0", seq: 100}, {domain: "1", seq: 7}}) {
		t.Fatalf("gtid list: %+v %v", pos, ok)
	}
	if pos, ok := parsePositions(sql.Postgres, "16/B374D848"); !ok || pos[0].seq != 0x16<<32|0xB374D848 {
		t.Fatalf("lsn: %+v %v", pos, ok)
	}
	for _, bad := range []string{"", "0-1", "x/y"} {
		if _, ok := parsePositions(sql.Postgres, bad); ok && bad != "0-1" {
			t.Errorf("%q parsed", bad)
		}
	}
	now := time.Now()
	th := &throttler{commits: []commitPos{{domain: "0", seq: 10, at: now.Add(-3 * time.Second)}, {domain: "0", seq: 11, at: now.Add(-time.Second)}}}
	for _, tc := range []struct {
		applied string
		want    time.Duration
	}{
		{"0-1-9", 3 * time.Second},
		{"0-1-10", time.Second},
		{"0-1-11,1-1-3", 0},
		{"1-1-50", 3 * time.Second}, // another domain says nothing of ours
	} {
		ap, _ := parsePositions(sql.MySQL, tc.applied)
		if got := th.commitLag(ap, now); got != tc.want {
			t.Errorf("applied %s: lag %s, want %s", tc.applied, got, tc.want)
		}
	}
}

// TestSessionID: the id KILL QUERY stops a statement by is read or the run
// does not start; a value that is not a positive integer is an error.
func TestSessionID(t *testing.T) {
	for _, tc := range []struct {
		v    []any
		want int64
		err  string
	}{
		{[]any{int64(42)}, 42, ""},
		{[]any{[]byte("7")}, 7, ""},
		{[]any{"13"}, 13, ""},
		{nil, 0, "no row"},
		{[]any{nil}, 0, `"" is not a session id`},
		{[]any{"x1"}, 0, `"x1" is not a session id`},
		{[]any{int64(0)}, 0, `"0" is not a session id`},
	} {
		rows := &engine.Rows{Columns: []string{"id"}}
		if tc.v != nil {
			rows.Values = [][]any{tc.v}
		}
		got, err := sessionID(rows)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("sessionID(%v) = %d, %v; want %d, %q", tc.v, got, err, tc.want, tc.err)
		}
	}
}
