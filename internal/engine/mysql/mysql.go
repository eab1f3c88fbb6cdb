// Package mysql is the engine adapter for MySQL, MariaDB and TiDB, over
// github.com/go-sql-driver/mysql.
//
// A Conn is a small pool (database/sql): session state (USE, SET SESSION,
// an open transaction) does not carry from one call to the next.
package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Driver opens MySQL-protocol connections.
type Driver struct{}

// New returns the MySQL/MariaDB/TiDB driver.
func New() *Driver { return &Driver{} }

// Kinds are mariadb, mysql and tidb.
func (*Driver) Kinds() []engine.Kind { return []engine.Kind{engine.MariaDB, engine.MySQL, engine.TiDB} }

// flavor is the server actually answering, from its version string.
type flavor int

const (
	flavorMySQL flavor = iota
	flavorMariaDB
	flavorTiDB
)

// Conn is a connection pool to one server, or (from Session) one
// connection of its own.
type Conn struct {
	db        queryer // the pool, or a session's pinned connection
	pool      *sql.DB // closed by Close
	connector driver.Connector
	kind      engine.Kind
	where     string // engine://user@host:port, never the password
	secret    string // only to redact it from errors
	flavor    flavor // from the version at Open
	ver       [3]int
}

var (
	_ engine.Conn     = (*Conn)(nil)
	_ engine.Streamer = (*Conn)(nil)
)

// queryer is what *sql.DB and *sql.Conn both offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PingContext(ctx context.Context) error
}

// Open connects and authenticates within t.ConnectTimeout (default 5 s).
// The connect timeout bounds dialling and the handshake; statements are
// bounded by their context only, so that long statements are not cut off.
func (*Driver) Open(ctx context.Context, t engine.Target) (engine.Conn, error) {
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = 5 * time.Second
	}
	c := &Conn{kind: t.Engine, where: t.String(), secret: t.Password}
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd = t.User, t.Password
	cfg.Net, cfg.Addr = "tcp", t.Addr()
	cfg.DBName = t.Database
	cfg.Timeout = t.ConnectTimeout
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_general_ci"
	cfg.Logger = &gomysql.NopLogger{} // errors reach the caller; no stray stderr lines
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, engine.Fail(c.where, c.secret, "configure", err, func(error) errkind.Kind { return errkind.Invalid })
	}
	c.connector = connector
	c.pool = sql.OpenDB(connector)
	c.pool.SetMaxOpenConns(4)
	c.pool.SetMaxIdleConns(2)
	c.pool.SetConnMaxIdleTime(time.Minute)
	c.pool.SetConnMaxLifetime(10 * time.Minute)
	c.db = c.pool

	octx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
	defer cancel()
	var version string
	if err := c.db.QueryRowContext(octx, "SELECT VERSION()").Scan(&version); err != nil {
		c.pool.Close()
		if octx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", t.ConnectTimeout, err)
		}
		return nil, c.fail("connect", err)
	}
	c.flavor, c.ver = parseVersion(version)
	return c, nil
}

// parseVersion tells the flavor and the numeric version from VERSION():
// "10.11.6-MariaDB-0+deb12u1", "8.0.36", "8.0.11-TiDB-v7.5.0".
func parseVersion(v string) (flavor, [3]int) {
	f := flavorMySQL
	switch lv := strings.ToLower(v); {
	case strings.Contains(lv, "mariadb"):
		f = flavorMariaDB
	case strings.Contains(lv, "tidb"):
		f = flavorTiDB
	}
	var n [3]int
	num := v
	if i := strings.IndexFunc(v, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		num = v[:i]
	}
	for i, part := range strings.SplitN(num, ".", 3) {
		n[i], _ = strconv.Atoi(part)
	}
	return f, n
}

// fail wraps err with what failed and where, hides the password, and
// classifies it.
func (c *Conn) fail(op string, err error) error {
	return engine.Fail(c.where, c.secret, op, serverError(err), classify)
}

// serverError keeps a server's error number and SQLSTATE on the error
// (engine.ServerError).
func serverError(err error) error {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return &engine.ServerError{Code: int(me.Number), SQLState: strings.TrimRight(string(me.SQLState[:]), "\x00"), Err: err}
	}
	return err
}

// classify maps server error numbers and network failures to kinds: the
// caller's mistakes (syntax, unknown names, bad data, writing in a
// read-only transaction) are Invalid, the server's refusals
// Unauthorized/Forbidden, a broken connection Unavailable.
func classify(err error) errkind.Kind {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045, 1698: // access denied (using password: YES/NO)
			return errkind.Unauthorized
		case 1044, 1142, 1143, 1227, 1370: // no access to database, table, column; missing privilege
			return errkind.Forbidden
		case 1049, 1146: // unknown database, table
			return errkind.NotFound
		case 1007, 1050, 1062: // database, table, entry exists
			return errkind.Conflict
		case 1054, 1064, 1149, // unknown column, syntax errors
			1105, // ER_UNKNOWN_ERROR: MariaDB's XPATH syntax errors and other refusals of the statement
			1305, // unknown function, procedure
			1690, // value out of range (BIGINT UNSIGNED...)
			1792: // cannot execute the statement in a READ ONLY transaction
			return errkind.Invalid
		case 1040, 1053, 1203: // too many connections, shutting down, user's max_user_connections
			return errkind.Unavailable
		}
		// The SQLSTATE class, for the numbers not listed: 42 syntax or
		// access rule violation (access denied is listed above), 22 data
		// exception, 21 cardinality, 25 invalid transaction state, 23
		// integrity constraint.
		switch state := string(me.SQLState[:]); {
		case strings.HasPrefix(state, "42"), strings.HasPrefix(state, "22"), strings.HasPrefix(state, "21"), strings.HasPrefix(state, "25"):
			return errkind.Invalid
		case strings.HasPrefix(state, "23"):
			return errkind.Conflict
		}
		return errkind.Unknown
	}
	if errors.Is(err, gomysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || engine.Unreachable(err) {
		return errkind.Unavailable
	}
	return errkind.Unknown
}

// Engine is the kind the target was opened as.
func (c *Conn) Engine() engine.Kind { return c.kind }

// Ping checks the server answers.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.db.PingContext(ctx); err != nil {
		return c.fail("ping", err)
	}
	return nil
}

// Version is SELECT VERSION(), read again so that an upgrade shows.
func (c *Conn) Version(ctx context.Context) (string, error) {
	var v string
	if err := c.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return "", c.fail("version", err)
	}
	return v, nil
}

// Uptime is the global status Uptime.
func (c *Conn) Uptime(ctx context.Context) (time.Duration, error) {
	var name, value string
	if err := c.db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Uptime'").Scan(&name, &value); err != nil {
		return 0, c.fail("uptime", err)
	}
	secs, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, c.fail("uptime", fmt.Errorf("parse Uptime %q: %w", value, err))
	}
	return time.Duration(secs) * time.Second, nil
}

// Variables is SHOW GLOBAL VARIABLES, restricted to names when given.
func (c *Conn) Variables(ctx context.Context, names ...string) (map[string]string, error) {
	q := "SHOW GLOBAL VARIABLES"
	args := make([]any, len(names))
	if len(names) > 0 {
		q += " WHERE Variable_name IN (" + strings.TrimSuffix(strings.Repeat("?,", len(names)), ",") + ")"
		for i, n := range names {
			args[i] = n
		}
	}
	m, err := c.pairs(ctx, q, args...)
	if err != nil {
		return nil, c.fail("variables", err)
	}
	return m, nil
}

// Status is SHOW GLOBAL STATUS.
func (c *Conn) Status(ctx context.Context) (map[string]string, error) {
	m, err := c.pairs(ctx, "SHOW GLOBAL STATUS")
	if err != nil {
		return nil, c.fail("status", err)
	}
	return m, nil
}

// pairs reads a two-column name/value result into a map.
func (c *Conn) pairs(ctx context.Context, q string, args ...any) (map[string]string, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var name string
		var value sql.NullString
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		m[name] = value.String
	}
	return m, rows.Err()
}

// records reads every row by column name; NULL columns are absent. SHOW
// ... STATUS columns differ between versions and flavors, so they are
// read by name, never by position.
func (c *Conn) records(ctx context.Context, q string, args ...any) ([]map[string]string, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		rec := make(map[string]string, len(cols))
		for i, col := range cols {
			if vals[i].Valid {
				rec[col] = vals[i].String
			}
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// Exec runs one statement.
func (c *Conn) Exec(ctx context.Context, stmt string, args ...any) (engine.Result, error) {
	res, err := c.db.ExecContext(ctx, stmt, args...)
	if err != nil {
		return engine.Result{}, c.fail("exec", err)
	}
	var r engine.Result
	r.RowsAffected, _ = res.RowsAffected()
	r.LastInsertID, _ = res.LastInsertId()
	return r, nil
}

// Query runs one statement and reads up to maxRows rows (0: all).
func (c *Conn) Query(ctx context.Context, maxRows int, stmt string, args ...any) (*engine.Rows, bool, error) {
	rows, err := c.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, false, c.fail("query", err)
	}
	defer rows.Close()
	out, truncated, err := readRows(rows, maxRows)
	if err != nil {
		return nil, false, c.fail("query", err)
	}
	return out, truncated, nil
}

func readRows(rows *sql.Rows, maxRows int) (*engine.Rows, bool, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, false, err
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, false, err
	}
	out := &engine.Rows{Columns: cols, Values: [][]any{}}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if maxRows > 0 && len(out.Values) == maxRows {
			return out, true, nil
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, false, err
		}
		row := make([]any, len(cols))
		for i, v := range vals {
			row[i] = convert(v, types[i].DatabaseTypeName())
		}
		out.Values = append(out.Values, row)
	}
	return out, false, rows.Err()
}

// convert turns a driver value into one of nil, int64, float64, string,
// []byte (binary columns), time.Time or bool. The text protocol delivers
// everything as bytes; the column type says what they mean. DECIMAL stays
// a string, so that no digit is lost; an UNSIGNED BIGINT above the int64
// range too.
func convert(v any, dbType string) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		switch t := strings.TrimPrefix(dbType, "UNSIGNED "); t {
		case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
			if n, ok := parseInt(x); ok {
				return n
			}
			return string(x)
		case "FLOAT", "DOUBLE":
			s := string(x)
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f
			}
			return s
		}
		if isBinary(dbType) {
			return x
		}
		return string(x)
	case int64, float64, string, time.Time, bool:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return strconv.FormatUint(x, 10)
		}
		return int64(x)
	case uint32:
		return int64(x)
	case uint16:
		return int64(x)
	case uint8:
		return int64(x)
	case float32:
		return float64(x)
	}
	return fmt.Sprint(v)
}

// isBinary reports whether values of the column type are bytes, not text.
func isBinary(dbType string) bool {
	switch dbType {
	case "BINARY", "VARBINARY", "BIT", "GEOMETRY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB":
		return true
	}
	return false
}

// parseInt reads a decimal integer as the text protocol sends it without
// making a string of it first (every integer of every row passes here).
func parseInt(b []byte) (int64, bool) {
	digits := b
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		n, err := strconv.ParseInt(string(b), 10, 64) // 19 digits may overflow
		return n, err == nil
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(b) {
		n = -n
	}
	return n, true
}

// Session opens one connection of its own to the same server, with the
// same credentials, and returns it as a Conn on which session state (SET
// SESSION, USE, an open transaction) carries from one call to the next.
// If that connection breaks, calls fail (errkind.Unavailable) instead of
// silently reconnecting without the session's state. Close ends it; the
// pool c is not touched.
func (c *Conn) Session(ctx context.Context) (engine.Conn, error) {
	pool := sql.OpenDB(c.connector)
	pool.SetMaxOpenConns(1)
	conn, err := pool.Conn(ctx)
	if err != nil {
		pool.Close()
		return nil, c.fail("open session", err)
	}
	s := *c
	s.pool, s.db = pool, conn
	return &s, nil
}

// Close closes the pool (or the session's connection).
func (c *Conn) Close() error {
	if conn, ok := c.db.(*sql.Conn); ok {
		conn.Close()
	}
	return c.pool.Close()
}

// Stream runs one statement and reads its rows one at a time.
func (c *Conn) Stream(ctx context.Context, stmt string, args ...any) (engine.RowStream, error) {
	rows, err := c.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, c.fail("query", err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, c.fail("query", err)
	}
	ct, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		return nil, c.fail("query", err)
	}
	s := &rowStream{c: c, rows: rows, cols: cols, types: make([]string, len(cols)),
		vals: make([]any, len(cols)), raw: make([]sql.RawBytes, len(cols)), ptrs: make([]any, len(cols)), row: make([]any, len(cols))}
	for i := range cols {
		s.types[i] = ct[i].DatabaseTypeName()
		// Values are read in place (RawBytes: no copy per value) and
		// converted; the types the driver turns into time.Time (ParseTime)
		// are read as they come.
		switch s.types[i] {
		case "DATE", "DATETIME", "TIMESTAMP":
			s.ptrs[i] = &s.vals[i]
		default:
			s.ptrs[i] = &s.raw[i]
		}
	}
	return s, nil
}

// rowStream is a streamed MySQL result.
type rowStream struct {
	c     *Conn
	rows  *sql.Rows
	cols  []string
	types []string
	vals  []any
	raw   []sql.RawBytes
	ptrs  []any
	row   []any
	err   error
}

func (s *rowStream) Columns() []string     { return s.cols }
func (s *rowStream) ColumnTypes() []string { return s.types }
func (s *rowStream) Row() []any            { return s.row }
func (s *rowStream) Err() error            { return s.err }

func (s *rowStream) Next() bool {
	if s.err != nil {
		return false
	}
	if !s.rows.Next() {
		if err := s.rows.Err(); err != nil {
			s.err = s.c.fail("query", err)
		}
		return false
	}
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = s.c.fail("query", err)
		return false
	}
	for i, p := range s.ptrs {
		if _, ok := p.(*sql.RawBytes); !ok {
			s.row[i] = convert(s.vals[i], s.types[i])
			continue
		}
		b := s.raw[i]
		switch {
		case b == nil:
			s.row[i] = nil
		case isBinary(s.types[i]):
			s.row[i] = bytes.Clone(b) // RawBytes are the driver's buffer
		default:
			s.row[i] = convert([]byte(b), s.types[i])
		}
	}
	return true
}

func (s *rowStream) Close() error {
	if err := s.rows.Close(); err != nil {
		return s.c.fail("query", err)
	}
	return nil
}
