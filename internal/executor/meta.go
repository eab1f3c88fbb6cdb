package executor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// column of a table on the target.
type column struct {
	Name string
	// Type is MySQL's DATA_TYPE ("int", "timestamp") or PostgreSQL's
	// format_type ("character varying(20)").
	Type      string
	Generated bool // computed: never written
	AutoInc   bool // MySQL auto_increment
	Unsigned  bool // MySQL UNSIGNED
	// IdentityAlways: PostgreSQL GENERATED ALWAYS AS IDENTITY (writing it
	// needs OVERRIDING SYSTEM VALUE).
	IdentityAlways bool
}

// table is what the executor needs to know of a target table.
type table struct {
	d      sql.Dialect
	Schema string
	Name   string
	Cols   []column
	PK     []string   // primary key columns, in key order; empty: none
	Unique [][]string // unique keys without NULL-able expressions, PK first
	// Rows is the server's estimate of the table's row count, -1 unknown.
	Rows int64
}

// Ref is the quoted, qualified name.
func (t *table) Ref() string { return sql.QuoteQualified(t.d, t.Schema, t.Name) }

// String is schema.name, unquoted, for messages.
func (t *table) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

func (t *table) col(name string) *column {
	for i := range t.Cols {
		if strings.EqualFold(t.Cols[i].Name, name) {
			return &t.Cols[i]
		}
	}
	return nil
}

func (t *table) isPK(name string) bool {
	return slices.ContainsFunc(t.PK, func(p string) bool { return strings.EqualFold(p, name) })
}

func (t *table) hasIdentityAlways() bool {
	return slices.ContainsFunc(t.Cols, func(c column) bool { return c.IdentityAlways })
}

// loadTable reads a table's columns and keys through conn (the session,
// so that USE and search_path apply). schema may be empty for the
// current database (MySQL) or the search path (PostgreSQL). A missing
// table is errkind.NotFound.
func loadTable(ctx context.Context, conn engine.Conn, d sql.Dialect, schema, name string) (*table, error) {
	if d == sql.Postgres {
		return loadPGTable(ctx, conn, schema, name)
	}
	return loadMySQLTable(ctx, conn, schema, name)
}

func loadMySQLTable(ctx context.Context, conn engine.Conn, schema, name string) (*table, error) {
	if schema == "" {
		rows, _, err := conn.Query(ctx, 1, "SELECT DATABASE()")
		if err != nil {
			return nil, fmt.Errorf("current database: %w", err)
		}
		if len(rows.Values) == 0 || rows.Values[0][0] == nil {
			return nil, errkind.New(errkind.Invalid, "table %s: no database selected (give INSTANCE/DB, a USE statement, or qualify the table)", name)
		}
		schema = rows.String(0, 0)
	}
	t := &table{d: sql.MySQL, Schema: schema, Name: name, Rows: -1}
	rows, _, err := conn.Query(ctx, 0, `SELECT COLUMN_NAME, DATA_TYPE, EXTRA, COLUMN_TYPE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", t, err)
	}
	if len(rows.Values) == 0 {
		return nil, errkind.New(errkind.NotFound, "table %s does not exist", t)
	}
	if est, _, err := conn.Query(ctx, 1, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, name); err == nil &&
		len(est.Values) > 0 && est.Values[0][0] != nil {
		t.Rows = est.Int64(0, 0)
	}
	for _, r := range rows.All() {
		extra := strings.ToUpper(r.String(2))
		t.Cols = append(t.Cols, column{
			Name:      r.String(0),
			Type:      strings.ToLower(r.String(1)),
			Generated: strings.Contains(extra, "GENERATED"),
			AutoInc:   strings.Contains(extra, "AUTO_INCREMENT"),
			Unsigned:  strings.Contains(strings.ToLower(r.String(3)), "unsigned"),
		})
	}
	rows, _, err = conn.Query(ctx, 0, `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND COLUMN_NAME IS NOT NULL
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("keys of %s: %w", t, err)
	}
	var cur string
	for _, r := range rows.All() {
		idx, col := r.String(0), r.String(1)
		if idx != cur || len(t.Unique) == 0 {
			t.Unique = append(t.Unique, nil)
			cur = idx
		}
		t.Unique[len(t.Unique)-1] = append(t.Unique[len(t.Unique)-1], col)
		if idx == "PRIMARY" {
			t.PK = append(t.PK, col)
		}
	}
	return t, nil
}

func loadPGTable(ctx context.Context, conn engine.Conn, schema, name string) (*table, error) {
	d := sql.Postgres
	rows, _, err := conn.Query(ctx, 1, `SELECT c.oid::bigint, n.nspname::text, c.relname::text, c.reltuples::bigint FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, sql.QuoteQualified(d, schema, name))
	if err != nil {
		return nil, fmt.Errorf("find table %s: %w", name, err)
	}
	if len(rows.Values) == 0 {
		if schema != "" {
			name = schema + "." + name
		}
		return nil, errkind.New(errkind.NotFound, "table %s does not exist", name)
	}
	oid := rows.Values[0][0]
	t := &table{d: d, Schema: rows.String(0, 1), Name: rows.String(0, 2), Rows: -1}
	if n, ok := engine.Int64(rows.Values[0][3]); ok {
		t.Rows = n // -1 when never analyzed
	}
	rows, _, err = conn.Query(ctx, 0, `SELECT attname::text, format_type(atttypid, atttypmod), attgenerated::text, attidentity::text
		FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, oid)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", t, err)
	}
	for _, r := range rows.All() {
		t.Cols = append(t.Cols, column{
			Name:           r.String(0),
			Type:           r.String(1),
			Generated:      r.String(2) != "",
			IdentityAlways: r.String(3) == "a",
		})
	}
	rows, _, err = conn.Query(ctx, 0, `SELECT i.indisprimary, (SELECT string_agg(a.attname::text, chr(1) ORDER BY k.ord)
			FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
		FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
		ORDER BY i.indisprimary DESC, i.indexrelid`, oid)
	if err != nil {
		return nil, fmt.Errorf("keys of %s: %w", t, err)
	}
	for _, r := range rows.All() {
		cols := strings.Split(r.String(1), "\x01")
		t.Unique = append(t.Unique, cols)
		if r[0] == true {
			t.PK = cols
		}
	}
	return t, nil
}
