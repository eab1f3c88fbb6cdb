package route

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// summary renders the state a test compares: the flags that are set,
// then pin, database, prepared names and variables.
func summary(st *State) string {
	var f []string
	add := func(on bool, s string) {
		if on {
			f = append(f, s)
		}
	}
	add(st.InTx, "tx")
	add(st.ReadOnlyTx, "ro")
	add(st.TxWrites, "txw")
	add(!st.Autocommit, "ac0")
	add(st.LockedTables, "locked")
	add(st.NoBinlog, "nobinlog")
	add(st.Serializable, "serial")
	add(st.NextTx, "next")
	if st.Pinned != "" {
		f = append(f, "pin="+st.Pinned)
	}
	if st.Database != "" {
		f = append(f, "db="+st.Database)
	}
	var names []string
	for n := range st.Prepared {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f = append(f, "prep:"+n+"="+st.Prepared[n])
	}
	for _, n := range st.VarOrder {
		f = append(f, "var:"+n+"="+st.Vars[n])
	}
	return strings.Join(f, " ")
}

// render renders a decision: target, reason, then w (Write) and r
// (Replay) when set.
func render(d Decision) string {
	s := d.Target.String() + " " + d.Reason
	if d.Write {
		s += " w"
	}
	if d.Replay {
		s += " r"
	}
	return s
}

// setups are the starting states of the cases, as the statements that
// lead to them.
var setups = map[string][]string{
	"":         nil,
	"tx":       {"BEGIN"},
	"ro":       {"START TRANSACTION READ ONLY"},
	"ac0":      {"SET autocommit = 0"},
	"pin":      {"SELECT GET_LOCK('a', 1)"},
	"lock":     {"LOCK TABLES t WRITE"},
	"ftwrl":    {"FLUSH TABLES WITH READ LOCK"},
	"locktx":   {"LOCK TABLES t WRITE", "BEGIN"},
	"ftwrltx":  {"FLUSH TABLES WITH READ LOCK", "BEGIN"},
	"nobinlog": {"SET sql_log_bin = 0"},
	"serial":   {"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE"},
	"next":     {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"},
	"txw":      {"BEGIN", "UPDATE t SET a = 1"},
	"ac0tx":    {"SET autocommit = 0", "INSERT INTO t VALUES (1)"},
	"temp":     {"CREATE TEMPORARY TABLE tmp (a int)"},
	"prep":     {"PREPARE r FROM 'SELECT * FROM t WHERE id = ?'", "PREPARE w FROM 'UPDATE t SET a = ? WHERE id = ?'"},
	"uvar":     {"SET @q = 'SELECT 1'", "SET @u = 'DELETE FROM t'"},
	"forcer":   nil, // ForceTarget = Replica
	"forcep":   nil, // ForceTarget = Primary
	"mysql":    nil, // MySQL 8.0.35 instead of MariaDB 10.11.6
	"nover":    nil, // server version unknown
}

func newState(setup string) *State {
	st := NewState(sql.MariaDB)
	st.ServerVersion = 101106
	switch setup {
	case "forcer":
		t := Replica
		st.ForceTarget = &t
	case "forcep":
		t := Primary
		st.ForceTarget = &t
	case "mysql":
		st.Dialect, st.ServerVersion = sql.MySQL, 80035
	case "nover":
		st.ServerVersion = 0
	}
	for _, q := range setups[setup] {
		Route(st, q)
	}
	return st
}

type routeCase struct {
	setup string // a key of setups
	q     string
	want  string // render(Decision)
	state string // summary(State) after
}

// cases: every rule of docs/proxy-routing.md, one statement at a time
// from a starting state. matrix() adds reads and writes in every state.
var cases = []routeCase{
	// Reads, writes, DDL.
	{"", "SELECT id, name FROM users WHERE id = 42", "replica read", ""},
	{"", "select 1", "replica read", ""},
	{"", "(SELECT 1) UNION (SELECT 2)", "replica read", ""},
	{"", "WITH c AS (SELECT 1) SELECT * FROM c", "replica read", ""},
	{"", "SELECT * FROM t WHERE a = 'x; DELETE FROM t'", "replica read", ""},
	{"", "SHOW TABLES", "replica show", ""},
	{"", "SHOW CREATE TABLE t", "replica show", ""},
	{"", "SHOW SESSION VARIABLES LIKE 'sql_mode'", "replica show", ""},
	{"", "EXPLAIN SELECT * FROM t", "replica read", ""},
	{"", "DESCRIBE t", "replica read", ""},
	{"", "SELECT @@version, @@tx_isolation", "replica read", ""},
	{"", "SELECT SLEEP(0)", "replica read", ""},
	// Stored functions and UDFs may write.
	{"", "SELECT f(1)", "primary function w", ""},
	{"", "SELECT shop.next_invoice_no()", "primary function w", ""},
	{"", "SELECT a FROM t WHERE b = my_udf(c)", "primary function w", ""},
	{"", "SELECT NOW(), DATE_FORMAT(d, '%Y'), CONCAT(a, b), COALESCE(a, 1), IF(a, 1, 2), COUNT(*) FROM t", "replica read", ""},
	{"", "WITH c (n) AS (SELECT 1) SELECT n FROM c", "replica read", ""},
	{"", "/* dbfleet:replica */ SELECT f(1)", "replica hint:replica w", ""},
	{"tx", "SELECT f(1)", "primary tx w", "tx txw"},
	{"", "INSERT INTO t VALUES (1)", "primary write w", ""},
	{"", "UPDATE t SET a = 1 WHERE id = 2", "primary write w", ""},
	{"", "DELETE FROM t WHERE id = 2", "primary write w", ""},
	{"", "REPLACE INTO t VALUES (1)", "primary write w", ""},
	{"", "INSERT INTO t SELECT * FROM u", "primary write w", ""},
	{"", "WITH c AS (SELECT 1) UPDATE t SET a = 1", "primary write w", ""},
	{"", "LOAD DATA LOCAL INFILE 'f' INTO TABLE t", "primary write w", ""},
	{"", "EXPLAIN ANALYZE UPDATE t SET a = 1", "primary write w", ""},
	{"", "ANALYZE UPDATE t SET a = 1", "primary write w", ""},
	{"", "CREATE TABLE t (a int)", "primary ddl w", ""},
	{"", "ALTER TABLE t ADD COLUMN b int", "primary ddl w", ""},
	{"", "DROP TABLE t", "primary ddl w", ""},
	{"", "TRUNCATE t", "primary ddl w", ""},
	{"", "RENAME TABLE a TO b", "primary ddl w", ""},
	{"", "CREATE INDEX i ON t (a)", "primary ddl w", ""},
	{"", "DROP TABLE temporary_data", "primary ddl w", ""},
	{"", "OPTIMIZE TABLE t", "primary ddl w", ""},
	// Unknown goes to the primary.
	{"", "FROBNICATE t", "primary unknown w", ""},
	{"", "", "primary unknown w", ""},
	{"", "   ", "primary unknown w", ""},
	{"", "-- only a comment", "primary unknown w", ""},
	{"", "DO 1", "primary unknown w", ""},
	{"", "KILL 42", "primary unknown w", ""},
	{"", "CHECKSUM TABLE t", "primary unknown w", ""},
	{"", "SELECT", "replica read", ""},
	{"", "'SELECT 1'", "primary unknown w", ""},
	// Locking reads.
	{"", "SELECT * FROM t WHERE id = 1 FOR UPDATE", "primary locking-read", ""},
	{"", "SELECT * FROM t WHERE id = 1 FOR UPDATE SKIP LOCKED", "primary locking-read", ""},
	{"", "SELECT * FROM t WHERE id = 1 FOR UPDATE NOWAIT", "primary locking-read", ""},
	{"", "SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE", "primary locking-read", ""},
	{"", "SELECT * FROM t WHERE id = 1 FOR SHARE", "primary locking-read", ""},
	{"", "SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE)", "primary locking-read", ""},
	{"", "WITH c AS (SELECT 1) SELECT * FROM c FOR UPDATE", "primary locking-read", ""},
	{"tx", "SELECT * FROM t FOR UPDATE", "primary tx", "tx"},
	// LAST_INSERT_ID, @@identity, sequences.
	{"", "SELECT LAST_INSERT_ID()", "primary last-insert-id", ""},
	{"", "select last_insert_id()", "primary last-insert-id", ""},
	{"", "SELECT @@last_insert_id", "primary last-insert-id", ""},
	{"", "SELECT @@IDENTITY", "primary last-insert-id", ""},
	{"", "SELECT @@session.last_insert_id", "primary last-insert-id", ""},
	{"", "SELECT @@last_gtid", "primary last-insert-id", ""},
	{"", "SELECT @@innodb_read_only", "primary server-variable", ""},
	{"", "select @@read_only, @@hostname", "primary server-variable", ""},
	{"", "SELECT @@global.gtid_binlog_pos", "primary server-variable", ""},
	{"", "/* dbfleet:replica */ SELECT @@server_id", "primary server-variable", ""},
	{"", "SELECT last_insert_id FROM t", "replica read", ""},
	{"", "INSERT INTO t (a) VALUES (LAST_INSERT_ID())", "primary write w", ""},
	{"", "SELECT NEXTVAL(s)", "primary write w", ""},
	{"", "SELECT NEXT VALUE FOR s", "primary write w", ""},
	{"", "SELECT SETVAL(s, 100)", "primary write w", ""},
	{"", "SELECT LASTVAL(s)", "primary sequence", ""},
	{"", "SELECT PREVIOUS VALUE FOR s", "primary sequence", ""},
	{"", "CREATE SEQUENCE s", "primary ddl w", ""},
	// GET_LOCK family.
	{"", "SELECT GET_LOCK('a', 10)", "primary pinned:get_lock", "pin=get_lock"},
	{"", "DO GET_LOCK('a', 10)", "primary pinned:get_lock w", "pin=get_lock"},
	{"", "SELECT get_lock ('a', 10)", "primary pinned:get_lock", "pin=get_lock"},
	{"", "SELECT RELEASE_LOCK('a')", "primary advisory-lock", ""},
	{"", "SELECT IS_FREE_LOCK('a')", "primary advisory-lock", ""},
	{"", "SELECT IS_USED_LOCK('a')", "primary advisory-lock", ""},
	{"", "SELECT RELEASE_ALL_LOCKS()", "primary advisory-lock", ""},
	{"pin", "SELECT RELEASE_LOCK('a')", "primary pinned:get_lock", "pin=get_lock"},
	{"pin", "SELECT 1", "primary pinned:get_lock", "pin=get_lock"},
	{"pin", "COMMIT", "primary tx-end", "pin=get_lock"},
	{"pin", "BEGIN", "primary pinned:get_lock", "tx pin=get_lock"},
	{"", "SELECT 'GET_LOCK(1)'", "replica read", ""},
	// CALL, HANDLER, XA.
	{"", "CALL p(1)", "primary pinned:call w", "pin=call"},
	{"", "HANDLER t OPEN", "primary pinned:handler w", "pin=handler"},
	{"", "XA START 'x'", "primary pinned:xa w", "pin=xa"},
	// SQL_CALC_FOUND_ROWS and the previous statement.
	{"", "SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10", "replica read", ""},
	{"", "SELECT FOUND_ROWS()", "previous previous", ""},
	{"", "SELECT ROW_COUNT()", "previous previous", ""},
	{"", "SHOW WARNINGS", "previous previous", ""},
	{"", "SHOW ERRORS", "previous previous", ""},
	{"", "SHOW COUNT(*) WARNINGS", "previous previous", ""},
	{"", "SELECT @@warning_count", "previous previous", ""},
	{"", "SHOW PROFILES", "previous previous", ""},
	{"tx", "SELECT FOUND_ROWS()", "primary tx", "tx"},
	{"ro", "SHOW WARNINGS", "previous ro-tx", "tx ro"},
	// Temporary tables.
	{"", "CREATE TEMPORARY TABLE tmp (a int)", "primary pinned:temporary-table w", "pin=temporary-table"},
	{"", "CREATE OR REPLACE TEMPORARY TABLE tmp AS SELECT 1", "primary pinned:temporary-table w", "pin=temporary-table"},
	{"", "CREATE TEMPORARY TABLE tmp SELECT * FROM t", "primary pinned:temporary-table w", "pin=temporary-table"},
	{"temp", "SELECT * FROM tmp", "primary pinned:temporary-table", "pin=temporary-table"},
	{"temp", "DROP TEMPORARY TABLE tmp", "primary pinned:temporary-table w", "pin=temporary-table"},
	{"tx", "CREATE TEMPORARY TABLE tmp (a int)", "primary pinned:temporary-table w", "tx txw pin=temporary-table"},
	{"tx", "DROP TEMPORARY TABLE tmp", "primary tx w", "tx txw"},
	// User variables.
	{"", "SET @a = 1", "session session r", "var:@a=1"},
	{"", "SET @a := 'x', @b = -2", "session session r", "var:@a='x' var:@b=-2"},
	{"", "SET @a = @@sql_mode", "session session r", "var:@a=@@sql_mode"},
	{"", "SET @OLD_SQL_MODE = @@SQL_MODE, SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO'", "session session r", "var:@old_sql_mode=@@SQL_MODE var:sql_mode='NO_AUTO_VALUE_ON_ZERO'"},
	{"", "SET @a = (SELECT MAX(id) FROM t)", "primary pinned:user-variable", "pin=user-variable"},
	{"", "SET @a = NOW()", "primary pinned:user-variable", "pin=user-variable"},
	{"", "SELECT @a", "replica read", ""},
	{"", "SELECT * FROM t WHERE id = @a", "replica read", ""},
	{"", "SELECT @r := @r + 1 AS n FROM t", "primary pinned:user-variable", "pin=user-variable"},
	{"", "SELECT a INTO @x FROM t LIMIT 1", "primary pinned:user-variable", "pin=user-variable"},
	{"", "SELECT a FROM t LIMIT 1 INTO @x", "primary pinned:user-variable", "pin=user-variable"},
	{"", "UPDATE t SET a = (@x := a + 1) WHERE id = 1", "primary pinned:user-variable w", "pin=user-variable"},
	{"", "INSERT INTO t VALUES (@a)", "primary write w", ""},
	{"", "SELECT * FROM t INTO OUTFILE '/tmp/x'", "primary select-into w", ""},
	{"", "CREATE USER 'u'@'%' IDENTIFIED BY 'p'", "primary unknown w", ""},
	// Transactions.
	{"", "BEGIN", "primary tx-begin", "tx"},
	{"", "BEGIN WORK", "primary tx-begin", "tx"},
	{"", "START TRANSACTION", "primary tx-begin", "tx"},
	{"", "START TRANSACTION READ WRITE", "primary tx-begin", "tx"},
	{"", "START TRANSACTION WITH CONSISTENT SNAPSHOT", "primary tx-begin", "tx"},
	{"", "START TRANSACTION READ ONLY", "replica ro-tx-begin", "tx ro"},
	{"", "start transaction read only, with consistent snapshot", "replica ro-tx-begin", "tx ro"},
	{"", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "replica ro-tx-begin", "tx ro"},
	{"", "COMMIT", "primary tx-end", ""},
	{"", "ROLLBACK", "primary tx-end", ""},
	{"tx", "COMMIT", "primary tx-end", ""},
	{"tx", "COMMIT WORK", "primary tx-end", ""},
	{"tx", "ROLLBACK", "primary tx-end", ""},
	{"txw", "COMMIT", "primary tx-end w", ""},
	{"txw", "ROLLBACK", "primary tx-end", ""},
	{"txw", "COMMIT AND CHAIN", "primary tx-end w", "tx"},
	{"txw", "COMMIT AND NO CHAIN", "primary tx-end w", ""},
	{"txw", "ROLLBACK AND CHAIN", "primary tx-end", "tx"},
	{"tx", "SAVEPOINT a", "primary tx", "tx"},
	{"tx", "ROLLBACK TO SAVEPOINT a", "primary tx", "tx"},
	{"tx", "ROLLBACK WORK TO a", "primary tx", "tx"},
	{"tx", "RELEASE SAVEPOINT a", "primary tx", "tx"},
	{"tx", "BEGIN", "primary tx-begin", "tx"},
	{"txw", "START TRANSACTION READ ONLY", "replica ro-tx-begin", "tx ro"},
	{"ro", "SELECT * FROM t", "previous ro-tx", "tx ro"},
	{"ro", "SELECT * FROM t FOR UPDATE", "previous ro-tx", "tx ro"},
	{"ro", "UPDATE t SET a = 1", "previous ro-tx w", "tx ro"},
	{"ro", "SAVEPOINT a", "previous ro-tx", "tx ro"},
	{"ro", "COMMIT", "previous tx-end", ""},
	{"ro", "ROLLBACK", "previous tx-end", ""},
	{"ro", "SET time_zone = 'UTC'", "session session r", "tx ro var:time_zone='UTC'"},
	{"ro", "CREATE TABLE t2 (a int)", "primary ddl w", ""},
	{"ro", "SELECT GET_LOCK('a', 1)", "previous ro-tx", "tx ro pin=get_lock"},
	{"ro", "CREATE TEMPORARY TABLE tmp (a int)", "previous ro-tx w", "tx ro pin=temporary-table"},
	{"pin", "START TRANSACTION READ ONLY", "primary pinned:get_lock", "tx pin=get_lock"},
	// Implicit commits.
	{"txw", "CREATE TABLE t2 (a int)", "primary ddl w", ""},
	{"txw", "ALTER TABLE t ADD b int", "primary ddl w", ""},
	{"txw", "DROP TABLE t", "primary ddl w", ""},
	{"txw", "TRUNCATE TABLE t", "primary ddl w", ""},
	{"txw", "GRANT SELECT ON db.* TO u", "primary unknown w", ""},
	{"txw", "FLUSH PRIVILEGES", "primary unknown w", ""},
	{"txw", "LOCK TABLES t READ", "primary locked-tables", "locked"},
	{"ac0tx", "CREATE TABLE t2 (a int)", "primary ddl w", "ac0 var:autocommit=0"},
	{"ac0tx", "CREATE TEMPORARY TABLE tmp (a int)", "primary pinned:temporary-table w", "tx txw ac0 pin=temporary-table var:autocommit=0"},
	// autocommit.
	{"", "SET autocommit = 0", "session session r", "ac0 var:autocommit=0"},
	{"", "SET autocommit = OFF", "session session r", "ac0 var:autocommit=OFF"},
	{"", "SET @@autocommit = 0", "session session r", "ac0 var:autocommit=0"},
	{"", "SET SESSION autocommit = 'off'", "session session r", "ac0 var:autocommit='off'"},
	{"", "SET autocommit = 1", "session session r", "var:autocommit=1"},
	{"", "SET autocommit = @x", "primary pinned:autocommit", "pin=autocommit var:autocommit=@x"},
	{"ac0", "SELECT * FROM t", "primary tx", "tx ac0 var:autocommit=0"},
	{"ac0", "UPDATE t SET a = 1", "primary tx w", "tx txw ac0 var:autocommit=0"},
	{"ac0", "COMMIT", "primary tx-end", "ac0 var:autocommit=0"},
	{"ac0tx", "COMMIT", "primary tx-end w", "ac0 var:autocommit=0"},
	{"ac0tx", "SELECT 1", "primary tx", "tx txw ac0 var:autocommit=0"},
	{"ac0tx", "SET autocommit = 1", "session session w r", "var:autocommit=1"},
	{"ac0", "SET autocommit = 1", "session session r", "var:autocommit=1"},
	{"ac0", "START TRANSACTION READ ONLY", "replica ro-tx-begin", "tx ro ac0 var:autocommit=0"},
	{"ac0", "SET time_zone = 'UTC'", "session session r", "ac0 var:autocommit=0 var:time_zone='UTC'"},
	// LOCK TABLES / FTWRL.
	{"", "LOCK TABLES t WRITE", "primary locked-tables", "locked"},
	{"", "LOCK TABLE t READ, u WRITE", "primary locked-tables", "locked"},
	{"lock", "SELECT * FROM t", "primary locked-tables", "locked"},
	{"lock", "UNLOCK TABLES", "primary unlock-tables", ""},
	{"lock", "BEGIN", "primary tx-begin", "tx"},
	{"ftwrl", "BEGIN", "primary tx-begin", "tx locked"},
	{"locktx", "UNLOCK TABLES", "primary unlock-tables", "tx"},
	{"ftwrltx", "UNLOCK TABLES", "primary unlock-tables", "tx"},
	{"ftwrl", "LOCK TABLES t READ", "primary locked-tables", "locked"},
	{"ac0", "LOCK TABLES t WRITE", "primary locked-tables", "tx ac0 locked var:autocommit=0"},
	{"", "UNLOCK TABLES", "primary unlock-tables", ""},
	{"", "FLUSH TABLES WITH READ LOCK", "primary locked-tables", "locked"},
	{"", "FLUSH TABLES t1, t2 WITH READ LOCK", "primary locked-tables", "locked"},
	{"", "FLUSH TABLES t FOR EXPORT", "primary locked-tables", "locked"},
	{"", "FLUSH TABLES", "primary unknown w", ""},
	// sql_log_bin.
	{"", "SET sql_log_bin = 0", "session session r", "nobinlog var:sql_log_bin=0"},
	{"", "SET SESSION sql_log_bin = OFF", "session session r", "nobinlog var:sql_log_bin=OFF"},
	{"nobinlog", "SELECT 1", "primary sql_log_bin", "nobinlog var:sql_log_bin=0"},
	{"nobinlog", "INSERT INTO t VALUES (1)", "primary sql_log_bin w", "nobinlog var:sql_log_bin=0"},
	{"nobinlog", "SET sql_log_bin = 1", "session session r", "var:sql_log_bin=1"},
	// Isolation.
	{"", "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", "session session r", "serial var:transaction_isolation=SERIALIZABLE"},
	{"", "SET tx_isolation = 'SERIALIZABLE'", "session session r", "serial var:tx_isolation='SERIALIZABLE'"},
	{"", "SET @@session.transaction_isolation = 'serializable'", "session session r", "serial var:transaction_isolation='serializable'"},
	{"", "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "session session r", "var:transaction_isolation=READ COMMITTED"},
	{"serial", "SELECT 1", "primary serializable", "serial var:transaction_isolation=SERIALIZABLE"},
	{"serial", "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "session session r", "var:transaction_isolation=REPEATABLE READ"},
	{"serial", "START TRANSACTION READ ONLY", "primary tx-begin", "tx serial var:transaction_isolation=SERIALIZABLE"},
	{"", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "primary next-tx", "next"},
	{"", "SET TRANSACTION READ ONLY", "primary next-tx", "next"},
	{"next", "SELECT 1", "primary next-tx", ""},
	{"next", "START TRANSACTION READ ONLY", "primary tx-begin", "tx"},
	{"next", "SET NAMES utf8mb4", "session session r", "next var:names=utf8mb4"},
	// Tracked session variables.
	{"", "SET NAMES utf8mb4", "session session r", "var:names=utf8mb4"},
	{"", "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'", "session session r", "var:names='utf8mb4' COLLATE 'utf8mb4_unicode_ci'"},
	{"", "SET CHARACTER SET latin1", "session session r", "var:character set=latin1"},
	{"", "SET sql_mode = 'STRICT_ALL_TABLES'", "session session r", "var:sql_mode='STRICT_ALL_TABLES'"},
	{"", "SET sql_mode = CONCAT(@@sql_mode, ',NO_ZERO_DATE')", "session session r", "var:sql_mode=CONCAT(@@sql_mode, ',NO_ZERO_DATE')"},
	{"", "SET sql_mode = (SELECT f())", "primary pinned:set-function w", "pin=set-function"},
	{"", "SET time_zone = '+00:00', sql_mode = db.f()", "primary pinned:set-function w", "pin=set-function"},
	{"", "SET sql_mode = `f`(1)", "primary pinned:set-function w", "pin=set-function"},
	{"", "SELECT `my_fn`(a) FROM t", "primary function w", ""},
	{"", "SET time_zone = '+00:00', @@session.wait_timeout = 60", "session session r", "var:time_zone='+00:00' var:wait_timeout=60"},
	{"", "SET LOCAL max_statement_time = 5", "session session r", "var:max_statement_time=5"},
	{"", "SET character_set_results = NULL", "session session r", "var:character_set_results=NULL"},
	{"", "SET SESSION TRANSACTION READ ONLY", "session session r", "var:transaction_read_only=ON"},
	{"", "SET ROLE r", "primary pinned:set-role", "pin=set-role"},
	{"tx", "SET sql_mode = ''", "session session r", "tx var:sql_mode=''"},
	{"pin", "SET NAMES latin1", "session session r", "pin=get_lock var:names=latin1"},
	// Pinning session variables.
	{"", "SET SQL_SAFE_UPDATES = 1", "session session r", "pin=set:sql_safe_updates var:sql_safe_updates=1"},
	{"", "SET sql_select_limit = 10", "session session r", "pin=set:sql_select_limit var:sql_select_limit=10"},
	{"", "SET FOREIGN_KEY_CHECKS = 0", "session session r", "pin=set:foreign_key_checks var:foreign_key_checks=0"},
	{"", "SET unique_checks = 0", "session session r", "pin=set:unique_checks var:unique_checks=0"},
	{"", "SET auto_increment_increment = 2", "session session r", "pin=set:auto_increment_increment var:auto_increment_increment=2"},
	{"", "SET @@auto_increment_offset = 2", "session session r", "pin=set:auto_increment_offset var:auto_increment_offset=2"},
	{"", "SET SESSION group_concat_max_len = 1000000", "session session r", "pin=set:group_concat_max_len var:group_concat_max_len=1000000"},
	{"", "SET sql_mode = '', foreign_key_checks = 0", "session session r", "pin=set:foreign_key_checks var:sql_mode='' var:foreign_key_checks=0"},
	// Global changes.
	{"", "SET GLOBAL max_connections = 100", "primary global", ""},
	{"", "SET @@global.read_only = 1", "primary global", ""},
	{"", "SET PERSIST max_connections = 100", "primary global", ""},
	{"", "SET GLOBAL a = 1, SESSION b = 2", "primary pinned:set-global", "pin=set-global"},
	{"", "SET PASSWORD = PASSWORD('x')", "primary unknown w", ""},
	{"", "SET DEFAULT ROLE r TO u", "primary unknown w", ""},
	{"", "SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t", "replica read", ""},
	{"", "SET STATEMENT max_statement_time = 1 FOR UPDATE t SET a = 1", "primary write w", ""},
	// USE.
	{"", "USE shop", "session session r", "db=shop"},
	{"", "USE `my db`", "session session r", "db=my db"},
	{"tx", "USE shop", "session session r", "tx db=shop"},
	// Text prepared statements.
	{"", "PREPARE s FROM 'SELECT * FROM t WHERE id = ?'", "session session r", "prep:s=SELECT * FROM t WHERE id = ?"},
	{"", "PREPARE S FROM \"UPDATE t SET a = 'x'\"", "session session r", "prep:s=UPDATE t SET a = 'x'"},
	{"prep", "EXECUTE r USING @id", "replica read", "prep:r=SELECT * FROM t WHERE id = ? prep:w=UPDATE t SET a = ? WHERE id = ?"},
	{"prep", "EXECUTE R", "replica read", "prep:r=SELECT * FROM t WHERE id = ? prep:w=UPDATE t SET a = ? WHERE id = ?"},
	{"prep", "EXECUTE w USING @a, @id", "primary write w", "prep:r=SELECT * FROM t WHERE id = ? prep:w=UPDATE t SET a = ? WHERE id = ?"},
	{"prep", "DEALLOCATE PREPARE r", "session session r", "prep:w=UPDATE t SET a = ? WHERE id = ?"},
	{"prep", "DROP PREPARE w", "session session r", "prep:r=SELECT * FROM t WHERE id = ?"},
	{"", "EXECUTE nope", "primary unknown w", ""},
	{"uvar", "PREPARE s FROM @q", "session session r", "prep:s=SELECT 1 var:@q='SELECT 1' var:@u='DELETE FROM t'"},
	{"uvar", "PREPARE s FROM @unknown", "primary pinned:prepare-from-variable", "pin=prepare-from-variable var:@q='SELECT 1' var:@u='DELETE FROM t'"},
	{"", "PREPARE s FROM CONCAT('SELECT ', 1)", "primary pinned:prepare-from-variable", "pin=prepare-from-variable"},
	{"", "EXECUTE IMMEDIATE 'SELECT 1'", "replica read", ""},
	{"", "EXECUTE IMMEDIATE 'DELETE FROM t'", "primary write w", ""},
	{"", "EXECUTE IMMEDIATE 'SET NAMES latin1'", "primary pinned:prepared-session-command", "pin=prepared-session-command var:names=latin1"},
	{"", "EXECUTE IMMEDIATE CONCAT('SELECT ', 1)", "primary unknown w", ""},
	// Multi-statement texts.
	{"", "SELECT 1; SELECT 2", "primary multi-statement", ""},
	{"", "UPDATE t SET a = 1; SELECT ROW_COUNT()", "primary multi-statement w", ""},
	{"", "BEGIN; INSERT INTO t VALUES (1)", "primary multi-statement w", "tx txw"},
	{"", "BEGIN; INSERT INTO t VALUES (1); COMMIT", "primary multi-statement w", ""},
	{"", "SET NAMES latin1; SELECT 1", "primary multi-statement", "pin=multi-statement var:names=latin1"},
	{"", "SELECT 1;", "replica read", ""},
	{"", "SELECT 1; -- done", "replica read", ""},
	{"", "SELECT 'a;b'", "replica read", ""},
	// Executable comments: classify what runs.
	{"", "/*!40101 SET NAMES utf8 */", "session session r", "var:names=utf8"},
	{"", "/*!40101 SET character_set_client = utf8 */;", "session session r", "var:character_set_client=utf8"},
	{"", "/*!50000 SELECT 1 */", "replica read", ""},
	{"", "/*! SELECT 1 */", "replica read", ""},
	{"", "SELECT 1 /*!99999 FOR UPDATE */", "primary locking-read", ""},
	{"", "/*!99999 SELECT 1 FROM */ t", "replica read", ""}, // MariaDB 10.11 is 101106 > 99999: it runs
	{"", "/*!200000 SELECT 1 FROM */ t", "primary versioned-comment", ""},
	{"", "SELECT * FROM t /*!110500 WHERE a = 1 */", "primary versioned-comment", ""},
	{"", "/*M!100100 SELECT 1 */", "replica read", ""},
	{"", "/*M!100100 DELETE FROM t */", "primary write w", ""},
	{"mysql", "/*M!100100 DELETE FROM t */", "primary unknown w", ""},
	{"mysql", "SELECT 1 /*M!100100 FOR UPDATE */", "replica read", ""},
	{"mysql", "/*!80000 SELECT 1 */", "replica read", ""},
	{"mysql", "/*!90000 SELECT 1 */", "primary versioned-comment", ""},
	{"nover", "/*!40101 SELECT 1 */", "primary versioned-comment", ""},
	{"nover", "/*!40101 SET NAMES utf8 */", "session session r", "var:names=utf8"},
	{"nover", "/*! SELECT 1 */", "replica read", ""},
	{"", "/* just a comment */ SELECT 1", "replica read", ""},
	{"", "/*+ MAX_EXECUTION_TIME(1000) */ SELECT 1", "replica read", ""},
	{"", "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t", "replica read", ""},
	// Hints.
	{"", "/* dbfleet:primary */ SELECT 1", "primary hint:primary", ""},
	{"", "SELECT /* dbfleet:primary */ 1", "primary hint:primary", ""},
	{"", "SELECT 1 -- dbfleet:primary", "primary hint:primary", ""},
	{"", "SELECT 1 # dbfleet:PRIMARY", "primary hint:primary", ""},
	{"", "/* app=x dbfleet:primary */ SELECT 1", "primary hint:primary", ""},
	{"", "SELECT 'dbfleet:primary'", "replica read", ""},
	{"", "SELECT 1 /*!40101 dbfleet:primary */", "replica read", ""},
	{"", "/* dbfleet:primaryx */ SELECT 1", "replica read", ""},
	{"", "/* dbfleet:replica */ SELECT 1", "replica hint:replica", ""},
	{"", "/* dbfleet:replica */ UPDATE t SET a = 1", "primary write w", ""},
	{"", "/* dbfleet:replica */ SELECT * FROM t FOR UPDATE", "primary locking-read", ""},
	{"", "/* dbfleet:replica */ SELECT LAST_INSERT_ID()", "primary last-insert-id", ""},
	{"", "/* dbfleet:replica */ SELECT FOUND_ROWS()", "previous previous", ""},
	{"", "/* dbfleet:replica */ FROBNICATE", "primary unknown w", ""},
	{"", "/* dbfleet:replica */ SELECT * FROM t /*!110500 WHERE a = 1 */", "replica hint:replica", ""},
	{"tx", "/* dbfleet:replica */ SELECT 1", "primary tx", "tx"},
	{"pin", "/* dbfleet:replica */ SELECT 1", "primary pinned:get_lock", "pin=get_lock"},
	{"ac0", "/* dbfleet:replica */ SELECT 1", "primary tx", "tx ac0 var:autocommit=0"},
	{"serial", "/* dbfleet:replica */ SELECT 1", "replica hint:replica", "serial var:transaction_isolation=SERIALIZABLE"},
	{"", "/* dbfleet:primary */ SET NAMES latin1", "session session r", "var:names=latin1"},
	{"", "/* dbfleet:primary */ START TRANSACTION READ ONLY", "primary hint:primary", "tx ro"},
	// Per-user rules.
	{"forcep", "SELECT 1", "primary forced:primary", ""},
	{"forcep", "/* dbfleet:replica */ SELECT 1", "primary forced:primary", ""},
	{"forcep", "UPDATE t SET a = 1", "primary write w", ""},
	{"forcep", "SET NAMES latin1", "session session r", "var:names=latin1"},
	{"forcep", "START TRANSACTION READ ONLY", "primary forced:primary", "tx ro"},
	{"forcer", "SELECT 1", "replica read", ""},
	{"forcer", "/* dbfleet:primary */ SELECT 1", "replica read", ""},
	{"forcer", "SELECT * FROM t FOR UPDATE", "replica forced:replica", ""},
	{"forcer", "UPDATE t SET a = 1", "replica forced:replica w", ""},
	{"forcer", "BEGIN", "replica forced:replica", "tx"},
	{"forcer", "CREATE TEMPORARY TABLE tmp (a int)", "replica forced:replica w", "pin=temporary-table"},
	{"forcer", "SELECT FOUND_ROWS()", "previous forced:replica", ""},
	{"forcer", "SET NAMES latin1", "session session r", "var:names=latin1"},
}

// matrix: reads and writes in every state of the session.
func matrix() []routeCase {
	reads := []string{
		"SELECT * FROM t WHERE id = 1",
		"SELECT a.x, b.y FROM a JOIN b ON a.id = b.a_id WHERE a.z > 10 ORDER BY a.x LIMIT 5",
		"WITH c AS (SELECT 1 AS n) SELECT n FROM c",
		"SELECT COUNT(*) FROM t",
		"SELECT @a",
		"SELECT @@sql_mode",
		"SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1",
		"EXPLAIN SELECT 1",
		"(SELECT 1) UNION ALL (SELECT 2)",
		"/* app:checkout */ SELECT 1",
		"SELECT * FROM t WHERE s = 'FOR UPDATE'",
		"VALUES (1)",
	}
	writes := []string{
		"INSERT INTO t VALUES (1)",
		"UPDATE t SET a = a + 1 WHERE id = 2",
		"DELETE FROM t WHERE id = 3",
		"REPLACE INTO t VALUES (4)",
		"INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
		"UPDATE t SET a = @x",
		"INSERT INTO t SELECT * FROM u",
		"DELETE t FROM t JOIN u ON t.id = u.id",
		"SELECT NEXTVAL(s)",
		"LOAD DATA INFILE 'x' INTO TABLE t",
	}
	states := []struct{ setup, read, write, after string }{
		{"", "replica read", "primary write w", ""},
		{"tx", "primary tx", "primary tx w", "tx"},
		{"txw", "primary tx", "primary tx w", "tx txw"},
		{"ro", "previous ro-tx", "previous ro-tx w", "tx ro"},
		{"ac0", "primary tx", "primary tx w", "tx ac0 var:autocommit=0"},
		{"pin", "primary pinned:get_lock", "primary pinned:get_lock w", "pin=get_lock"},
		{"temp", "primary pinned:temporary-table", "primary pinned:temporary-table w", "pin=temporary-table"},
		{"lock", "primary locked-tables", "primary locked-tables w", "locked"},
		{"nobinlog", "primary sql_log_bin", "primary sql_log_bin w", "nobinlog var:sql_log_bin=0"},
		{"serial", "primary serializable", "primary write w", "serial var:transaction_isolation=SERIALIZABLE"},
		{"next", "primary next-tx", "primary next-tx w", ""},
		{"forcep", "primary forced:primary", "primary write w", ""},
		{"forcer", "replica read", "replica forced:replica w", ""},
		{"mysql", "replica read", "primary write w", ""},
	}
	var out []routeCase
	for _, s := range states {
		for _, q := range reads {
			want := s.read
			if q == "VALUES (1)" && s.setup == "" {
				want = "replica read"
			}
			out = append(out, routeCase{s.setup, q, want, s.after})
		}
		for _, q := range writes {
			after := s.after
			if s.setup == "ac0" || s.setup == "tx" {
				after = strings.Replace(after, "tx", "tx txw", 1)
			}
			out = append(out, routeCase{s.setup, q, s.write, after})
		}
	}
	return out
}

func TestRoute(t *testing.T) {
	all := append(append([]routeCase(nil), cases...), matrix()...)
	if len(all) < 300 {
		t.Fatalf("only %d cases", len(all))
	}
	for _, tc := range all {
		if _, ok := setups[tc.setup]; !ok {
			t.Fatalf("no setup %q", tc.setup)
		}
		st := newState(tc.setup)
		got := render(Route(st, tc.q))
		if got != tc.want {
			t.Errorf("[%s] %q: got %q, want %q", tc.setup, tc.q, got, tc.want)
		}
		if s := summary(st); s != tc.state {
			t.Errorf("[%s] %q: state %q, want %q", tc.setup, tc.q, s, tc.state)
		}
	}
	t.Logf("%d cases", len(all))
}

// TestSetups: each starting state is what its name says.
func TestSetups(t *testing.T) {
	want := map[string]string{
		"": "", "tx": "tx", "ro": "tx ro", "ac0": "ac0 var:autocommit=0", "pin": "pin=get_lock", "lock": "locked", "ftwrl": "locked", "locktx": "tx", "ftwrltx": "tx locked",
		"nobinlog": "nobinlog var:sql_log_bin=0", "serial": "serial var:transaction_isolation=SERIALIZABLE", "next": "next",
		"txw": "tx txw", "ac0tx": "tx txw ac0 var:autocommit=0", "temp": "pin=temporary-table",
		"prep":   "prep:r=SELECT * FROM t WHERE id = ? prep:w=UPDATE t SET a = ? WHERE id = ?",
		"uvar":   "var:@q='SELECT 1' var:@u='DELETE FROM t'",
		"forcer": "", "forcep": "", "mysql": "", "nover": "",
	}
	for name := range setups {
		if got := summary(newState(name)); got != want[name] {
			t.Errorf("setup %q: state %q, want %q", name, got, want[name])
		}
	}
}

// TestSession: a session's statements in order, each decision and the
// state it leaves.
func TestSession(t *testing.T) {
	st := NewState(sql.MariaDB)
	st.ServerVersion = 101106
	steps := []struct{ q, want, state string }{
		{"SET NAMES utf8mb4", "session session r", "var:names=utf8mb4"},
		{"USE shop", "session session r", "db=shop var:names=utf8mb4"},
		{"SELECT * FROM items WHERE id = 1", "replica read", "db=shop var:names=utf8mb4"},
		{"START TRANSACTION", "primary tx-begin", "tx db=shop var:names=utf8mb4"},
		{"SELECT stock FROM items WHERE id = 1 FOR UPDATE", "primary tx", "tx db=shop var:names=utf8mb4"},
		{"UPDATE items SET stock = stock - 1 WHERE id = 1", "primary tx w", "tx txw db=shop var:names=utf8mb4"},
		{"COMMIT", "primary tx-end w", "db=shop var:names=utf8mb4"},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM items LIMIT 10", "replica read", "db=shop var:names=utf8mb4"},
		{"SELECT FOUND_ROWS()", "previous previous", "db=shop var:names=utf8mb4"},
		{"SET NAMES latin1", "session session r", "db=shop var:names=latin1"},
		{"SELECT GET_LOCK('job', 0)", "primary pinned:get_lock", "pin=get_lock db=shop var:names=latin1"},
		{"SELECT 1", "primary pinned:get_lock", "pin=get_lock db=shop var:names=latin1"},
	}
	for _, s := range steps {
		if got := render(Route(st, s.q)); got != s.want {
			t.Errorf("%q: got %q, want %q", s.q, got, s.want)
		}
		if got := summary(st); got != s.state {
			t.Errorf("%q: state %q, want %q", s.q, got, s.state)
		}
	}
}

// TestLargeStatement: a text over MaxClassified is not read: it goes to
// the primary and pins the session.
func TestLargeStatement(t *testing.T) {
	for _, q := range []string{
		"SELECT 1 FROM t WHERE id IN (" + strings.Repeat("1,", MaxClassified/2) + "1)",
		"SET @x = '" + strings.Repeat("x", MaxClassified) + "'",
	} {
		st := newState("")
		if got := render(Route(st, q)); got != "primary pinned:large-statement w" {
			t.Errorf("%s...: %s", q[:20], got)
		}
		if got := render(Route(st, "SELECT 1")); got != "primary pinned:large-statement" {
			t.Errorf("after it: %s", got)
		}
	}
	st := newState("")
	if got := render(Route(st, "SELECT 1 FROM t WHERE id IN ("+strings.Repeat("1,", MaxClassified/2-20)+"1)")); got != "replica read" {
		t.Errorf("just under the limit: %s", got)
	}
}

func TestTargetString(t *testing.T) {
	for tg, want := range map[Target]string{Replica: "replica", Primary: "primary", Previous: "previous", Session: "session", 9: "unknown"} {
		if got := fmt.Sprint(tg); got != want {
			t.Errorf("%d: %q, want %q", tg, got, want)
		}
	}
}
