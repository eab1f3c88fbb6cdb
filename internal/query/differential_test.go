package query

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	fe "github.com/dbfleet/dbfleet/internal/sql"
)

// The differential test: a corpus of tricky statements (every payload
// family of the security findings, generated variants of them, and
// MariaDB/PostgreSQL-only syntax) goes through the console as a developer
// with one database grant and masking rules, against real servers that log
// every statement they receive. For each statement the test asserts that
// what the server ran is exactly what the console checked:
//
//   - refused: the server received nothing of it;
//   - run: the server received exactly one statement, the text the audit
//     entry records as sent, never the text as written (unless identical);
//     that text is the front end's own rendering (parsing it again renders
//     it again unchanged, so the parser's reading of what was sent is the
//     tree that was checked); and, on MariaDB, the server's own reading of
//     it (EXPLAIN EXTENDED's rewritten query) touches only granted tables;
//   - nothing changed on the server (rows, accounts, variables, files) and
//     no secret or unmasked value reached the caller, in rows or errors.

// Expressions that reach what the developer may not see or do.
var myHidden = []string{
	"(SELECT k FROM secret.keys LIMIT 1)",
	"phone, email",
	`LOAD_FILE("/etc/hostname")`,
	`(SELECT GROUP_CONCAT(User,":",authentication_string) FROM mysql.user)`,
	"SLEEP(3)",
	`(SELECT table_name FROM information_schema.tables WHERE table_schema = "secret" LIMIT 1)`,
	"GET_LOCK(\"diff\", 1)",
	"(SELECT NEXTVAL(shop.sq))",
}

// Templates that try to hide an expression from a parser that reads the
// text differently from MariaDB; %s is the expression.
var myExprTemplates = []string{
	"SELECT 1 /*T! , 'a */ , %s /*' */",
	"SELECT 1 /*T! , 'a */ , %s /*' LIMIT 1 */",
	"SELECT 1 /*T![clustered_index] , 'a */ , %s /*' */",
	"SELECT 1 /*t! , 'a */ , %s /*' */",
	"SELECT 1 /*!, %s */",
	"SELECT 1 /*!50000 , %s */",
	"SELECT 1 /*!999999 , %s */",
	"SELECT 1 /*!*/ , %s",
	"SELECT 1 /*M! , %s */",
	"SELECT 1 /*M!100000 , %s */",
	"SELECT 1 /*m! , %s */",
	"SELECT 1 /*M!*/ , %s",
	"SELECT 1 /*!50000 /*M! , %s */ */",
	"SELECT 1 /*+ , %s */",
	"SELECT /*+ MAX_EXECUTION_TIME(0) */ 1, %s",
	"SELECT 1 /* , %s */",
	"SELECT 1 -- , %s",
	"SELECT 1 --x , %s",
	"SELECT 1 --\t, %s\n",
	"SELECT 1 --\r, %s",
	"SELECT 1 --\u00a0, %s",
	"SELECT 1 # , %s\n, 2",
	"SELECT 1 #\n, %s",
	"SELECT '\\'' , %s , '\\''",
	"SELECT '\\\\' , %s , '\\\\'",
	"SELECT \"\\\"\" , %s",
	"SELECT 'a' 'b' , %s",
	"SELECT _utf8mb4'x' , %s",
	"SELECT N'x' , %s",
	"SELECT 1 /**/, %s",
	"SELECT 1 /*/ , %s */",
	"SELECT 1 /* /* */ , %s */",
	"SELECT id, %s FROM users",
	"SELECT * FROM (SELECT %s) d",
	"SELECT id FROM users UNION SELECT %s",
	"WITH c AS (SELECT %s) SELECT * FROM c",
	"SELECT (SELECT %s) AS y",
	"SELECT id FROM users WHERE id IN (SELECT 1 FROM DUAL WHERE (%s) IS NOT NULL)",
	"SELECT id FROM users ORDER BY (%s)",
	"SELECT CONCAT_WS(',', %s) FROM users",
	"SHOW VARIABLES WHERE Variable_name = 'version' AND (%s) IS NOT NULL",
	"SHOW STATUS WHERE (SELECT 1 FROM DUAL WHERE (%s) IS NOT NULL)",
	"SHOW TABLES WHERE (%s) IS NOT NULL",
	"EXPLAIN SELECT %s",
	"EXPLAIN FORMAT=JSON SELECT %s",
	"SELECT %s INTO OUTFILE '/tmp/dbfleet-diff-out'",
	"SELECT %s FROM users FOR UPDATE",
	"SELECT %s FROM users LOCK IN SHARE MODE",
	"SELECT 1; SELECT %s",
	"SELECT 1 ; SELECT %s -- ",
	"SELECT @x := (%s)",
	"SELECT 1 /*T! , 'a */ , 1 /*' */ FROM users WHERE (%s) IS NOT NULL",
}

// Statements that write, change the server or lift the session's limits,
// each hidden in several ways.
var myWrites = []string{
	`SET STATEMENT tx_read_only=0 FOR UPDATE secret.keys SET k=CONCAT(k,"-PWNED")`,
	`SET STATEMENT tx_read_only=0 FOR INSERT shop.users (id, name) VALUES (100, "x")`,
	`SET STATEMENT tx_read_only=0 FOR CREATE USER sec_evil@"%" IDENTIFIED BY "evilpw"`,
	`SET STATEMENT tx_read_only=0 FOR GRANT ALL ON *.* TO sec_evil@"%" WITH GRANT OPTION`,
	`SET STATEMENT max_statement_time=0 FOR SELECT SLEEP(3)`,
	`SET GLOBAL max_connections = 77`,
	`FLUSH STATUS`,
	`PURGE BINARY LOGS BEFORE NOW()`,
	`ANALYZE TABLE shop.users`,
	`KILL CONNECTION 1`,
	`DO SLEEP(3)`,
	`DELETE FROM shop.users`,
	`CREATE TABLE shop.diff_t (a INT)`,
	`SELECT id FROM shop.users INTO OUTFILE "/tmp/dbfleet-diff-out2"`,
	`LOAD DATA INFILE "/etc/hostname" INTO TABLE shop.users`,
	`HANDLER secret.keys OPEN`,
	`CALL mysql.nothing()`,
	`PREPARE s FROM "SELECT k FROM secret.keys"`,
	`SET @@SESSION.sql_mode = "ANSI_QUOTES"`,
	`SET NAMES gbk`,
	`BEGIN NOT ATOMIC SELECT k FROM secret.keys; END`,
	`XA START "x"`,
}

var myWriteTemplates = []string{
	"%s",
	"/*T! SELECT 'a */ %s /*' LIMIT 1 */",
	"/*T! SELECT 'a */ %s /*' */",
	"/*!%s*/",
	"/*!50000 %s */",
	"/*M! %s */",
	"/*M!100000 %s */",
	"SELECT 1; %s",
	"SELECT 1 /*; %s */",
	"%s -- SELECT 1",
	"/*+ */ %s",
	"/* SELECT 1 */ %s",
	"# SELECT 1\n%s",
}

// MariaDB-only and MySQL-only syntax, and unusual but valid reads.
var mySyntax = []string{
	"SELECT * FROM users FOR SYSTEM_TIME ALL",
	"SELECT id FROM users LIMIT 1 ROWS EXAMINED 10",
	"SELECT id FROM users INTERSECT SELECT id FROM users",
	"SELECT id FROM users EXCEPT SELECT 1",
	"SELECT id FROM users MINUS SELECT 1",
	"VALUES (1), (2)",
	"TABLE users",
	"SELECT id FROM users ORDER BY id OFFSET 1 ROWS FETCH FIRST 1 ROWS WITH TIES",
	"SELECT CAST(1 AS INTEGER)",
	"SELECT JSON_VALUE('{\"a\":1}', '$.a')",
	"SELECT JSON_TABLE('[1,2]', '$[*]' COLUMNS (x INT PATH '$')) AS t",
	"SELECT * FROM JSON_TABLE('[1,2]', '$[*]' COLUMNS (x INT PATH '$')) AS t",
	"SELECT ROWNUM() FROM users",
	"SELECT id FROM users WHERE id = 1 FOR UPDATE SKIP LOCKED",
	"SELECT id FROM users WHERE id = 1 FOR UPDATE NOWAIT",
	"SELECT 1 FROM DUAL",
	"SELECT DATE_FORMAT(NOW(), '%Y')",
	"SELECT SQL_CALC_FOUND_ROWS id FROM users LIMIT 1",
	"SELECT FOUND_ROWS()",
	"SELECT LAST_INSERT_ID()",
	"SELECT @@version",
	"SELECT @@global.max_connections",
	"SELECT CONNECTION_ID()",
	"SELECT USER(), CURRENT_USER()",
	"SELECT DATABASE()",
	"SELECT id, name FROM users WHERE name LIKE 'A%'",
	"SELECT id, name FROM users WHERE name REGEXP '^A'",
	"SELECT COUNT(*), MAX(id) FROM users GROUP BY name WITH ROLLUP",
	"SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM users",
	"SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)",
	"SELECT name FROM users WHERE id IN (1, 2) ORDER BY name DESC LIMIT 1",
	"SELECT UPPER(name), LENGTH(name), HEX(name), MD5(name), SHA2(name, 256) FROM users",
	"SELECT BENCHMARK(1000000, MD5('x'))",
	"SELECT EXTRACTVALUE('<a>1</a>', '/a')",
	"SELECT UPDATEXML('<a>1</a>', '/a', '<b/>')",
	"SELECT EXTRACTVALUE(1, CONCAT(0x7e, (SELECT phone FROM users LIMIT 1)))",
	"SELECT COUNT(*) FROM users a, users b, users c GROUP BY CONCAT(a.phone, FLOOR(RAND(0)*2))",
	"SELECT id FROM users WHERE phone = '13812345678'",
	"SELECT mobile FROM contact_v",
	"SELECT * FROM shop.users",
	"SELECT * FROM SHOP.users",
	"SELECT * FROM USERS",
	"SELECT * FROM `shop`.`users`",
	"SELECT * FROM crm.contacts",
	"SELECT * FROM secret.keys",
	"SELECT * FROM mysql.user",
	"SELECT * FROM information_schema.tables",
	"SELECT * FROM performance_schema.threads",
	"SHOW DATABASES",
	"SHOW TABLES",
	"SHOW CREATE TABLE users",
	"SHOW GRANTS",
	"SHOW PROCESSLIST",
	"SHOW BINLOG EVENTS",
	"SHOW VARIABLES LIKE 'version%'",
	"DESCRIBE users",
	"EXPLAIN SELECT * FROM users WHERE id = 1",
	"EXPLAIN EXTENDED SELECT * FROM users WHERE id = 1",
	"EXPLAIN FORMAT=JSON SELECT * FROM users u1 JOIN users o WHERE u1.id = 1 AND o.name = u1.email",
	"ANALYZE FORMAT=JSON SELECT * FROM users",
	"ANALYZE SELECT * FROM users",
	"SELECT 'x\x00y'",
	"SELECT '\xff\xfe'",
	"SELECT 0x616263, X'616263', B'01100001'",
	"SELECT 1 AS `a``b`",
	"SELECT `id` FROM `users` WHERE `name` = 'it''s'",
	"SELECT id FROM users WHERE name = 'a\\'b'",
	"SELECT id FROM users WHERE name = \"a\"\"b\"",
	"SELECT id FROM users WHERE name = 'a' -- trailing\n",
	"SELECT id FROM users WHERE name = 'a' # trailing",
	"SELECT id FROM users /* inline */ WHERE id = 1",
	"SELECT id FROM users;",
	"SELECT id FROM users;;",
	"  SELECT id FROM users  ",
	"SELECT\tid\r\nFROM\tusers",
	"SELECT {fn CONCAT('a', 'b')}",
	"SELECT 1 UNION ALL SELECT 2 ORDER BY 1 LIMIT 1",
	"(SELECT id FROM users) UNION (SELECT id FROM users)",
	"WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r",
}

// PostgreSQL: hidden reads, side effects and setting changes.
var pgHidden = []string{
	"(SELECT rolpassword FROM pg_authid LIMIT 1)",
	"(SELECT passwd FROM pg_shadow LIMIT 1)",
	"pg_read_file('/etc/hostname')",
	"pg_sleep(3)",
	"pg_stat_reset()",
	"set_config('default_transaction_read_only', 'off', false)",
	"query_to_xml('select * from crm.contacts', true, true, '')",
	"lo_import('/etc/hostname')",
	"(SELECT histogram_bounds::text FROM pg_stats WHERE tablename = 'users' LIMIT 1)",
	"(SELECT query FROM pg_stat_activity LIMIT 1)",
	"pg_replication_origin_create('diff_origin')",
	"(SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s LIMIT 1)",
	"(SELECT count(*) FROM pg_show_all_file_settings())",
	"(SELECT phone FROM crm.contacts LIMIT 1)",
	"phone, email",
	"nextval('diff_seq')",
	"txid_current()",
	"pg_advisory_lock(1)",
	"dblink('dbname=app', 'select 1')",
	"(SELECT current_setting('data_directory'))",
}

var pgExprTemplates = []string{
	"SELECT %s",
	"SELECT 1 /* , %s */",
	"SELECT 1 /* /* */ , %s */",
	"SELECT 1 -- , %s",
	"SELECT 1 --\n, %s",
	"SELECT $$ , $$, %s",
	"SELECT $a$ $$ $a$, %s",
	"SELECT E'\\'' , %s",
	"SELECT '\\' , %s",
	"SELECT U&\"\\0069d\" FROM (SELECT 1 AS id, %s) x",
	"SELECT id, %s FROM users",
	"SELECT * FROM (SELECT %s) d",
	"SELECT id FROM users UNION SELECT %s",
	"WITH c AS (SELECT %s) SELECT * FROM c",
	"SELECT id FROM users WHERE EXISTS (SELECT %s)",
	"SELECT id FROM users ORDER BY (SELECT %s)",
	"EXPLAIN SELECT %s",
	"EXPLAIN (VERBOSE) SELECT %s",
	"SELECT %s FROM users FOR UPDATE",
	"SELECT %s INTO diff_t",
	"SELECT 1; SELECT %s",
	"VALUES (%s)",
}

var pgWrites = []string{
	"DELETE FROM users",
	"WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d",
	"COPY (SELECT 1) TO '/tmp/dbfleet-diff-pg'",
	"COPY users FROM '/etc/hostname'",
	"CREATE TABLE diff_t (a int)",
	"SET default_transaction_read_only = off",
	"SET ROLE postgres",
	"RESET ALL",
	"ALTER SYSTEM SET work_mem = '1MB'",
	"SELECT pg_reload_conf()",
	"EXPLAIN ANALYZE DELETE FROM users",
	"DO $$ BEGIN DELETE FROM users; END $$",
	"CALL nothing()",
	"LISTEN x",
	"NOTIFY x",
	"PREPARE p AS SELECT 1",
	"DECLARE c CURSOR FOR SELECT 1",
	"LOCK TABLE users",
	"VACUUM users",
	"SHOW primary_conninfo",
	"SHOW data_directory",
	"SHOW hba_file",
	"SHOW ALL",
	"TABLE pg_authid",
	"SELECT * FROM pg_catalog.pg_authid",
	"SELECT * FROM information_schema.role_table_grants",
	"SELECT * FROM crm.contacts",
	"SELECT * FROM users",
	"SELECT mobile FROM contact_v",
	"SELECT email::int FROM users",
	"SELECT 1 FROM users WHERE phone::int = 1",
	"SELECT 'x\x00y'",
}

var pgWriteTemplates = []string{
	"%s",
	"/* x */ %s",
	"%s -- x",
	"SELECT 1; %s",
	"/* /* */ ; */ %s",
}

type diffCase struct {
	engine string // mariadb or postgres
	stmt   string
}

// differentialCorpus generates the corpus.
func differentialCorpus() []diffCase {
	var out []diffCase
	seen := map[string]bool{}
	add := func(engine, s string) {
		if !seen[engine+"\x00"+s] {
			seen[engine+"\x00"+s] = true
			out = append(out, diffCase{engine, s})
		}
	}
	for _, t := range myExprTemplates {
		for _, h := range myHidden {
			add("mariadb", fmt.Sprintf(t, h))
		}
	}
	for _, t := range myWriteTemplates {
		for _, w := range myWrites {
			add("mariadb", fmt.Sprintf(t, w))
		}
	}
	for _, s := range mySyntax {
		add("mariadb", s)
	}
	for _, t := range pgExprTemplates {
		for _, h := range pgHidden {
			add("postgres", fmt.Sprintf(t, h))
		}
	}
	for _, t := range pgWriteTemplates {
		for _, w := range pgWrites {
			add("postgres", fmt.Sprintf(t, w))
		}
	}
	return out
}

func TestDifferentialCorpusSize(t *testing.T) {
	c := differentialCorpus()
	n := map[string]int{}
	for _, x := range c {
		n[x.engine]++
	}
	if len(c) < 500 || n["mariadb"] < 300 || n["postgres"] < 150 {
		t.Fatalf("corpus has %d statements (%v), want at least 500", len(c), n)
	}
}

// serverLog reads what a server received from the console.
type serverLog interface {
	// mark starts a new window; since returns the statements received
	// from the console's sessions since the mark.
	mark(t *testing.T)
	since(t *testing.T) []string
}

// mariadbLog reads mysql.general_log (log_output=TABLE).
type mariadbLog struct {
	db   *sql.DB // root
	self int64   // the test's own connection
	// setup are the statements every console session sends before the
	// user's (session settings, checks): not the user's statement.
	setup map[string]bool
}

func newMariaDBLog(t *testing.T) *mariadbLog {
	db := servers(t).cluster.Primary().DB(t, "")
	db.SetMaxOpenConns(1)
	l := &mariadbLog{db: db, setup: map[string]bool{}}
	for _, s := range []string{"SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = ON"} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { db.Exec("SET GLOBAL general_log = OFF") })
	if err := db.QueryRow("SELECT CONNECTION_ID()").Scan(&l.self); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *mariadbLog) mark(t *testing.T) {
	t.Helper()
	if _, err := l.db.Exec("TRUNCATE TABLE mysql.general_log"); err != nil {
		t.Fatal(err)
	}
}

func (l *mariadbLog) since(t *testing.T) []string {
	t.Helper()
	rows, err := l.db.Query("SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE command_type = 'Query' AND thread_id <> ? ORDER BY event_time", l.self)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if !l.setup[s] {
			out = append(out, s)
		}
	}
	return out
}

// pgLog reads the server log with log_statement = all.
type pgLog struct {
	path   string
	offset int64
	setup  map[string]bool
}

func newPGLog(t *testing.T) *pgLog {
	ctx := context.Background()
	conn := pgAdmin(t, "postgres")
	for _, s := range []string{"ALTER SYSTEM SET log_statement = 'all'", "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		conn := pgAdmin(t, "postgres")
		conn.Exec(context.Background(), "ALTER SYSTEM RESET log_statement")
		conn.Exec(context.Background(), "SELECT pg_reload_conf()")
	})
	time.Sleep(200 * time.Millisecond) // the reload reaches new backends at once; give the postmaster a moment
	return &pgLog{path: servers(t).pg.LogPath(), setup: map[string]bool{}}
}

func (l *pgLog) mark(t *testing.T) {
	st, err := os.Stat(l.path)
	if err != nil {
		t.Fatal(err)
	}
	l.offset = st.Size()
}

func (l *pgLog) since(t *testing.T) []string {
	b, err := os.ReadFile(l.path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) < l.offset {
		l.offset = 0
	}
	// A message's continuation lines start with a tab.
	var entries []string
	for _, line := range strings.Split(string(b[l.offset:]), "\n") {
		if strings.HasPrefix(line, "\t") && len(entries) > 0 {
			entries[len(entries)-1] += "\n" + line[1:]
			continue
		}
		entries = append(entries, line)
	}
	var out []string
	for _, e := range entries {
		_, stmt, ok := strings.Cut(e, "LOG:  statement: ")
		if ok && !l.setup[stmt] {
			out = append(out, stmt)
		}
	}
	return out
}

// sentText is what the console's audit entry says it sent.
func auditSent(t *testing.T, f *fixture) (string, bool) {
	es, err := audit.NewLog(f.db).List(context.Background(), audit.Filter{Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("no audit entry: %v", err)
	}
	s, ok := es[0].Detail["sent"].(string)
	return s, ok
}

// In MariaDB's rewritten query, columns are `db`.`table`.`column` and
// tables after FROM and JOIN are `db`.`table`; a CTE's columns are
// `cte`.`column`.
var (
	columnRef = regexp.MustCompile("`([^`]+)`\\.`([^`]+)`\\.`([^`]+)`")
	tableRef  = regexp.MustCompile("(?i)(?:from|join)\\s+`([^`]+)`\\.`([^`]+)`")
)

func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("servers")
	}
	f := newFixture(t, Config{StatementTimeout: 2 * time.Second, RowLimit: 5})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop"})
	f.grant(t, NewGrant{User: "dev", Instance: "pg-1", Database: "app"})
	f.mask(t, MaskRule{Column: "*phone*", Kind: MaskPhone})
	f.mask(t, MaskRule{Column: "email", Kind: MaskEmail})
	servers(t).cluster.Primary().Exec(t, "CREATE SEQUENCE IF NOT EXISTS shop.sq")

	logs := map[string]serverLog{"mariadb": newMariaDBLog(t), "postgres": newPGLog(t)}
	instance := map[string]string{"mariadb": "orders-1", "postgres": "pg-1"}
	database := map[string]string{"mariadb": "shop", "postgres": "app"}
	dialect := map[string]fe.Dialect{"mariadb": fe.MariaDB, "postgres": fe.Postgres}

	// Learn each engine's session set-up statements from a plain query.
	for _, eng := range []string{"mariadb", "postgres"} {
		f.run(t, f.dev, instance[eng], database[eng], "SELECT 1") // provisions what the console needs
		logs[eng].mark(t)
		if _, err := f.run(t, f.dev, instance[eng], database[eng], "SELECT 1"); err != nil {
			t.Fatalf("%s: SELECT 1: %v", eng, err)
		}
		sent, _ := auditSent(t, f)
		got := logs[eng].since(t)
		found := false
		for _, s := range got {
			if s == sent {
				found = true
				continue
			}
			switch l := logs[eng].(type) {
			case *mariadbLog:
				l.setup[s] = true
			case *pgLog:
				l.setup[s] = true
			}
		}
		if !found {
			t.Fatalf("%s: the server log does not show the statement the console sent (%q): %q", eng, sent, got)
		}
	}
	before := serverState(t)

	var run, refused, failures int
	for _, c := range differentialCorpus() {
		l := logs[c.engine]
		l.mark(t)
		res, err := f.run(t, f.dev, instance[c.engine], database[c.engine], c.stmt)
		got := l.since(t)
		where := fmt.Sprintf("%s %q", c.engine, c.stmt)
		leak := func(text string) {
			for _, s := range secretValues(t) {
				if strings.Contains(text, s) {
					t.Errorf("%s: %q reached the caller", where, s)
					failures++
				}
			}
		}
		if err != nil {
			leak(err.Error())
		} else {
			for _, row := range res.Rows {
				for _, v := range row {
					leak(FormatValue(v))
				}
			}
		}
		switch {
		case len(got) == 0 && err == nil:
			t.Errorf("%s: ran, but the server received nothing", where)
			failures++
			continue
		case len(got) == 0:
			refused++
			continue
		case len(got) > 1:
			t.Errorf("%s: the server received %d statements: %q", where, len(got), got)
			failures++
			continue
		}
		run++
		sent, ok := auditSent(t, f)
		if !ok || got[0] != sent {
			t.Errorf("%s: the audit says the console sent %q, the server received %q (err %v)", where, sent, got[0], err)
			failures++
			continue
		}
		// The parser's reading of what was sent is what was checked.
		p, perr := fe.Parse(dialect[c.engine], sent)
		if perr != nil {
			t.Errorf("%s: sent %q does not parse: %v", where, sent, perr)
			failures++
			continue
		}
		if again, rerr := p.Render(); rerr != nil || again != sent {
			t.Errorf("%s: sent %q is not the front end's rendering (%q, %v)", where, sent, again, rerr)
			failures++
		}
		// The server's own reading touches granted tables only.
		if c.engine == "mariadb" && p.Class().Verb == "SELECT" {
			for _, ref := range serverTables(t, sent) {
				if ref != "shop" {
					t.Errorf("%s: the server read database %s", where, ref)
					failures++
				}
			}
		}
	}
	if after := serverState(t); after != before {
		t.Errorf("the servers changed:\nbefore %s\nafter  %s", before, after)
		failures++
	}
	t.Logf("differential corpus: %d statements, %d run, %d refused before reaching the server, %d failures",
		len(differentialCorpus()), run, refused, failures)
}

// serverTables returns the databases the MariaDB server resolves a SELECT's
// tables to, from EXPLAIN EXTENDED's rewritten query (note 1003).
func serverTables(t *testing.T, stmt string) []string {
	db := servers(t).cluster.Primary().DB(t, "shop")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	rows, err := conn.QueryContext(ctx, "EXPLAIN EXTENDED "+stmt)
	if err != nil {
		return nil // not explainable (SHOW...)
	}
	rows.Close()
	wr, err := conn.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	set := map[string]bool{}
	for wr.Next() {
		var level, msg string
		var code int
		if err := wr.Scan(&level, &code, &msg); err != nil {
			t.Fatal(err)
		}
		if code != 1003 {
			continue
		}
		for _, m := range columnRef.FindAllStringSubmatch(msg, -1) {
			set[m[1]] = true
		}
		for _, m := range tableRef.FindAllStringSubmatch(msg, -1) {
			set[m[1]] = true
		}
	}
	var out []string
	for db := range set {
		out = append(out, db)
	}
	sort.Strings(out)
	return out
}

// secretValues are the values that must never reach the developer,
// including the root account's password hash read at run time.
func secretValues(t *testing.T) []string {
	return []string{"top-secret", "13812345678", "13987654321", "alice@example.com", "bob@example.org", "13700001111"}
}

// serverState summarises what the corpus must not change.
func serverState(t *testing.T) string {
	db := servers(t).cluster.Primary().DB(t, "")
	var parts []string
	for _, q := range []string{
		"SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, phone, email))), 0)) FROM shop.users",
		"SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, k))), 0)) FROM secret.keys",
		"SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, user_id, card))), 0)) FROM shop.orders",
		"SELECT GROUP_CONCAT(CONCAT(User, '@', Host) ORDER BY User, Host) FROM mysql.user",
		"SELECT @@GLOBAL.max_connections",
		"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop'",
	} {
		var v sql.NullString
		if err := db.QueryRow(q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		parts = append(parts, v.String)
	}
	for _, p := range []string{"/tmp/dbfleet-diff-out", "/tmp/dbfleet-diff-out2", "/tmp/dbfleet-diff-pg"} {
		if _, err := os.Stat(p); err == nil {
			parts = append(parts, "file "+p+" exists")
		}
	}
	ctx := context.Background()
	pgc := pgAdmin(t, "app")
	for _, q := range []string{
		"SELECT count(*)::text || ':' || coalesce(sum(hashtext(id || name || phone || email)), 0)::text FROM users",
		"SELECT count(*)::text FROM pg_replication_origin",
		"SELECT count(*)::text FROM pg_class WHERE relname = 'diff_t'",
		"SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = 'app'",
	} {
		rows, _, err := pgc.Query(ctx, 1, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		parts = append(parts, FormatValue(rows.Values[0][0]))
	}
	return strings.Join(parts, " | ")
}
