// Package sqldb opens dbfleet's metadata store (SQLite by default, PostgreSQL
// when one machine is not enough), hides the few dialect differences that
// matter, and applies the embedded schema migrations.
//
// Queries are written once with `?` placeholders; on PostgreSQL they are
// rebound to `$1, $2...` before they reach the driver. Every value travels as
// a placeholder argument, never pasted into the text.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Dialect of the metadata store.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what both *DB and *Tx offer; stores take one so the same code
// runs inside or outside a transaction.
type Querier interface {
	Dialect() Dialect
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open metadata store.
type DB struct {
	raw     *sql.DB
	dialect Dialect
	// Where is a description safe to log (no password).
	Where string
}

// Open opens the store named by spec: a postgres:// or postgresql:// URL, or a
// SQLite file path (optionally prefixed with sqlite:). The SQLite file's
// directory is created; the database runs in WAL mode with foreign keys on, so
// a killed process loses no committed change.
func Open(ctx context.Context, spec string) (*DB, error) {
	var db *DB
	switch {
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		raw, err := sql.Open("pgx", spec)
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		raw.SetMaxOpenConns(16)
		raw.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{raw: raw, dialect: Postgres, Where: redactURL(spec)}
	default:
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, errkind.New(errkind.Invalid, "open store: empty path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
		// Created 0600 here, so that SQLite, which gives the -wal and -shm
		// files the database file's mode, keeps them private too.
		if !strings.HasPrefix(path, ":memory:") {
			f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
			}
			f.Close()
		}
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		raw, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
		raw.SetMaxOpenConns(8)
		db = &DB{raw: raw, dialect: SQLite, Where: path}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.raw.PingContext(pctx); err != nil {
		db.raw.Close()
		return nil, errkind.Wrap(errkind.Unavailable, fmt.Errorf("open store %s: %w", db.Where, err))
	}
	return db, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(unparsable url)"
	}
	return u.Redacted()
}

// Dialect of this store.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the underlying *sql.DB (for migrations and health checks).
func (db *DB) SQL() *sql.DB { return db.raw }

// Close closes the store.
func (db *DB) Close() error { return db.raw.Close() }

// Ping checks the store answers.
func (db *DB) Ping(ctx context.Context) error { return db.raw.PingContext(ctx) }

// ExecContext runs a statement written with ? placeholders.
func (db *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.raw.ExecContext(ctx, Rebind(db.dialect, q), args...)
}

// QueryContext runs a query written with ? placeholders.
func (db *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.raw.QueryContext(ctx, Rebind(db.dialect, q), args...)
}

// Collect reads every row of rows into a T with scan, then closes rows:
// the loop of a list query. No rows is a nil slice; a scan error ends it.
func Collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// QueryRowContext runs a single-row query written with ? placeholders.
func (db *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.raw.QueryRowContext(ctx, Rebind(db.dialect, q), args...)
}

// Tx is a transaction; it satisfies Querier.
type Tx struct {
	raw     *sql.Tx
	dialect Dialect
}

// Dialect of the store the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// ExecContext runs a statement written with ? placeholders.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.raw.ExecContext(ctx, Rebind(tx.dialect, q), args...)
}

// QueryContext runs a query written with ? placeholders.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.raw.QueryContext(ctx, Rebind(tx.dialect, q), args...)
}

// QueryRowContext runs a single-row query written with ? placeholders.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.raw.QueryRowContext(ctx, Rebind(tx.dialect, q), args...)
}

// Lock takes an exclusive lock named name until the transaction ends, to
// serialise transactions that check an invariant across rows (for example
// "at least one enabled admin") before they write. On PostgreSQL it is a
// transaction-scoped advisory lock; on SQLite every write transaction
// already runs alone (BEGIN IMMEDIATE), so it is a no-op.
func (tx *Tx) Lock(ctx context.Context, name string) error {
	if tx.dialect != Postgres {
		return nil
	}
	if _, err := tx.raw.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise (including on panic).
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	raw, err := db.raw.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{raw: raw, dialect: db.dialect}
	defer func() {
		if p := recover(); p != nil {
			raw.Rollback()
			panic(p)
		}
		if err != nil {
			raw.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = raw.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rebind turns ? placeholders into $n for PostgreSQL. Question marks inside
// quoted strings, quoted identifiers and comments are left alone.
func Rebind(d Dialect, q string) string {
	if d != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch c {
		case '\'', '"':
			j := i + 1
			for j < len(q) && q[j] != c {
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case '-':
			if i+1 < len(q) && q[i+1] == '-' {
				j := strings.IndexByte(q[i:], '\n')
				if j < 0 {
					b.WriteString(q[i:])
					return b.String()
				}
				b.WriteString(q[i : i+j])
				i += j - 1
				continue
			}
			b.WriteByte(c)
		case '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// IsUniqueViolation reports whether err is a unique or primary-key
// constraint failure on either dialect.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// ViolatedConstraint names what a unique or foreign-key violation hit: the
// constraint or index name on PostgreSQL, SQLite's description ("UNIQUE
// constraint failed: instances.host_id, instances.port" or "index
// 'instances_one_primary'"). It is "" for other errors.
func ViolatedConstraint(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		msg := se.Error()
		if i := strings.Index(msg, "constraint failed: "); i >= 0 {
			return msg[i+len("constraint failed: "):]
		}
		return msg
	}
	return ""
}

// IsForeignKeyViolation reports whether err is a foreign-key failure.
func IsForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// Now is the current time as stored: Unix milliseconds. Timestamps are kept
// as integers so both dialects store and compare them the same way.
func Now() int64 { return time.Now().UnixMilli() }

// Time converts a stored timestamp back; 0 is the zero time.
func Time(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// NullTime converts a nullable stored timestamp.
func NullTime(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return Time(ms.Int64)
}
