// Package postgres is the engine adapter for PostgreSQL, over
// github.com/jackc/pgx/v5.
//
// A Conn holds one connection and serialises calls on it, reconnecting
// when it broke; session state (SET, an open transaction) therefore
// carries from one call to the next.
package postgres

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Driver opens PostgreSQL connections.
type Driver struct{}

// New returns the PostgreSQL driver.
func New() *Driver { return &Driver{} }

// Kinds is postgres.
func (*Driver) Kinds() []engine.Kind { return []engine.Kind{engine.Postgres} }

// Conn is one connection to one server.
type Conn struct {
	cfg     *pgx.ConnConfig
	timeout time.Duration
	where   string // postgres://user@host:port, never the password
	secret  string // only to redact it from errors

	sem    chan struct{} // held while conn is in use
	conn   *pgx.Conn     // guarded by sem; nil or closed: reconnect
	closed bool          // guarded by sem; Close was called
	pinned bool          // a Session: never reconnect, the session state would be lost
}

var (
	_ engine.Conn     = (*Conn)(nil)
	_ engine.Streamer = (*Conn)(nil)
)

// Open connects and authenticates within t.ConnectTimeout (default 5 s).
// An empty Database means "postgres". TLS is used when the server offers
// it (sslmode=prefer).
func (*Driver) Open(ctx context.Context, t engine.Target) (engine.Conn, error) {
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = 5 * time.Second
	}
	c := &Conn{timeout: t.ConnectTimeout, where: t.String(), secret: t.Password, sem: make(chan struct{}, 1)}
	cfg, err := pgx.ParseConfig(connString(t))
	if err != nil {
		return nil, engine.Fail(c.where, c.secret, "configure", err, func(error) errkind.Kind { return errkind.Invalid })
	}
	cfg.ConnectTimeout = t.ConnectTimeout
	c.cfg = cfg
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	return c, nil
}

// connString builds a keyword/value connection string, every value quoted.
func connString(t engine.Target) string {
	db := t.Database
	if db == "" {
		db = "postgres"
	}
	secs := max(int(math.Ceil(t.ConnectTimeout.Seconds())), 1)
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=prefer connect_timeout=%d application_name=dbfleet",
		quote(t.Host), t.Port, quote(t.User), quote(t.Password), quote(db), secs)
}

// quote is a libpq keyword/value string: single quotes, \ and ' escaped.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (c *Conn) connect(ctx context.Context) (*pgx.Conn, error) {
	octx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(octx, c.cfg)
	if err != nil {
		if octx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", c.timeout, err)
		}
		return nil, c.fail("connect", err)
	}
	return conn, nil
}

// acquire waits for the connection (honouring ctx) and reconnects it when
// it was closed, e.g. by a cancelled query or a server restart.
func (c *Conn) acquire(ctx context.Context) (*pgx.Conn, func(), error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, c.fail("wait for connection", ctx.Err())
	}
	release := func() { <-c.sem }
	if c.closed {
		release()
		return nil, nil, c.fail("use", errors.New("connection closed"))
	}
	if c.conn == nil || c.conn.IsClosed() {
		if c.pinned {
			release()
			return nil, nil, errkind.Wrap(errkind.Unavailable, c.fail("use", errors.New("session connection lost")))
		}
		conn, err := c.connect(ctx)
		if err != nil {
			release()
			return nil, nil, err
		}
		c.conn = conn
	}
	return c.conn, release, nil
}

// fail wraps err with what failed and where, hides the password, and
// classifies it.
func (c *Conn) fail(op string, err error) error {
	return engine.Fail(c.where, c.secret, op, serverError(err), classify)
}

// serverError keeps a server's SQLSTATE on the error
// (engine.ServerError).
func serverError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &engine.ServerError{SQLState: pe.Code, Err: err}
	}
	return err
}

// classify maps SQLSTATEs and network failures to kinds: the caller's
// mistakes (syntax, unknown names, bad data: classes 42 and 22, and the
// like) are Invalid, the server's refusals Unauthorized/Forbidden, a broken
// connection Unavailable.
func classify(err error) errkind.Kind {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch code := pe.Code; {
		case code == "28P01" || code == "28000": // invalid password, invalid authorization
			return errkind.Unauthorized
		case code == "42501": // insufficient privilege
			return errkind.Forbidden
		case code == "3D000" || code == "42P01" || code == "3F000": // no such database, table, schema
			return errkind.NotFound
		case code == "23505" || code == "42P04" || code == "42P07" || code == "42710": // duplicate key, database, table, object
			return errkind.Conflict
		case strings.HasPrefix(code, "42") || strings.HasPrefix(code, "22"): // syntax or access rule violation, data exception
			return errkind.Invalid
		case strings.HasPrefix(code, "21") || code == "25006" || code == "0A000": // cardinality, read-only transaction, feature not supported
			return errkind.Invalid
		case strings.HasPrefix(code, "23"): // other integrity constraints (not null, foreign key, check)
			return errkind.Conflict
		case strings.HasPrefix(code, "08") || code == "53300" || code == "57P01" || code == "57P02" || code == "57P03":
			return errkind.Unavailable // connection exception, too many connections, shutdown, starting up
		}
		return errkind.Unknown
	}
	if errors.Is(err, errNUL) {
		return errkind.Invalid
	}
	if pgconn.Timeout(err) || engine.Unreachable(err) {
		return errkind.Unavailable
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return errkind.Unavailable
	}
	return errkind.Unknown
}

// errNUL is a statement with a NUL byte, which PostgreSQL's protocol cannot
// carry (the server would answer 08P01, a protocol violation, and drop the
// connection): the caller's mistake, refused before sending.
var errNUL = errors.New("the statement contains a NUL byte (\\0), which PostgreSQL does not accept")

// checkStatement refuses what cannot be sent as a statement.
func checkStatement(stmt string) error {
	if i := strings.IndexByte(stmt, 0); i >= 0 {
		return fmt.Errorf("%w (at byte %d)", errNUL, i+1)
	}
	return nil
}

// Engine is postgres.
func (c *Conn) Engine() engine.Kind { return engine.Postgres }

// Ping checks the server answers.
func (c *Conn) Ping(ctx context.Context) error {
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := conn.Ping(ctx); err != nil {
		return c.fail("ping", err)
	}
	return nil
}

// queryRow runs a one-row query on the connection.
func (c *Conn) queryRow(ctx context.Context, op, q string, dest ...any) error {
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := conn.QueryRow(ctx, q).Scan(dest...); err != nil {
		return c.fail(op, err)
	}
	return nil
}

// Version is SHOW server_version, e.g. "15.6 (Debian 15.6-0+deb12u1)".
func (c *Conn) Version(ctx context.Context) (string, error) {
	var v string
	err := c.queryRow(ctx, "version", "SHOW server_version", &v)
	return v, err
}

// Uptime is now() - pg_postmaster_start_time().
func (c *Conn) Uptime(ctx context.Context) (time.Duration, error) {
	var secs float64
	if err := c.queryRow(ctx, "uptime", "SELECT extract(epoch FROM now() - pg_postmaster_start_time())::float8", &secs); err != nil {
		return 0, err
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// Variables are pg_settings, valued as SHOW displays them ("128MB", "on"),
// restricted to names when given.
func (c *Conn) Variables(ctx context.Context, names ...string) (map[string]string, error) {
	q := "SELECT name, current_setting(name) FROM pg_settings"
	var args []any
	if len(names) > 0 {
		q += " WHERE name = ANY($1)"
		args = append(args, names)
	}
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, c.fail("variables", err)
	}
	m := map[string]string{}
	var name, value string
	_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error {
		m[name] = value
		return nil
	})
	if err != nil {
		return nil, c.fail("variables", err)
	}
	return m, nil
}

// statDatabaseSums are the pg_stat_database counters Status sums over all
// databases (present since PostgreSQL 9.2).
var statDatabaseSums = []string{
	"numbackends", "xact_commit", "xact_rollback", "blks_read", "blks_hit",
	"tup_returned", "tup_fetched", "tup_inserted", "tup_updated", "tup_deleted",
	"conflicts", "temp_files", "temp_bytes", "deadlocks",
}

// Status is pg_stat_database summed over databases, plus pg_stat_bgwriter
// (and, from PostgreSQL 17, pg_stat_checkpointer as checkpointer_*), keyed
// by column name.
func (c *Conn) Status(ctx context.Context) (map[string]string, error) {
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	cols := make([]string, len(statDatabaseSums))
	for i, col := range statDatabaseSums {
		cols[i] = fmt.Sprintf("coalesce(sum(%[1]s), 0)::bigint AS %[1]s", col)
	}
	m := map[string]string{}
	if err := flattenInto(ctx, conn, m, "", "SELECT "+strings.Join(cols, ", ")+" FROM pg_stat_database"); err != nil {
		return nil, c.fail("status", err)
	}
	if err := flattenInto(ctx, conn, m, "", "SELECT * FROM pg_stat_bgwriter"); err != nil {
		return nil, c.fail("status", err)
	}
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return nil, c.fail("status", err)
	}
	if num >= 170000 {
		if err := flattenInto(ctx, conn, m, "checkpointer_", "SELECT * FROM pg_stat_checkpointer"); err != nil {
			return nil, c.fail("status", err)
		}
	}
	return m, nil
}

// flattenInto stores the first row of q as column -> value, skipping
// timestamps (stats_reset) and NULLs.
func flattenInto(ctx context.Context, conn *pgx.Conn, m map[string]string, prefix, q string) error {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		for i, fd := range rows.FieldDescriptions() {
			switch v := convert(vals[i]).(type) {
			case nil, time.Time:
			case int64:
				m[prefix+fd.Name] = strconv.FormatInt(v, 10)
			case float64:
				m[prefix+fd.Name] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				m[prefix+fd.Name] = fmt.Sprint(v)
			}
		}
	}
	rows.Close()
	return rows.Err()
}

// Exec runs one statement; without arguments several may be sent at once.
func (c *Conn) Exec(ctx context.Context, stmt string, args ...any) (engine.Result, error) {
	if err := checkStatement(stmt); err != nil {
		return engine.Result{}, c.fail("exec", err)
	}
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return engine.Result{}, err
	}
	defer release()
	tag, err := conn.Exec(ctx, stmt, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
	if err != nil {
		return engine.Result{}, c.fail("exec", err)
	}
	return engine.Result{RowsAffected: tag.RowsAffected()}, nil
}

// Query runs one statement and reads up to maxRows rows (0: all).
// Statements are not prepared and cached: each is described afresh, so
// schema changes between calls do not break cached plans.
func (c *Conn) Query(ctx context.Context, maxRows int, stmt string, args ...any) (*engine.Rows, bool, error) {
	if err := checkStatement(stmt); err != nil {
		return nil, false, c.fail("query", err)
	}
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	defer release()
	mode := pgx.QueryExecModeDescribeExec
	if len(args) == 0 {
		mode = pgx.QueryExecModeSimpleProtocol
	}
	rows, err := conn.Query(ctx, stmt, append([]any{mode}, args...)...)
	if err != nil {
		return nil, false, c.fail("query", err)
	}
	defer rows.Close()
	out := &engine.Rows{Values: [][]any{}}
	for _, fd := range rows.FieldDescriptions() {
		out.Columns = append(out.Columns, fd.Name)
	}
	truncated := false
	for rows.Next() {
		if maxRows > 0 && len(out.Values) == maxRows {
			truncated = true
			break
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, false, c.fail("query", err)
		}
		for i, v := range vals {
			vals[i] = convert(v)
		}
		out.Values = append(out.Values, vals)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, c.fail("query", err)
	}
	return out, truncated, nil
}

// convert turns a pgx value into one of nil, int64, float64, string,
// []byte (bytea), time.Time or bool. Numeric, interval, uuid, inet and
// the like become their text form; json and arrays their JSON text.
func convert(v any) any {
	switch x := v.(type) {
	case nil, int64, float64, string, []byte, time.Time, bool:
		return x
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int8:
		return int64(x)
	case int:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case netip.Prefix:
		if x.IsSingleIP() {
			return x.Addr().String()
		}
		return x.String()
	case netip.Addr:
		return x.String()
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return fmt.Sprint(x)
		}
		if _, again := dv.(driver.Valuer); again {
			return fmt.Sprint(dv)
		}
		return convert(dv)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// Session opens another connection to the same server and database and
// returns it as a Conn that never reconnects: if its connection breaks,
// calls fail (errkind.Unavailable) instead of continuing without the
// session's state (SET, an open transaction). Close ends it.
func (c *Conn) Session(ctx context.Context) (engine.Conn, error) {
	s := &Conn{cfg: c.cfg, timeout: c.timeout, where: c.where, secret: c.secret, sem: make(chan struct{}, 1), pinned: true}
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	s.conn = conn
	return s, nil
}

// Close closes the connection, after a call in progress has returned.
func (c *Conn) Close() error {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	c.closed = true
	if c.conn == nil {
		return nil
	}
	conn := c.conn
	c.conn = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return conn.Close(ctx)
}

// Stream runs one statement and reads its rows one at a time; the
// connection is held until the stream is closed.
func (c *Conn) Stream(ctx context.Context, stmt string, args ...any) (engine.RowStream, error) {
	if err := checkStatement(stmt); err != nil {
		return nil, c.fail("query", err)
	}
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	mode := pgx.QueryExecModeDescribeExec
	if len(args) == 0 {
		mode = pgx.QueryExecModeSimpleProtocol
	}
	rows, err := conn.Query(ctx, stmt, append([]any{mode}, args...)...)
	if err != nil {
		release()
		return nil, c.fail("query", err)
	}
	s := &rowStream{c: c, rows: rows, release: release}
	for _, fd := range rows.FieldDescriptions() {
		s.cols = append(s.cols, fd.Name)
		name := "UNKNOWN"
		if t, ok := conn.TypeMap().TypeForOID(fd.DataTypeOID); ok {
			name = strings.ToUpper(t.Name)
		}
		s.types = append(s.types, name)
	}
	return s, nil
}

// rowStream is a streamed PostgreSQL result.
type rowStream struct {
	c       *Conn
	rows    pgx.Rows
	release func()
	cols    []string
	types   []string
	row     []any
	err     error
}

func (s *rowStream) Columns() []string     { return s.cols }
func (s *rowStream) ColumnTypes() []string { return s.types }
func (s *rowStream) Row() []any            { return s.row }
func (s *rowStream) Err() error            { return s.err }

func (s *rowStream) Next() bool {
	if s.err != nil || s.rows == nil {
		return false
	}
	if !s.rows.Next() {
		s.rows.Close()
		if err := s.rows.Err(); err != nil {
			s.err = s.c.fail("query", err)
		}
		return false
	}
	vals, err := s.rows.Values()
	if err != nil {
		s.err = s.c.fail("query", err)
		return false
	}
	for i, v := range vals {
		vals[i] = convert(v)
	}
	s.row = vals
	return true
}

func (s *rowStream) Close() error {
	if s.rows == nil {
		return nil
	}
	s.rows.Close()
	s.rows = nil
	s.release()
	return nil
}
