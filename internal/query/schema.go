package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// schemaCache keeps table descriptions for a short while: lineage needs
// them for every query that masking applies to.
type schemaCache = ttlCache[cached]

// cached is a table's description, or that it does not exist (ok false).
type cached struct {
	info TableInfo
	ok   bool
}

func newSchemaCache(ttl time.Duration) *schemaCache { return newTTLCache[cached](ttl, 10000) }

// connSchema reads table descriptions through a query session, from
// information_schema (MySQL) or the catalog (PostgreSQL), cached per
// instance.
type connSchema struct {
	conn     engine.Conn
	kind     engine.Kind
	instance string
	cache    *schemaCache
	now      func() time.Time
	bypass   bool // read afresh (a cached entry may be stale)
	usedHit  bool // some answer came from the cache
}

func (s *connSchema) Table(ctx context.Context, db, table string) (TableInfo, bool, error) {
	key := s.instance + "\x00" + db + "\x00" + table
	if !s.bypass {
		if e, ok := s.cache.get(key, s.now()); ok {
			s.usedHit = true
			return e.info, e.ok, nil
		}
	}
	var info TableInfo
	var ok bool
	var err error
	if s.kind == engine.Postgres {
		info, ok, err = pgTable(ctx, s.conn, table)
	} else {
		info, ok, err = mysqlTable(ctx, s.conn, db, table)
	}
	if err != nil {
		return TableInfo{}, false, fmt.Errorf("describe %s.%s: %w", db, table, err)
	}
	s.cache.put(key, cached{info: info, ok: ok}, s.now())
	return info, ok, nil
}

func mysqlTable(ctx context.Context, c engine.Conn, db, table string) (TableInfo, bool, error) {
	rows, _, err := c.Query(ctx, 0, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, table)
	if err != nil {
		return TableInfo{}, false, err
	}
	if len(rows.Values) == 0 { // a server with case-insensitive names
		rows, _, err = c.Query(ctx, 0, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND LOWER(TABLE_NAME) = LOWER(?)", db, table)
		if err != nil {
			return TableInfo{}, false, err
		}
	}
	if len(rows.Values) != 1 {
		return TableInfo{}, false, nil
	}
	name, typ := rows.String(0, 0), rows.String(0, 1)
	var info TableInfo
	cols, _, err := c.Query(ctx, 0, "SELECT COLUMN_NAME, COLUMN_TYPE, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, name)
	if err != nil {
		return TableInfo{}, false, err
	}
	for _, r := range cols.All() {
		info.Columns = append(info.Columns, ColumnInfo{Name: r.String(0), Type: r.String(1), Hidden: strings.Contains(strings.ToUpper(r.String(2)), "INVISIBLE")})
	}
	if len(info.Columns) == 0 {
		return TableInfo{}, false, nil
	}
	if typ == "VIEW" {
		info.View = true
		def, _, err := c.Query(ctx, 1, "SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", db, name)
		if err != nil {
			return TableInfo{}, false, err
		}
		if len(def.Values) == 1 {
			info.Definition = def.String(0, 0)
		}
	}
	return info, true, nil
}

func pgTable(ctx context.Context, c engine.Conn, table string) (TableInfo, bool, error) {
	schema, rel, ok := strings.Cut(table, ".")
	if !ok {
		schema, rel = "public", table
	}
	rows, _, err := c.Query(ctx, 0, `SELECT c.relkind::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
		CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum`, schema, rel)
	if err != nil {
		return TableInfo{}, false, err
	}
	if len(rows.Values) == 0 {
		return TableInfo{}, false, nil
	}
	var info TableInfo
	for _, r := range rows.All() {
		info.Columns = append(info.Columns, ColumnInfo{Name: r.String(1), Type: r.String(2)})
	}
	if k := rows.String(0, 0); k == "v" || k == "m" {
		info.View, info.Definition = true, rows.String(0, 3)
	}
	return info, true, nil
}
