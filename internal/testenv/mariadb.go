package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

const mariadbHint = "apt-get install mariadb-server"

// MariaDB is a running (or stopped) throwaway mariadbd.
//
// Every server writes a GTID binary log (log-bin, log-slave-updates,
// binlog_format=ROW, gtid_strict_mode), reports itself as 127.0.0.1:Port to
// its source (report_host/report_port), and uses utf8mb4 and UTC. Its
// accounts (root over the socket without a password, User/Password over TCP,
// a cluster's replication user) are created with sql_log_bin=0, so a fresh
// server's binary log is empty.
type MariaDB struct {
	Host string
	Port int
	// User/Password: a superuser (ALL PRIVILEGES ON *.* WITH GRANT OPTION)
	// from '%' and 'localhost', authenticated by password.
	User, Password string
	DataDir        string
	Socket         string // unix socket; root can log in there without a password
	ServerID       int

	proc *process
}

// MariaDBOption changes how StartMariaDB starts a server.
type MariaDBOption func(*mariadbConfig)

type mariadbConfig struct {
	serverID int
	password string
	args     []string
}

// MariaDBServerID sets server_id (default: the server's port, unique on the
// machine).
func MariaDBServerID(id int) MariaDBOption {
	return func(c *mariadbConfig) { c.serverID = id }
}

// MariaDBPassword sets the superuser's password (default: random).
func MariaDBPassword(password string) MariaDBOption {
	return func(c *mariadbConfig) { c.password = password }
}

// MariaDBArgs appends mariadbd command-line options; they come last and
// so override the defaults (e.g. "--skip-log-bin", "--sql-mode=ANSI").
func MariaDBArgs(args ...string) MariaDBOption {
	return func(c *mariadbConfig) { c.args = append(c.args, args...) }
}

type mariadbBins struct{ server, install string }

func findMariaDB() (mariadbBins, bool) {
	server, ok1 := lookBinary("mariadbd", "/usr/sbin", "/usr/local/sbin", "/usr/libexec")
	install, ok2 := lookBinary("mariadb-install-db", "/usr/bin", "/usr/local/bin", "/usr/scripts")
	return mariadbBins{server: server, install: install}, ok1 && ok2
}

func requireMariaDB(t testing.TB) mariadbBins {
	t.Helper()
	SkipShort(t)
	bins, ok := findMariaDB()
	if !ok {
		missing(t, "mariadbd or mariadb-install-db", mariadbHint)
	}
	return bins
}

// StartMariaDB starts a mariadbd and waits until its superuser can log in.
func StartMariaDB(t testing.TB, opts ...MariaDBOption) *MariaDB {
	t.Helper()
	bins := requireMariaDB(t)
	var cfg mariadbConfig
	for _, o := range opts {
		o(&cfg)
	}
	m, err := startMariaDB(t, bins, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// startMariaDB does StartMariaDB's work without calling t.Fatal, so that
// clusters can start their nodes concurrently. Its error carries the log
// tail.
func startMariaDB(t testing.TB, bins mariadbBins, cfg mariadbConfig) (*MariaDB, error) {
	t.Helper()
	began := time.Now()
	base, err := tempBase(t, "mariadb")
	if err != nil {
		return nil, fmt.Errorf("testenv: mariadb: %w", err)
	}
	m := &MariaDB{
		Host:     "127.0.0.1",
		User:     "dbfleet",
		Password: cfg.password,
		DataDir:  filepath.Join(base, "data"),
		Socket:   filepath.Join(base, "mariadb.sock"),
	}
	if m.Password == "" {
		m.Password = secret("secret-")
	}
	if err := initMariaDBData(bins, m.DataDir); err != nil {
		return nil, fmt.Errorf("testenv: mariadb: %w", err)
	}
	errorLog := filepath.Join(base, "error.log")
	m.proc = &process{
		name:    "mariadbd",
		path:    bins.server,
		out:     filepath.Join(base, "stdout.log"),
		logs:    []string{errorLog, filepath.Join(base, "stdout.log")},
		stopSig: syscall.SIGTERM,
	}
	t.Cleanup(m.proc.kill)

	_, err = startWithRetry(func(port int) error {
		m.Port = port
		m.ServerID = cfg.serverID
		if m.ServerID == 0 {
			m.ServerID = port
		}
		m.proc.args = m.args(base, errorLog, cfg.args)
		_ = os.Truncate(errorLog, 0) // a retry must not see the last attempt's errors
		if err := m.proc.start(); err != nil {
			return err
		}
		err := m.proc.waitReady(m.pingRoot)
		if err != nil {
			m.proc.kill()
		}
		return err
	})
	if err != nil {
		return nil, errors.New(m.proc.failure(fmt.Errorf("mariadb in %s: %w", base, err)))
	}
	if err := m.bootstrap(); err != nil {
		return nil, errors.New(m.proc.failure(fmt.Errorf("mariadb on port %d: create accounts: %w", m.Port, err)))
	}
	t.Logf("testenv: mariadb %d (server_id %d) ready in %s", m.Port, m.ServerID, time.Since(began).Round(time.Millisecond))
	return m, nil
}

func (m *MariaDB) args(base, errorLog string, extra []string) []string {
	args := []string{
		"--no-defaults", // must come first
		"--datadir=" + m.DataDir,
		"--port=" + strconv.Itoa(m.Port),
		"--bind-address=127.0.0.1",
		"--socket=" + m.Socket,
		"--pid-file=" + filepath.Join(base, "mariadbd.pid"),
		"--log-error=" + errorLog,
		"--tmpdir=" + base,
		"--skip-name-resolve",
		"--performance-schema=OFF",
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=8M",
		"--innodb-temp-data-file-path=ibtmp1:1M:autoextend", // instead of writing 12 MB at each start
		"--innodb-flush-log-at-trx-commit=2",
		"--skip-innodb-doublewrite",
		"--sync-binlog=0",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
		"--default-time-zone=+00:00",
		"--server-id=" + strconv.Itoa(m.ServerID),
		"--log-bin=mariadb-bin",
		"--relay-log=relay-bin",
		"--binlog-format=ROW",
		"--log-slave-updates=ON",
		"--gtid-strict-mode=ON",
		"--report-host=127.0.0.1",
		"--report-port=" + strconv.Itoa(m.Port),
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	return append(args, extra...)
}

// initMariaDBData fills datadir from the cached template, or runs
// mariadb-install-db into it when no template can be had.
func initMariaDBData(bins mariadbBins, datadir string) error {
	tmpl, terr := mariadbTemplate()
	if terr == nil {
		if err := copyTree(tmpl, datadir, -1, -1); err != nil {
			return fmt.Errorf("copy template %s: %w", tmpl, err)
		}
		return nil
	}
	if err := installMariaDB(bins, datadir); err != nil {
		return fmt.Errorf("%w (no template either: %v)", err, terr)
	}
	return nil
}

func buildMariaDBTemplate() (string, error) {
	bins, ok := findMariaDB()
	if !ok {
		return "", fmt.Errorf("mariadb binaries not found")
	}
	return cachedTemplate("mariadb-"+binaryKey(bins.server, bins.install), func(stage string) error {
		return installMariaDB(bins, filepath.Join(stage, "data"))
	})
}

func installMariaDB(bins mariadbBins, datadir string) error {
	args := []string{
		"--no-defaults",
		"--datadir=" + datadir,
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
		"--skip-name-resolve",
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=8M",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.install, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb-install-db --datadir=%s: %w\n%s", datadir, err, lastLines(string(out), 30))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rootConfig logs in as root over the unix socket (no password).
func (m *MariaDB) rootConfig() *mysql.Config {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net, c.Addr = "unix", m.Socket
	c.InterpolateParams = true // CREATE USER ... IDENTIFIED BY ? cannot be prepared
	c.Timeout = 5 * time.Second
	c.Logger = &mysql.NopLogger{}
	return c
}

// config is the superuser over TCP.
func (m *MariaDB) config(db string) *mysql.Config {
	c := mysql.NewConfig()
	c.User, c.Passwd = m.User, m.Password
	c.Net, c.Addr = "tcp", net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	c.DBName = db
	c.ParseTime = true
	c.Loc = time.UTC
	c.Timeout = 10 * time.Second
	c.Collation = "utf8mb4_general_ci"
	c.Logger = &mysql.NopLogger{} // "closing bad idle connection" after Kill is expected
	return c
}

func openMySQL(c *mysql.Config) (*sql.DB, error) {
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

func (m *MariaDB) pingRoot(ctx context.Context) error {
	db, err := openMySQL(m.rootConfig())
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

func (m *MariaDB) bootstrap() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := openMySQL(m.rootConfig())
	if err != nil {
		return err
	}
	defer db.Close()
	return execOn(ctx, db,
		stmt{"SET SESSION sql_log_bin = 0", nil},
		stmt{"CREATE USER ?@'%' IDENTIFIED BY ?", []any{m.User, m.Password}},
		stmt{"CREATE USER ?@'localhost' IDENTIFIED BY ?", []any{m.User, m.Password}},
		stmt{"GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", []any{m.User}},
		stmt{"GRANT ALL PRIVILEGES ON *.* TO ?@'localhost' WITH GRANT OPTION", []any{m.User}},
	)
}

type stmt struct {
	query string
	args  []any
}

// execOn runs statements in order on one connection, so that session
// settings (sql_log_bin) apply to the ones that follow.
func execOn(ctx context.Context, db *sql.DB, stmts ...stmt) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.query, err)
		}
	}
	return nil
}

func (m *MariaDB) where() string { return fmt.Sprintf("mariadb 127.0.0.1:%d", m.Port) }

// DSN is a go-sql-driver/mysql DSN for the superuser over TCP, with
// parseTime=true, loc=UTC and utf8mb4.
func (m *MariaDB) DSN(db string) string { return m.config(db).FormatDSN() }

// DB opens a pool to database db ("" for none) as the superuser, pings it,
// and closes it when the test ends.
func (m *MariaDB) DB(t testing.TB, db string) *sql.DB {
	t.Helper()
	pool, err := openMySQL(m.config(db))
	if err != nil {
		t.Fatalf("testenv: %s: open: %v", m.where(), err)
	}
	t.Cleanup(func() { pool.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pool.PingContext(ctx); err != nil {
		t.Fatalf("testenv: %s: ping: %v", m.where(), err)
	}
	return pool
}

// Exec runs the statements in order on one connection as the superuser,
// failing the test on the first error.
func (m *MariaDB) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	if err := m.exec(stmts...); err != nil {
		t.Fatalf("testenv: %s: %v", m.where(), err)
	}
}

func (m *MariaDB) exec(stmts ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := openMySQL(m.config(""))
	if err != nil {
		return err
	}
	defer db.Close()
	list := make([]stmt, len(stmts))
	for i, s := range stmts {
		list[i] = stmt{query: s}
	}
	return execOn(ctx, db, list...)
}

// queryRow runs a one-row query as the superuser and returns its columns
// by name (NULL as absent). No row gives an empty map.
func (m *MariaDB) queryRow(ctx context.Context, q string, args ...any) (map[string]string, error) {
	db, err := openMySQL(m.config(""))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, c := range cols {
			if vals[i].Valid {
				out[c] = vals[i].String
			}
		}
	}
	return out, rows.Err()
}

// ReplicaStatus returns SHOW SLAVE STATUS by column name (NULL columns are
// absent); an empty map when the server replicates from no one.
func (m *MariaDB) ReplicaStatus(t testing.TB) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := m.queryRow(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		t.Fatalf("testenv: %s: show slave status: %v", m.where(), err)
	}
	return st
}

// Kill sends SIGKILL to the server, as a crash would.
func (m *MariaDB) Kill(t testing.TB) {
	t.Helper()
	m.proc.kill()
}

// Stop shuts the server down cleanly.
func (m *MariaDB) Stop(t testing.TB) {
	t.Helper()
	if err := m.proc.stop(time.Minute); err != nil {
		t.Fatal(m.proc.failure(fmt.Errorf("%s: stop: %w", m.where(), err)))
	}
}

// Start restarts a stopped or killed server with the same data directory,
// port and options, and waits until it accepts connections. A replica
// resumes replicating; read_only, set at run time, is OFF again.
func (m *MariaDB) Start(t testing.TB) {
	t.Helper()
	if err := m.proc.start(); err != nil {
		t.Fatal(m.proc.failure(fmt.Errorf("%s: %w", m.where(), err)))
	}
	if err := m.proc.waitReady(m.pingRoot); err != nil {
		m.proc.kill()
		t.Fatal(m.proc.failure(fmt.Errorf("%s: restart: %w", m.where(), err)))
	}
}

// sqlString quotes s as a MariaDB string literal.
func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s) + "'"
}
