package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// mapSchema is a Schema from a map of "db.table" (PostgreSQL
// "db.schema.table").
type mapSchema map[string]TableInfo

func (m mapSchema) Table(_ context.Context, db, table string) (TableInfo, bool, error) {
	ti, ok := m[db+"."+table]
	return ti, ok, nil
}

// testAllow are the built-in allow-lists.
var testAllow = func() *allowLists {
	a, err := newAllowLists(AllowedFunctions{})
	if err != nil {
		panic(err)
	}
	return a
}()

// analyzeMySQL plans a MariaDB statement as the console does for a caller
// masking applies to when masked.
func analyzeMySQL(text, db string, limit int) (*plan, error) {
	return planSQL(checkInput{dialect: sql.MariaDB, text: text, db: db, limit: limit, allow: testAllow})
}

func analyzePostgres(text, db string, limit int) (*plan, error) {
	return planSQL(checkInput{dialect: sql.Postgres, text: text, db: db, limit: limit, allow: testAllow})
}

// myNames compare as MariaDB with lower_case_table_names = 0.
var myNames = names{colFold: true}

func cols(names ...string) []ColumnInfo {
	var out []ColumnInfo
	for _, n := range names {
		hidden := strings.HasPrefix(n, "!")
		out = append(out, ColumnInfo{Name: strings.TrimPrefix(n, "!"), Hidden: hidden})
	}
	return out
}

func TestMySQLRefusals(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		// Writes and everything else that is not a read.
		{"DELETE FROM users", "DELETE statements are not allowed"},
		{"delete from users where id = 1", "DELETE statements are not allowed"},
		{"UpDaTe users SET name = 'x'", "UPDATE statements are not allowed"},
		{"INSERT INTO users (id) VALUES (1)", "INSERT statements are not allowed"},
		{"REPLACE INTO users (id) VALUES (1)", "INSERT statements are not allowed"},
		{"DROP TABLE users", "DROP TABLE statements are not allowed"},
		{"TRUNCATE TABLE users", "TRUNCATE TABLE statements are not allowed"},
		{"CREATE TABLE x (a INT)", "CREATE TABLE statements are not allowed"},
		{"ALTER TABLE users ADD COLUMN c INT", "ALTER TABLE statements are not allowed"},
		{"RENAME TABLE users TO u2", "RENAME TABLE statements are not allowed"},
		{"SET SESSION TRANSACTION READ WRITE", "statements are not allowed"},
		{"SET autocommit = 0", "SET statements are not allowed"},
		{"SET @a = 1", "SET statements are not allowed"},
		{"START TRANSACTION", "statements are not allowed"},
		{"COMMIT", "statements are not allowed"},
		{"LOCK TABLES users READ", "statements are not allowed"},
		{"UNLOCK TABLES", "statements are not allowed"},
		{"CALL p()", "CALL statements are not allowed"},
		{"DO SLEEP(1)", "DO statements are not allowed"},
		{"GRANT ALL ON *.* TO 'x'@'%'", "statements are not allowed"},
		{"LOAD DATA INFILE '/tmp/x' INTO TABLE users", "statements are not allowed"},
		{"USE mysql", "USE statements are not allowed"},
		{"KILL 1", "statements are not allowed"},
		{"FLUSH TABLES", "FLUSH statements are not allowed"},
		{"PREPARE s FROM 'DELETE FROM users'", "PREPARE statements are not allowed"},
		{"EXECUTE s", "EXECUTE statements are not allowed"},
		{"ANALYZE TABLE users", "statements are not allowed"},
		{"ANALYZE SELECT 1", "the ANALYZE statement is not allowed"},
		{"ANALYZE FORMAT=JSON SELECT 1", "the ANALYZE statement is not allowed"},
		{"EXPLAIN EXTENDED SELECT 1", "EXPLAIN EXTENDED is not allowed"},
		{"EXPLAIN ANALYZE SELECT * FROM users", "EXPLAIN ANALYZE is not allowed on MariaDB"},
		{"EXPLAIN FORMAT=DOT SELECT 1", "EXPLAIN FORMAT=DOT is not allowed"},
		{"SHOW VARIABLES WHERE Variable_name = 'version' AND (SELECT k FROM secret.keys LIMIT 1) LIKE 'TOP%'", "SHOW ... WHERE and LIKE may not hold a subquery"},
		{"SHOW STATUS WHERE EXISTS (SELECT 1 FROM secret.keys)", "may not hold a subquery"},
		{"SELECT 1 FROM users WHERE db.f(id)", "function db.F() is not on the console's allow-list"},
		{"SELECT CHAR(65)", "function CHAR() is not on the console's allow-list"},
		{"SELECT 'a\x00'", "the statement holds a NUL byte (line 1 column 10)"},
		{"SELECT '\xff'", "not valid UTF-8"},
		{"HANDLER users OPEN", "grammar cannot check this statement (a statement the MySQL grammar does not cover (HANDLER))"},
		// Multi-statement tricks.
		{"SELECT 1; DELETE FROM users", "exactly one statement"},
		{"SELECT 1;DELETE FROM users", "exactly one statement"},
		{"SELECT 1; SELECT 2", "exactly one statement"},
		{"select 1 ;\n\n  drop table users", "exactly one statement"},
		{"", "the statement is empty"},
		{"-- only a comment", "the statement is empty"},
		// Comments that run (or hide) code.
		{"/*!50000 DELETE FROM users */", "special comments (/*! ... */, at line 1 column 1) are not allowed"},
		{"SELECT 1 /*! , (SELECT phone FROM users) */", "special comments (/*! ... */"},
		{"SELECT 1 /*M!100000 , (SELECT phone FROM users) */", "special comments (/*M! ... */"},
		{"SELECT 1 /*m!100000 FROM mysql.user */", "special comments (/*M! ... */"},
		{"SELECT 1 /*T! , 'a */ , (SELECT k FROM secret.keys LIMIT 1) /*' */", "special comments (/*T! ... */"},
		{"SELECT 1 /*+ MAX_EXECUTION_TIME(1) */", "special comments (/*+ ... */"},
		{"SET STATEMENT max_statement_time=0 FOR SELECT 1", "SET STATEMENT ... FOR prefix (MariaDB) not reviewed"},
		{"SELECT * FROM users FOR SYSTEM_TIME ALL", "the console's grammar cannot check this statement"},
		{"/* harmless */ DELETE FROM users", "DELETE statements are not allowed"},
		{"-- note\nDELETE FROM users", "DELETE statements are not allowed"},
		{"# note\nDELETE FROM users", "DELETE statements are not allowed"},
		// INTO.
		{"SELECT * FROM users INTO OUTFILE '/tmp/x'", "SELECT ... INTO is not allowed"},
		{"select * from users into outfile '/tmp/x'", "SELECT ... INTO is not allowed"},
		{"SELECT * FROM users INTO DUMPFILE '/tmp/x'", "SELECT ... INTO is not allowed"},
		{"SELECT phone INTO @p FROM users", "SELECT ... INTO is not allowed"},
		{"SELECT phone FROM users INTO @p", "SELECT ... INTO is not allowed"},
		{"SELECT * FROM (SELECT 1 AS a) d INTO @x", "SELECT ... INTO is not allowed"},
		{"EXPLAIN SELECT * FROM users INTO OUTFILE '/tmp/x'", "SELECT ... INTO is not allowed"},
		// Locking reads.
		{"SELECT * FROM users FOR UPDATE", "FOR UPDATE is not allowed"},
		{"select * from users for update nowait", "FOR UPDATE NOWAIT is not allowed"},
		{"SELECT * FROM users LOCK IN SHARE MODE", "FOR SHARE is not allowed"},
		{"SELECT * FROM users FOR SHARE", "FOR SHARE is not allowed"},
		{"SELECT * FROM (SELECT * FROM users FOR UPDATE) d", "FOR UPDATE is not allowed"},
		{"SELECT * FROM users WHERE id IN (SELECT user_id FROM orders FOR UPDATE)", "FOR UPDATE is not allowed"},
		// Functions that sleep, lock, read files or write.
		{"SELECT SLEEP(1)", "function SLEEP() is not on the console's allow-list"},
		{"select sleep(1)", "function SLEEP() is not on the console's allow-list"},
		{"SELECT SlEeP (1)", "function SLEEP() is not on the console's allow-list"},
		{"SELECT BENCHMARK(1000000, MD5('a'))", "function BENCHMARK() is not on the console's allow-list"},
		{"SELECT GET_LOCK('x', 10)", "function GET_LOCK() is not on the console's allow-list"},
		{"SELECT RELEASE_LOCK('x')", "function RELEASE_LOCK() is not on the console's allow-list"},
		{"SELECT IS_USED_LOCK('x')", "function IS_USED_LOCK() is not on the console's allow-list"},
		{"SELECT LOAD_FILE('/etc/passwd')", "function LOAD_FILE() is not on the console's allow-list"},
		{"SELECT MASTER_POS_WAIT('f', 4)", "function MASTER_POS_WAIT() is not on the console's allow-list"},
		{"SELECT NEXTVAL(s)", "function NEXTVAL() (NEXT VALUE FOR) is not on the console's allow-list"},
		{"SELECT NEXT VALUE FOR s", "function NEXTVAL() (NEXT VALUE FOR) is not on the console's allow-list"},
		{"SELECT LAST_INSERT_ID(5)", "function LAST_INSERT_ID() is not on the console's allow-list"},
		{"SELECT sys_exec('id')", "function SYS_EXEC() is not on the console's allow-list"},
		{"SELECT * FROM users WHERE id = (SELECT SLEEP(5))", "function SLEEP() is not on the console's allow-list"},
		{"SELECT * FROM users WHERE EXISTS (SELECT 1 FROM orders WHERE SLEEP(1))", "function SLEEP() is not on the console's allow-list"},
		{"SELECT (SELECT (SELECT (SELECT sleep(1))))", "function SLEEP() is not on the console's allow-list"},
		{"WITH x AS (SELECT SLEEP(1)) SELECT * FROM x", "function SLEEP() is not on the console's allow-list"},
		{"SELECT 1 UNION SELECT SLEEP(1)", "function SLEEP() is not on the console's allow-list"},
		{"SELECT * FROM users ORDER BY SLEEP(1)", "function SLEEP() is not on the console's allow-list"},
		{"SELECT * FROM users GROUP BY id HAVING SLEEP(1)", "function SLEEP() is not on the console's allow-list"},
		{"EXPLAIN SELECT SLEEP(1)", "function SLEEP() is not on the console's allow-list"},
		// Variables.
		{"SELECT @a := 1", "assigning variables"},
		{"SELECT * FROM users WHERE (@a := id)", "assigning variables"},
		// SHOW outside the safe subset.
		{"SHOW PROCESSLIST", "this SHOW statement is not allowed"},
		{"SHOW FULL PROCESSLIST", "this SHOW statement is not allowed"},
		{"SHOW GRANTS", "this SHOW statement is not allowed"},
		{"SHOW SLAVE STATUS", "this SHOW statement is not allowed"},
		{"SHOW MASTER STATUS", "this SHOW statement is not allowed"},
		{"SHOW CREATE USER root", "this SHOW statement is not allowed"},
		{"SHOW OPEN TABLES", "this SHOW statement is not allowed"},
		{"SHOW BINLOG EVENTS", "grammar cannot check this statement (a statement the MySQL grammar does not cover (SHOW BINLOG))"},
		// EXPLAIN that runs a write.
		{"EXPLAIN ANALYZE DELETE FROM users", "EXPLAIN ANALYZE of DELETE is not allowed"},
		{"EXPLAIN ANALYZE UPDATE users SET name = 'x'", "EXPLAIN ANALYZE of UPDATE is not allowed"},
		{"EXPLAIN FOR CONNECTION 1", "statements are not allowed"},
		{"EXPLAIN DROP TABLE users", "cannot parse"},
		// Unqualified table and no database.
		{"SELECT * FROM users", "table users has no database"},
	} {
		db := "shop"
		if strings.Contains(tc.want, "has no database") {
			db = ""
		}
		_, err := analyzeMySQL(tc.sql, db, 1000)
		if err == nil {
			t.Errorf("%q: allowed, want refused with %q", tc.sql, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tc.sql, err, tc.want)
		}
		if k := errkind.Of(err); k != errkind.Forbidden && k != errkind.Invalid {
			t.Errorf("%q: kind %v", tc.sql, k)
		}
	}
}

func TestMySQLAllowed(t *testing.T) {
	for _, tc := range []struct {
		sql, kind string
		access    []string // db.table, db. for a database, "" for the instance
		run       string   // what is sent, when it differs
	}{
		{"SELECT 1", KindSelect, []string{""}, "SELECT 1 LIMIT 1001"},
		{"select now(), @@version", KindSelect, []string{""}, "SELECT NOW() AS `now()`,@@`version` AS `@@version` LIMIT 1001"},
		{"SELECT * FROM users", KindSelect, []string{"shop.users"}, "SELECT * FROM `users` LIMIT 1001"},
		{"SELECT * FROM users LIMIT 5;", KindSelect, []string{"shop.users"}, "SELECT * FROM `users` LIMIT 5"},
		{"SELECT * FROM users -- trailing", KindSelect, []string{"shop.users"}, "SELECT * FROM `users` LIMIT 1001"},
		{"SELECT * FROM users;", KindSelect, []string{"shop.users"}, "SELECT * FROM `users` LIMIT 1001"},
		{"SELECT id /* note */ FROM users # mine", KindSelect, []string{"shop.users"}, "SELECT `id` FROM `users` LIMIT 1001"},
		{"(SELECT 1) UNION (SELECT 2)", KindSelect, []string{""}, "(SELECT 1) UNION (SELECT 2) LIMIT 1001"},
		{"SELECT 'it''s', \"a\\\"b\", 'x\\ny'", KindSelect, []string{""}, ""},
		{"SELECT u.id FROM users u JOIN crm.contacts c ON c.id = u.id", KindSelect, []string{"shop.users", "crm.contacts"}, ""},
		{"SELECT (SELECT MAX(id) FROM orders) FROM users WHERE id IN (SELECT user_id FROM payments)", KindSelect, []string{"shop.orders", "shop.users", "shop.payments"}, ""},
		{"SELECT a FROM t1 UNION SELECT b FROM other.t2", KindSelect, []string{"shop.t1", "other.t2"}, ""},
		{"(SELECT a FROM t1) UNION ALL (SELECT b FROM t2) ORDER BY 1", KindSelect, []string{"shop.t1", "shop.t2"}, ""},
		{"WITH x AS (SELECT * FROM users) SELECT * FROM x", KindSelect, []string{"shop.users"}, ""},
		{"WITH x AS (SELECT 1) SELECT * FROM x, other.x", KindSelect, []string{"other.x"}, ""},
		// b is defined after a: inside a, b is the table shop.b.
		{"WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b", KindSelect, []string{"shop.b"}, ""},
		{"WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r", KindSelect, []string{""}, ""},
		{"SELECT * FROM (WITH y AS (SELECT id FROM orders) SELECT * FROM y) d JOIN y ON 1", KindSelect, []string{"shop.orders", "shop.y"}, ""},
		{"TABLE users", KindSelect, []string{"shop.users"}, "TABLE `users` LIMIT 1001"},
		{"SHOW DATABASES", KindShow, []string{""}, ""},
		{"SHOW TABLES", KindShow, []string{"shop."}, ""},
		{"show full tables from crm like 'c%'", KindShow, []string{"crm."}, ""},
		{"SHOW TABLE STATUS", KindShow, []string{"shop."}, ""},
		{"SHOW COLUMNS FROM users", KindShow, []string{"shop.users"}, ""},
		{"SHOW INDEX FROM crm.contacts", KindShow, []string{"crm.contacts"}, ""},
		{"SHOW CREATE TABLE users", KindShow, []string{"shop.users"}, ""},
		{"SHOW VARIABLES LIKE 'max%'", KindShow, []string{""}, ""},
		{"SHOW GLOBAL STATUS", KindShow, []string{""}, ""},
		{"SHOW TRIGGERS", KindShow, []string{"shop.*"}, ""},
		{"DESCRIBE users", KindShow, []string{"shop.users"}, ""},
		{"desc crm.contacts", KindShow, []string{"crm.contacts"}, ""},
		{"EXPLAIN SELECT * FROM users WHERE id = 1", KindExplain, []string{"shop.users"}, "EXPLAIN FORMAT = 'TRADITIONAL' SELECT * FROM `users` WHERE `id` = 1"},
		{"EXPLAIN FORMAT=JSON SELECT * FROM users", KindExplain, []string{"shop.users"}, "EXPLAIN FORMAT = 'JSON' SELECT * FROM `users`"},
		{"SHOW VARIABLES LIKE 'version%'", KindShow, []string{""}, "SHOW SESSION VARIABLES LIKE 'version%'"},
		{"SHOW DATABASES WHERE `Database` LIKE 's%'", KindShow, []string{""}, ""},
		{"SELECT * FROM information_schema.TABLES", KindSelect, []string{"information_schema.TABLES"}, ""},
		{"EXPLAIN DELETE FROM users WHERE id = 1", KindExplain, []string{"shop.users"}, ""},
		{"EXPLAIN INSERT INTO users (id) SELECT id FROM orders", KindExplain, []string{"shop.users", "shop.orders"}, ""},
		{"SELECT 'DELETE FROM users; SLEEP(1) /*! x */ INTO' AS s", KindSelect, []string{""}, ""},
		{"SELECT `into` FROM users", KindSelect, []string{"shop.users"}, ""},
		{"SELECT COUNT(*) FROM users WHERE name = \"it's\" -- /*!\n", KindSelect, []string{"shop.users"}, ""},
	} {
		p, err := analyzeMySQL(tc.sql, "shop", 1000)
		if err != nil {
			t.Errorf("%q: %v", tc.sql, err)
			continue
		}
		if p.kind != tc.kind {
			t.Errorf("%q: kind %s, want %s", tc.sql, p.kind, tc.kind)
		}
		if got := accessStrings(p.access); !sameSet(got, tc.access) {
			t.Errorf("%q: access %q, want %q", tc.sql, got, tc.access)
		}
		if tc.run != "" && p.sql != tc.run {
			t.Errorf("%q: sends %q, want %q", tc.sql, p.sql, tc.run)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func accessStrings(as []access) []string {
	var out []string
	for _, a := range as {
		switch {
		case a.DB == "":
			out = append(out, "")
		default:
			out = append(out, a.DB+"."+a.Table)
		}
	}
	return out
}

var testRules = []MaskRule{
	{Column: "phone", Kind: MaskPhone},
	{Column: "*email*", Kind: MaskEmail},
	{Database: "shop", Table: "orders", Column: "card", Kind: MaskBankCard},
	{Table: "hidden", Column: "secret", Kind: MaskFull},
	{Database: "app", Table: "public.orders", Column: "card", Kind: MaskBankCard},
}

// kinds is the mask each output column gets ("" none), wide entries
// prefixed with "*".
func kinds(ls []lineage) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		if r := maskFor(testRules, "db1", l); r != nil {
			out[i] = string(r.Kind)
		}
		if l.wide {
			out[i] = "*" + out[i]
		}
	}
	return out
}

var myTestSchema = mapSchema{
	"shop.users":   {Columns: cols("id", "name", "phone", "email")},
	"shop.orders":  {Columns: cols("id", "user_id", "card")},
	"shop.hidden":  {Columns: cols("id", "!secret")},
	"shop.v_users": {View: true, Columns: cols("id", "mobile"), Definition: "select `shop`.`users`.`id` AS `id`,`shop`.`users`.`phone` AS `mobile` from `shop`.`users`"},
	"shop.v_v":     {View: true, Columns: cols("m"), Definition: "select `v_users`.`mobile` AS `m` from `shop`.`v_users`"},
	"shop.v_dark":  {View: true, Columns: cols("id")},
	"crm.contacts": {Columns: cols("id", "Phone", "note")},
}

func TestMySQLLineage(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"SELECT phone FROM users", []string{"phone"}},
		{"SELECT PHONE FROM users", []string{"phone"}},
		{"SELECT phone AS p FROM users", []string{"phone"}},
		{"SELECT u.phone AS x, id FROM users u", []string{"phone", ""}},
		{"SELECT shop.users.phone FROM shop.users", []string{"phone"}},
		{"SELECT (phone) FROM users", []string{"phone"}},
		{"SELECT CONCAT(name, phone) FROM users", []string{"full"}},
		{"SELECT UPPER(email) e FROM users", []string{"full"}},
		{"SELECT SUBSTRING(phone, 4, 8) FROM users", []string{"full"}},
		{"SELECT phone + 0 FROM users", []string{"full"}},
		{"SELECT *, phone FROM users", []string{"", "", "phone", "email", "phone"}},
		{"SELECT * FROM users", []string{"", "", "phone", "email"}},
		{"SELECT users.* FROM users", []string{"", "", "phone", "email"}},
		{"SELECT u.*, o.card FROM users u JOIN orders o ON o.user_id = u.id", []string{"", "", "phone", "email", "bank_card"}},
		{"SELECT o.* FROM users u JOIN orders o ON o.user_id = u.id", []string{"", "", "bank_card"}},
		{"SELECT * FROM users u, orders o", []string{"", "", "phone", "email", "", "", "bank_card"}},
		{"SELECT x FROM (SELECT phone AS x FROM users) d", []string{"phone"}},
		{"SELECT d.* FROM (SELECT id, phone FROM users) d", []string{"", "phone"}},
		{"SELECT * FROM (SELECT * FROM (SELECT phone p FROM users) a) b", []string{"phone"}},
		{"WITH c AS (SELECT phone AS p FROM users) SELECT p FROM c", []string{"phone"}},
		{"WITH c (a) AS (SELECT phone FROM users) SELECT a FROM c", []string{"phone"}},
		{"WITH c AS (SELECT email FROM users), d AS (SELECT email AS e FROM c) SELECT UPPER(e) FROM d", []string{"full"}},
		{"SELECT name FROM users UNION SELECT phone FROM users", []string{"phone"}},
		{"SELECT id FROM users UNION ALL SELECT email FROM users UNION SELECT 1", []string{"email"}},
		{"SELECT id, 'x' FROM users UNION SELECT UPPER(phone), card FROM orders, users", []string{"full", "bank_card"}},
		{"SELECT (SELECT phone FROM users u2 WHERE u2.id = u.id) FROM users u", []string{"full"}},
		{"SELECT id FROM users WHERE id IN (SELECT user_id FROM orders WHERE card LIKE '4%')", []string{""}},
		{"SELECT CASE WHEN id > 1 THEN phone ELSE 'x' END FROM users", []string{"full"}},
		{"SELECT CASE WHEN phone LIKE '1%' THEN 'a' ELSE 'b' END FROM users", []string{"full"}},
		{"SELECT COUNT(phone), COUNT(DISTINCT email), MAX(phone), MIN(email), GROUP_CONCAT(phone) FROM users", []string{"", "", "full", "full", "full"}},
		{"SELECT COUNT(*), SUM(id) FROM users", []string{"", ""}},
		{"SELECT id FROM users WHERE phone LIKE '1%'", []string{""}},
		{"SELECT JSON_OBJECT('p', phone) FROM users", []string{"full"}},
		{"SELECT id, (SELECT MAX(card) FROM orders) FROM users", []string{"", "full"}},
		{"SELECT mobile FROM v_users", []string{"phone"}},
		{"SELECT * FROM v_users", []string{"", "phone"}},
		{"SELECT m FROM v_v", []string{"phone"}},
		{"SELECT * FROM hidden", []string{""}},
		{"SELECT secret FROM hidden", []string{"full"}},
		{"SELECT * FROM users JOIN orders USING (id)", []string{"", "", "phone", "email", "", "bank_card"}},
		{"SELECT * FROM users NATURAL JOIN orders", []string{"", "", "phone", "email", "", "bank_card"}},
		{"SELECT * FROM users RIGHT JOIN orders USING (id)", []string{"*full"}},
		{"WITH RECURSIVE r (n, p) AS (SELECT 1, phone FROM users UNION ALL SELECT n + 1, p FROM r WHERE n < 3) SELECT p, n FROM r", []string{"phone", ""}},
		{"WITH RECURSIVE r (n, p) AS (SELECT 1, name FROM users UNION ALL SELECT n + 1, CONCAT(p, (SELECT email FROM users LIMIT 1)) FROM r WHERE n < 3) SELECT p FROM r", []string{"full"}},
		{"SELECT c.phone, c.note FROM crm.contacts c", []string{"phone", ""}},
		{"SELECT 1, 'a', NOW()", []string{"", "", ""}},
		{"TABLE users", []string{"", "", "phone", "email"}},
		{"SELECT LENGTH(phone) FROM users", []string{"full"}},
		{"SELECT id FROM users ORDER BY phone", []string{""}},
	} {
		p, err := analyzeMySQL(tc.sql, "shop", 1000)
		if err != nil {
			t.Errorf("%q: %v", tc.sql, err)
			continue
		}
		ls, err := p.lineage(context.Background(), myTestSchema, myNames)
		if err != nil {
			t.Errorf("%q: lineage: %v", tc.sql, err)
			continue
		}
		if got := kinds(ls); !slices.Equal(got, tc.want) {
			t.Errorf("%q: masks %q, want %q", tc.sql, got, tc.want)
		}
	}
}

func TestMySQLLineageRefused(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"SELECT nosuch FROM users", "cannot resolve column nosuch"},
		{"SELECT * FROM missing", "shop.missing does not exist"},
		{"SELECT * FROM v_dark", "definition is not visible"},
		{"SELECT zz.* FROM users", "unknown table zz"},
	} {
		p, err := analyzeMySQL(tc.sql, "shop", 1000)
		if err != nil {
			t.Errorf("%q: %v", tc.sql, err)
			continue
		}
		_, err = p.lineage(context.Background(), myTestSchema, myNames)
		var le *errLineage
		if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: lineage err = %v, want a lineage error about %q", tc.sql, err, tc.want)
		}
	}
}

func TestPostgresRefusals(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"DELETE FROM users", "DELETE statements are not allowed"},
		{"delete from users where id = 1", "DELETE statements are not allowed"},
		{"UPDATE users SET name = 'x'", "UPDATE statements are not allowed"},
		{"INSERT INTO users (id) VALUES (1)", "INSERT statements are not allowed"},
		{"MERGE INTO users u USING orders o ON u.id = o.id WHEN MATCHED THEN DELETE", "MERGE statements are not allowed"},
		{"TRUNCATE users", "TRUNCATE statements are not allowed"},
		{"DROP TABLE users", "DROP statements are not allowed"},
		{"CREATE TABLE x (a int)", "CREATE statements are not allowed"},
		{"CREATE TABLE x AS SELECT 1", "CREATE TABLE AS statements are not allowed"},
		{"SET default_transaction_read_only = off", "VARIABLE SET statements are not allowed"},
		{"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "VARIABLE SET statements are not allowed"},
		{"RESET ALL", "VARIABLE SET statements are not allowed"},
		{"BEGIN", "TRANSACTION statements are not allowed"},
		{"COMMIT", "TRANSACTION statements are not allowed"},
		{"COPY users TO STDOUT", "COPY statements are not allowed"},
		{"COPY (SELECT 1) TO '/tmp/x'", "COPY statements are not allowed"},
		{"DO $$ BEGIN DELETE FROM users; END $$", "DO statements are not allowed"},
		{"CALL p()", "CALL statements are not allowed"},
		{"LOCK TABLE users", "LOCK statements are not allowed"},
		{"LISTEN x", "LISTEN statements are not allowed"},
		{"NOTIFY x", "NOTIFY statements are not allowed"},
		{"VACUUM users", "VACUUM statements are not allowed"},
		{"PREPARE p AS DELETE FROM users", "PREPARE statements are not allowed"},
		{"EXECUTE p", "EXECUTE statements are not allowed"},
		{"DECLARE c CURSOR FOR SELECT 1", "DECLARE CURSOR statements are not allowed"},
		{"SELECT * INTO newt FROM users", "SELECT ... INTO is not allowed"},
		{"SELECT * FROM users FOR UPDATE", "FOR UPDATE/SHARE is not allowed"},
		{"select * from users for share", "FOR UPDATE/SHARE is not allowed"},
		{"SELECT * FROM users FOR NO KEY UPDATE", "FOR UPDATE/SHARE is not allowed"},
		{"SELECT * FROM users FOR KEY SHARE SKIP LOCKED", "FOR UPDATE/SHARE is not allowed"},
		{"SELECT 1 FROM (SELECT * FROM users FOR UPDATE) s", "FOR UPDATE/SHARE is not allowed"},
		{"SELECT pg_sleep(1)", "function pg_sleep() is not on the console's allow-list"},
		{"SELECT PG_SLEEP(1)", "function pg_sleep() is not on the console's allow-list"},
		{"select pg_catalog.pg_sleep(1)", "function pg_catalog.pg_sleep() is not on the console's allow-list"},
		{"SELECT pg_sleep_for('1 second')", "function pg_sleep_for() is not on the console's allow-list"},
		{"SELECT pg_advisory_lock(1)", "function pg_advisory_lock() is not on the console's allow-list"},
		{"SELECT pg_try_advisory_xact_lock(1)", "function pg_try_advisory_xact_lock() is not on the console's allow-list"},
		{"SELECT lo_import('/etc/passwd')", "function lo_import() is not on the console's allow-list"},
		{"SELECT pg_read_file('/etc/passwd')", "function pg_read_file() is not on the console's allow-list"},
		{"SELECT * FROM pg_ls_dir('.')", "function pg_ls_dir() is not on the console's allow-list"},
		{"SELECT set_config('default_transaction_read_only', 'off', false)", "function set_config() is not on the console's allow-list"},
		{"SELECT nextval('s')", "function nextval() is not on the console's allow-list"},
		{"SELECT txid_current()", "function txid_current() is not on the console's allow-list"},
		{"SELECT pg_terminate_backend(1)", "function pg_terminate_backend() is not on the console's allow-list"},
		{"SELECT * FROM dblink('host=x', 'select 1') AS t(a int)", "function dblink() is not on the console's allow-list"},
		{"SELECT query_to_xml('select * from secret', true, true, '')", "function query_to_xml() is not on the console's allow-list"},
		{"SELECT table_to_xml('secret', true, true, '')", "function table_to_xml() is not on the console's allow-list"},
		{"SELECT * FROM users WHERE id = (SELECT pg_sleep(1))", "function pg_sleep() is not on the console's allow-list"},
		{"SELECT (SELECT (SELECT pg_sleep(1)))", "function pg_sleep() is not on the console's allow-list"},
		{"SELECT 1 UNION SELECT pg_sleep(1)", "function pg_sleep() is not on the console's allow-list"},
		{"SELECT * FROM users ORDER BY pg_sleep(1)", "function pg_sleep() is not on the console's allow-list"},
		{"WITH x AS (DELETE FROM users RETURNING *) SELECT * FROM x", "WITH x AS (DELETE ...) is not allowed"},
		{"WITH x AS (INSERT INTO users (id) VALUES (1) RETURNING *) SELECT 1", "WITH x AS (INSERT ...) is not allowed"},
		{"WITH x AS (UPDATE users SET name = 'a' RETURNING *) SELECT * FROM x", "WITH x AS (UPDATE ...) is not allowed"},
		{"SELECT * FROM (WITH y AS (DELETE FROM users RETURNING id) SELECT * FROM y) s", "WITH y AS (DELETE ...) is not allowed"},
		{"SELECT 1; DELETE FROM users", "exactly one statement"},
		{"SELECT 1;SELECT 2", "exactly one statement"},
		{"", "the statement is empty"},
		{"/* x */ DELETE FROM users", "DELETE statements are not allowed"},
		{"-- SELECT\nDELETE FROM users", "DELETE statements are not allowed"},
		{"EXPLAIN ANALYZE DELETE FROM users", "EXPLAIN ANALYZE of DELETE is not allowed"},
		{"EXPLAIN (ANALYZE, BUFFERS) UPDATE users SET name = 'x'", "EXPLAIN ANALYZE of UPDATE is not allowed"},
		{"EXPLAIN ANALYZE SELECT pg_sleep(1)", "function pg_sleep() is not on the console's allow-list"},
		{"EXPLAIN CREATE TABLE x AS SELECT 1", "EXPLAIN of CREATE TABLE AS is not allowed"},
		{"SELECT * FROM otherdb.public.users", "in another database"},
		{"SELEC 1", "cannot parse"},
	} {
		_, err := analyzePostgres(tc.sql, "app", 1000)
		if err == nil {
			t.Errorf("%q: allowed, want refused with %q", tc.sql, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tc.sql, err, tc.want)
		}
	}
}

func TestPostgresAllowed(t *testing.T) {
	for _, tc := range []struct {
		sql, kind string
		access    []string
		run       string
	}{
		{"SELECT 1", KindSelect, []string{""}, "SELECT 1 LIMIT 1001"},
		{"VALUES (1), (2)", KindSelect, []string{""}, "VALUES (1), (2) LIMIT 1001"},
		{"TABLE users", KindSelect, []string{"app.public.users"}, "SELECT * FROM users LIMIT 1001"},
		{"SELECT * FROM users LIMIT 3", KindSelect, []string{"app.public.users"}, "SELECT * FROM users LIMIT 3"},
		{"SELECT * FROM users LIMIT ALL", KindSelect, []string{"app.public.users"}, "SELECT * FROM users LIMIT 1001"},
		{"SELECT * FROM users FETCH FIRST 3 ROWS ONLY;", KindSelect, []string{"app.public.users"}, "SELECT * FROM users LIMIT 3"},
		{"SELECT * FROM users -- x", KindSelect, []string{"app.public.users"}, "SELECT * FROM users LIMIT 1001"},
		{"SELECT lower(name), count(*) FROM users GROUP BY 1", KindSelect, []string{"app.public.users"}, "SELECT pg_catalog.lower(name), pg_catalog.count(*) FROM users GROUP BY 1 LIMIT 1001"},
		{"SELECT 1 UNION SELECT 2", KindSelect, []string{""}, "SELECT 1 UNION SELECT 2 LIMIT 1001"},
		{"SHOW TIME ZONE", KindShow, []string{""}, ""},
		{"SELECT current_setting('work_mem')", KindSelect, []string{""}, ""},
		{"SELECT * FROM pg_stat_activity", KindSelect, []string{"app.pg_catalog.pg_stat_activity"}, ""},
		{"SELECT * FROM pg_stats", KindSelect, []string{"app.pg_catalog.pg_stats"}, ""},
		{"SELECT * FROM information_schema.tables", KindSelect, []string{"app.information_schema.tables"}, ""},
		{"SELECT * FROM app.crm.contacts", KindSelect, []string{"app.crm.contacts"}, ""},
		{"WITH x AS (SELECT * FROM users) SELECT * FROM x", KindSelect, []string{"app.public.users"}, ""},
		{"WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", KindSelect, []string{"app.public.b"}, ""},
		{"WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", KindSelect, []string{""}, ""},
		{"SELECT id FROM users WHERE id IN (SELECT user_id FROM orders) UNION SELECT 1 FROM crm.x", KindSelect, []string{"app.public.users", "app.public.orders", "app.crm.x"}, ""},
		{"SHOW search_path", KindShow, []string{""}, "SHOW search_path"},
		{"EXPLAIN SELECT * FROM users", KindExplain, []string{"app.public.users"}, ""},
		{"EXPLAIN ANALYZE SELECT * FROM users", KindExplain, []string{"app.public.users"}, ""},
		{"EXPLAIN (ANALYZE false) DELETE FROM users", KindExplain, []string{"app.public.users"}, ""},
		{"EXPLAIN DELETE FROM users WHERE id = 1", KindExplain, []string{"app.public.users"}, ""},
		{"SELECT 'DELETE FROM x; pg_sleep(1)'", KindSelect, []string{""}, ""},
	} {
		p, err := analyzePostgres(tc.sql, "app", 1000)
		if err != nil {
			t.Errorf("%q: %v", tc.sql, err)
			continue
		}
		if p.kind != tc.kind {
			t.Errorf("%q: kind %s, want %s", tc.sql, p.kind, tc.kind)
		}
		if got := accessStrings(p.access); !sameSet(got, tc.access) {
			t.Errorf("%q: access %q, want %q", tc.sql, got, tc.access)
		}
		if tc.run != "" && p.sql != tc.run {
			t.Errorf("%q: sends %q, want %q", tc.sql, p.sql, tc.run)
		}
	}
}

var pgTestSchema = mapSchema{
	"app.public.users":   {Columns: cols("id", "name", "phone", "email")},
	"app.public.orders":  {Columns: cols("id", "user_id", "card")},
	"app.public.v_users": {View: true, Columns: cols("id", "mobile"), Definition: " SELECT users.id,\n    users.phone AS mobile\n   FROM users;"},
	"app.crm.contacts":   {Columns: cols("id", "phone")},
}

func TestPostgresLineage(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"SELECT phone FROM users", []string{"phone"}},
		{"SELECT phone AS p, u.email FROM users u", []string{"phone", "email"}},
		{"SELECT public.users.phone FROM public.users", []string{"phone"}},
		{"SELECT upper(email) FROM users", []string{"full"}},
		{"SELECT phone::text FROM users", []string{"full"}},
		{"SELECT name || phone FROM users", []string{"full"}},
		{"SELECT * FROM users", []string{"", "", "phone", "email"}},
		{"SELECT u.*, o.card FROM users u JOIN orders o ON o.user_id = u.id", []string{"", "", "phone", "email", "bank_card"}},
		{"SELECT *, 1 FROM users u, orders o", []string{"", "", "phone", "email", "", "", "bank_card", ""}},
		{"SELECT x FROM (SELECT phone AS x FROM users) d", []string{"phone"}},
		{"SELECT b FROM (SELECT id, phone FROM users) d (a, b)", []string{"phone"}},
		{"WITH c AS (SELECT phone AS p FROM users) SELECT p FROM c", []string{"phone"}},
		{"WITH c (a) AS (SELECT phone FROM users) SELECT * FROM c", []string{"phone"}},
		{"SELECT name FROM users UNION SELECT phone FROM users", []string{"phone"}},
		{"SELECT (SELECT phone FROM users u2 WHERE u2.id = u.id) FROM users u", []string{"full"}},
		{"SELECT CASE WHEN id > 1 THEN phone END FROM users", []string{"full"}},
		{"SELECT count(phone), count(DISTINCT email), max(phone), string_agg(email, ',') FROM users", []string{"", "", "full", "full"}},
		{"SELECT u FROM users u", []string{"full"}},
		{"SELECT row_to_json(u) FROM users u", []string{"full"}},
		{"SELECT row_to_json(u.*) FROM users u", []string{"full"}},
		{"SELECT to_jsonb(o) FROM orders o", []string{"full"}},
		{"SELECT id FROM users WHERE phone LIKE '1%'", []string{""}},
		{"SELECT mobile FROM v_users", []string{"phone"}},
		{"SELECT * FROM v_users", []string{"", "phone"}},
		{"SELECT * FROM users JOIN orders USING (id)", []string{"", "", "phone", "email", "", "bank_card"}},
		{"SELECT * FROM users NATURAL JOIN orders", []string{"", "", "phone", "email", "", "bank_card"}},
		{"SELECT j.* FROM (users JOIN orders USING (id)) AS j", []string{"", "", "phone", "email", "", "bank_card"}},
		{"SELECT * FROM users u, LATERAL (SELECT u.phone AS p) x", []string{"", "", "phone", "email", "phone"}},
		{"SELECT * FROM generate_series(1, 3) g", []string{"*"}},
		{"SELECT g FROM generate_series(1, 3) g", []string{""}},
		{"SELECT * FROM users u, unnest(ARRAY[u.phone]) AS p", []string{"", "", "phone", "email", "*full"}},
		{"WITH RECURSIVE r (n, p) AS (SELECT 1, phone FROM users UNION ALL SELECT n + 1, p FROM r WHERE n < 3) SELECT p FROM r", []string{"phone"}},
		{"SELECT phone FROM crm.contacts", []string{"phone"}},
		{"VALUES (1, 'a')", []string{"", ""}},
		{"TABLE orders", []string{"", "", "bank_card"}},
		{"SELECT ctid, xmin FROM users", []string{"", ""}},
		{"SELECT EXISTS (SELECT 1 FROM orders WHERE card = '1')", []string{""}},
	} {
		p, err := analyzePostgres(tc.sql, "app", 1000)
		if err != nil {
			t.Errorf("%q: %v", tc.sql, err)
			continue
		}
		ls, err := p.lineage(context.Background(), pgTestSchema, exactNames)
		if err != nil {
			t.Errorf("%q: lineage: %v", tc.sql, err)
			continue
		}
		if got := kinds(ls); !slices.Equal(got, tc.want) {
			t.Errorf("%q: masks %q, want %q", tc.sql, got, tc.want)
		}
	}
}

func TestColumnMap(t *testing.T) {
	phone := lineage{name: "phone", srcs: []Col{{"shop", "users", "phone"}}, direct: true}
	id := lineage{name: "id", srcs: []Col{{"shop", "users", "id"}}, direct: true}
	wide := lineage{wide: true, srcs: []Col{{"shop", "users", "email"}}}
	for _, tc := range []struct {
		ls    []lineage
		names []string
		ok    bool
		want  []string
	}{
		{[]lineage{id, phone}, []string{"id", "PHONE"}, true, []string{"", "phone"}},
		{[]lineage{id, phone}, []string{"phone", "id"}, false, []string{"full", "full"}},
		{[]lineage{id, phone}, []string{"id"}, false, []string{"full"}},
		{[]lineage{id, wide, phone}, []string{"id", "a", "b", "phone"}, true, []string{"", "full", "full", "phone"}},
		{[]lineage{id, wide, phone}, []string{"id", "phone"}, true, []string{"", "phone"}},
		{[]lineage{id, wide, id, wide, phone}, []string{"id", "x", "y", "z", "phone"}, true, []string{"", "full", "full", "full", "phone"}},
	} {
		got, ok := columnMap(tc.ls, tc.names, myNames)
		if ok != tc.ok {
			t.Errorf("%v: ok = %v", tc.names, ok)
		}
		if k := kinds(got); !slices.Equal(k, tc.want) {
			t.Errorf("%v: masks %q, want %q", tc.names, k, tc.want)
		}
	}
}

func TestMaskValues(t *testing.T) {
	for _, tc := range []struct {
		r    MaskRule
		in   any
		want any
	}{
		{MaskRule{Kind: MaskPhone}, "13812345678", "138****5678"},
		{MaskRule{Kind: MaskPhone}, int64(13812345678), "138****5678"},
		{MaskRule{Kind: MaskPhone}, "1234567", "******"},
		{MaskRule{Kind: MaskEmail}, "alice@example.com", "a***@example.com"},
		{MaskRule{Kind: MaskEmail}, "not-an-email", "******"},
		{MaskRule{Kind: MaskIDCard}, "110101199003071234", "110101********1234"},
		{MaskRule{Kind: MaskIDCard}, "A1234567", "A******7"},
		{MaskRule{Kind: MaskBankCard}, "6222020200112233445", "***************3445"},
		{MaskRule{Kind: MaskFull}, "anything at all", "******"},
		{MaskRule{Kind: MaskCustom, KeepFirst: 2, KeepLast: 1}, "abcdef", "ab***f"},
		{MaskRule{Kind: MaskCustom, KeepFirst: 0, KeepLast: 0}, "abc", "***"},
		{MaskRule{Kind: MaskPhone}, nil, nil},
		{MaskRule{Kind: MaskFull}, []byte("x"), "******"},
		{MaskRule{Kind: MaskPhone}, "张三李四王五赵六钱七孙", "张三李****六钱七孙"},
	} {
		if got := tc.r.Apply(tc.in); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s(%v) = %v, want %v", tc.r.Kind, tc.in, got, tc.want)
		}
	}
}

func TestRuleMatching(t *testing.T) {
	for _, tc := range []struct {
		r    MaskRule
		inst string
		c    Col
		want bool
	}{
		{MaskRule{Column: "phone"}, "i", Col{"shop", "users", "PHONE"}, true},
		{MaskRule{Column: "*phone*"}, "i", Col{"shop", "users", "mobile_phone_no"}, true},
		{MaskRule{Column: "phone", Instance: "other"}, "i", Col{"shop", "users", "phone"}, false},
		{MaskRule{Column: "phone", Instance: "prod-*"}, "prod-1", Col{"shop", "users", "phone"}, true},
		{MaskRule{Database: "shop", Table: "users", Column: "phone"}, "i", Col{"shop", "users", "phone"}, true},
		{MaskRule{Database: "shop", Table: "users", Column: "phone"}, "i", Col{"crm", "users", "phone"}, false},
		{MaskRule{Table: "users", Column: "phone"}, "i", Col{"app", "public.users", "phone"}, true},
		{MaskRule{Table: "crm.users", Column: "phone"}, "i", Col{"app", "public.users", "phone"}, false},
		{MaskRule{Table: "public.users", Column: "phone"}, "i", Col{"app", "public.users", "phone"}, true},
	} {
		if got := tc.r.matches(tc.inst, tc.c); got != tc.want {
			t.Errorf("%+v on %v: %v, want %v", tc.r, tc.c, got, tc.want)
		}
	}
	for _, tc := range []struct{ spec, db, table, col string }{
		{"phone", "", "", "phone"},
		{"users.phone", "", "users", "phone"},
		{"shop.users.phone", "shop", "users", "phone"},
		{"app.public.users.phone", "app", "public.users", "phone"},
	} {
		db, table, col, err := ParseColumnSpec(tc.spec)
		if err != nil || db != tc.db || table != tc.table || col != tc.col {
			t.Errorf("%q: %q %q %q %v", tc.spec, db, table, col, err)
		}
	}
	if _, _, _, err := ParseColumnSpec("a..b"); err == nil {
		t.Error("a..b accepted")
	}
}

// BenchmarkAnalyze measures the checks and the lineage of a typical
// statement (no server involved).
func BenchmarkAnalyze(b *testing.B) {
	ctx := context.Background()
	b.Run("mysql", func(b *testing.B) {
		for b.Loop() {
			p, err := analyzeMySQL("SELECT u.id, u.phone AS p, (SELECT MAX(card) FROM orders o WHERE o.user_id = u.id) AS c FROM users u WHERE u.id IN (SELECT user_id FROM orders) UNION SELECT id, email, name FROM users", "shop", 1000)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.lineage(ctx, myTestSchema, myNames); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("postgres", func(b *testing.B) {
		for b.Loop() {
			p, err := analyzePostgres("SELECT u.id, u.phone AS p, (SELECT max(card) FROM orders o WHERE o.user_id = u.id) AS c FROM users u WHERE u.id IN (SELECT user_id FROM orders) UNION SELECT id, email, name FROM users", "app", 1000)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.lineage(ctx, pgTestSchema, exactNames); err != nil {
				b.Fatal(err)
			}
		}
	})
}
