package route

import (
	"context"
	"os"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// server is a MariaDB started for the first test that needs it.
var server = testenv.Share(func(tb testing.TB) *testenv.MariaDB {
	m := testenv.StartMariaDB(tb)
	m.Exec(tb, "CREATE DATABASE r", "CREATE TABLE r.t (id int PRIMARY KEY, a int) ENGINE=InnoDB", "INSERT INTO r.t VALUES (1, 1)")
	return m
})

// TestStateMatchesServer: the state the router keeps agrees with what a
// real MariaDB says of the same session after each statement: whether a
// transaction is open (@@in_transaction), autocommit, sql_log_bin,
// SERIALIZABLE and the current database. Every statement that opens a
// transaction here reads or writes an InnoDB table (a SELECT without a
// table starts none on the server; the router assumes it does, which
// only keeps the session on the primary).
func TestStateMatchesServer(t *testing.T) {
	m := server.Get(t)
	db := m.DB(t, "r")
	db.SetMaxIdleConns(0) // a new session for each script
	scripts := [][]string{
		{"BEGIN", "SELECT * FROM t", "COMMIT", "SELECT * FROM t"},
		{"START TRANSACTION", "INSERT INTO t VALUES (2, 2)", "CREATE TABLE t2 (a int)", "DROP TABLE t2"},
		{"SET autocommit = 0", "SELECT * FROM t", "COMMIT", "UPDATE t SET a = a + 1", "SET autocommit = 1", "SELECT * FROM t"},
		{"SET autocommit = 0", "INSERT INTO t VALUES (3, 3)", "CREATE TABLE t3 (a int)", "SELECT * FROM t", "DROP TABLE t3", "SET autocommit = ON"},
		{"BEGIN", "UPDATE t SET a = 5", "CREATE TEMPORARY TABLE tmp (a int)", "DROP TEMPORARY TABLE tmp", "ROLLBACK"},
		{"BEGIN", "UPDATE t SET a = 6", "LOCK TABLES t WRITE", "UNLOCK TABLES"},
		{"START TRANSACTION READ ONLY", "SELECT * FROM t", "COMMIT AND CHAIN", "SELECT * FROM t", "ROLLBACK"},
		{"START TRANSACTION WITH CONSISTENT SNAPSHOT", "BEGIN", "SELECT * FROM t", "ROLLBACK AND NO CHAIN"},
		{"BEGIN", "UPDATE t SET a = 7", "FLUSH TABLES", "SELECT * FROM t"},
		{"BEGIN", "UPDATE t SET a = 8", "ANALYZE TABLE t", "SELECT * FROM t"},
		{"BEGIN", "SAVEPOINT s", "UPDATE t SET a = 9", "ROLLBACK TO SAVEPOINT s", "RELEASE SAVEPOINT s", "COMMIT"},
		{"BEGIN", "UPDATE t SET a = 10", "RENAME TABLE t TO t_old", "RENAME TABLE t_old TO t", "COMMIT"},
		{"BEGIN", "UPDATE t SET a = 11", "CREATE TABLE t4 (a int)", "BEGIN", "UPDATE t SET a = 12", "TRUNCATE TABLE t4", "DROP TABLE t4"},
		{"SET sql_log_bin = 0", "UPDATE t SET a = 11", "SET sql_log_bin = 1"},
		{"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SELECT * FROM t", "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"},
		{"SET tx_isolation = 'SERIALIZABLE'", "SET @@session.tx_isolation = 'READ-COMMITTED'"},
		{"USE mysql", "USE `r`"},
		{"PREPARE s FROM 'UPDATE t SET a = 12'", "BEGIN", "EXECUTE s", "COMMIT", "DEALLOCATE PREPARE s"},
		{"SET autocommit = 0", "SELECT * FROM t", "SET autocommit = 1", "SET autocommit = 0", "START TRANSACTION", "SET autocommit = 1"},
		{"/*!40101 SET autocommit = 0 */", "SELECT * FROM t", "/*!40101 COMMIT */", "SET autocommit = 1"},
		{"SET STATEMENT max_statement_time = 10 FOR SELECT * FROM t"},
		{"LOCK TABLES t WRITE", "BEGIN", "SELECT * FROM t", "UNLOCK TABLES", "COMMIT"},
		{"FLUSH TABLES WITH READ LOCK", "BEGIN", "SELECT * FROM t", "UNLOCK TABLES", "SELECT * FROM t", "COMMIT"},
		{"LOCK TABLES t READ", "SELECT * FROM t", "LOCK TABLES t WRITE", "UNLOCK TABLES"},
		{"SET autocommit = 0", "LOCK TABLES t WRITE", "UPDATE t SET a = 13", "UNLOCK TABLES", "SELECT * FROM t", "COMMIT", "SET autocommit = 1"},
	}
	ctx := context.Background()
	for _, script := range scripts {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st := NewState(sql.MariaDB)
		st.ServerVersion = 101119
		st.Database = "r"
		for _, q := range script {
			Route(st, q)
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			var inTx, autocommit, logBin int
			var iso, dbName string
			err := conn.QueryRowContext(ctx, "SELECT @@in_transaction, @@autocommit, @@sql_log_bin, @@tx_isolation, IFNULL(DATABASE(), '')").Scan(&inTx, &autocommit, &logBin, &iso, &dbName)
			if err != nil {
				t.Fatal(err)
			}
			if st.InTx != (inTx == 1) || st.Autocommit != (autocommit == 1) || st.NoBinlog != (logBin == 0) ||
				st.Serializable != (iso == "SERIALIZABLE") || st.Database != dbName {
				t.Errorf("%v, after %q: router %s db=%s; server in_transaction=%d autocommit=%d sql_log_bin=%d isolation=%s database=%s",
					script, q, summary(st), st.Database, inTx, autocommit, logBin, iso, dbName)
			}
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		if err := conn.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
