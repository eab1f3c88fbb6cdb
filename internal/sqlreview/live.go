package sqlreview

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Conn is what live-schema checks need of a connection to the instance
// under review. An engine.Conn (inventory.Service.Connect) is one.
type Conn interface {
	Engine() engine.Kind
	Query(ctx context.Context, maxRows int, stmt string, args ...any) (rows *engine.Rows, truncated bool, err error)
}

// liveCatalog reads the live schema: information_schema on MySQL and
// MariaDB, the catalogs on PostgreSQL. The review caches what it reads
// (schemaState), so each table is read once per review.
type liveCatalog struct {
	conn Conn
	pg   bool
	// queryTimeout bounds each catalog query and EXPLAIN.
	queryTimeout time.Duration
}

func (l *liveCatalog) query(ctx context.Context, q string, args ...any) (*engine.Rows, error) {
	ctx, cancel := context.WithTimeout(ctx, l.queryTimeout)
	defer cancel()
	rows, _, err := l.conn.Query(ctx, 0, q, args...)
	return rows, err
}

// currentDB is the connection's default database (PostgreSQL: schema).
func (l *liveCatalog) currentDB(ctx context.Context) (string, error) {
	q := "SELECT DATABASE()"
	if l.pg {
		q = "SELECT current_schema()"
	}
	rows, err := l.query(ctx, q)
	if err != nil {
		return "", fmt.Errorf("read the current database: %w", err)
	}
	if len(rows.Values) == 0 {
		return "", nil
	}
	return rows.String(0, 0), nil
}

func (l *liveCatalog) databaseExists(ctx context.Context, name string) (bool, error) {
	q := "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?"
	if l.pg {
		q = "SELECT 1 FROM pg_namespace WHERE nspname = $1"
	}
	rows, err := l.query(ctx, q, name)
	if err != nil {
		return false, fmt.Errorf("look up database %q: %w", name, err)
	}
	return len(rows.Values) > 0, nil
}

// table reads one table's definition, size and row estimate; nil when it
// does not exist.
// An unqualified PostgreSQL name not in the current schema is looked up
// along the search_path (pg_catalog, other schemas), as the server would.
func (l *liveCatalog) table(ctx context.Context, schema, name string, qualified bool) (*tableInfo, error) {
	if !l.pg {
		return l.mysqlTable(ctx, schema, name)
	}
	t, err := l.pgTable(ctx, schema, name)
	if err != nil || t != nil || qualified {
		return t, err
	}
	rows, err := l.query(ctx, `SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass(quote_ident($1))`, name)
	if err != nil {
		return nil, fmt.Errorf("look up table %s: %w", name, err)
	}
	if len(rows.Values) == 0 || rows.String(0, 0) == schema {
		return nil, nil
	}
	return l.pgTable(ctx, rows.String(0, 0), name)
}

func (l *liveCatalog) mysqlTable(ctx context.Context, schema, name string) (*tableInfo, error) {
	rows, err := l.query(ctx, `SELECT TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH, ENGINE FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("look up table %s.%s: %w", schema, name, err)
	}
	if len(rows.Values) == 0 {
		return nil, nil
	}
	r := rows.Row(0)
	t := &tableInfo{Schema: schema, Name: name, Rows: r.Int64(0), Bytes: r.Int64(1), Engine: r.String(2), Live: true}
	rows, err = l.query(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT,
		CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, CHARACTER_SET_NAME, COLLATION_NAME
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", schema, name, err)
	}
	for _, r := range rows.All() {
		colType := strings.ToLower(r.String(2))
		extra := strings.ToLower(r.String(5))
		c := &Column{Name: r.String(0), Pos: -1, Type: strings.ToLower(r.String(1)), FullType: colType, Length: -1,
			Unsigned: strings.Contains(colType, "unsigned"), NotNull: r.String(3) == "NO",
			AutoIncr: strings.Contains(extra, "auto_increment"), OnUpdateNow: strings.Contains(extra, "on update"),
			Comment: r.String(6), HasComment: r.String(6) != "", Charset: r.String(10), Collate: r.String(11)}
		if r[4] != nil && !strings.EqualFold(r.String(4), "NULL") {
			c.Default = true
			d := strings.ToLower(r.String(4))
			c.DefaultNow = strings.HasPrefix(d, "current_timestamp") || strings.HasPrefix(d, "now(")
		}
		if r[7] != nil {
			c.Length = int(r.Int64(7))
		} else if r[8] != nil {
			c.Length = int(r.Int64(8))
			c.Scale = int(r.Int64(9))
		}
		t.Columns = append(t.Columns, c)
	}
	rows, err = l.query(ctx, `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, INDEX_TYPE FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s.%s: %w", schema, name, err)
	}
	var cur *Index
	for _, r := range rows.All() {
		ixName := r.String(0)
		if cur == nil || cur.Name != ixName {
			cur = &Index{Name: ixName, Pos: -1, Primary: ixName == "PRIMARY", Unique: r.Int64(1) == 0, Fulltext: strings.EqualFold(r.String(3), "FULLTEXT"), Spatial: strings.EqualFold(r.String(3), "SPATIAL")}
			t.Indexes = append(t.Indexes, cur)
		}
		col := strings.ToLower(r.String(2))
		if r[2] == nil {
			col = "(expr)"
		}
		cur.Columns = append(cur.Columns, col)
	}
	return t, nil
}

func (l *liveCatalog) pgTable(ctx context.Context, schema, name string) (*tableInfo, error) {
	rows, err := l.query(ctx, `SELECT c.reltuples::bigint, pg_total_relation_size(c.oid), c.relkind::text
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("look up table %s.%s: %w", schema, name, err)
	}
	if len(rows.Values) == 0 {
		return nil, nil
	}
	r := rows.Row(0)
	t := &tableInfo{Schema: schema, Name: name, Rows: r.Int64(0), Bytes: r.Int64(1), Live: true}
	if t.Rows < 0 {
		t.Rows = -1 // never analysed
	}
	rows, err = l.query(ctx, `SELECT column_name::text, udt_name::text, data_type::text, is_nullable::text, column_default::text,
		character_maximum_length::bigint, numeric_precision::bigint, numeric_scale::bigint, is_identity::text,
		col_description(format('%I.%I', table_schema, table_name)::regclass, ordinal_position::int) IS NOT NULL, collation_name::text
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", schema, name, err)
	}
	for _, r := range rows.All() {
		typ := strings.ToLower(r.String(1))
		if m, ok := pgTypes[typ]; ok {
			typ = m
		}
		c := &Column{Name: r.String(0), Pos: -1, Type: typ, FullType: r.String(2), Length: -1, NotNull: r.String(3) == "NO",
			AutoIncr: r.String(8) == "YES", HasComment: r[9] == true, Collate: r.String(10)}
		if r[4] != nil {
			d := strings.ToLower(r.String(4))
			c.Default = true
			c.AutoIncr = c.AutoIncr || strings.HasPrefix(d, "nextval(")
			c.DefaultNow = strings.HasPrefix(d, "now()") || strings.HasPrefix(d, "current_timestamp")
		}
		if r[5] != nil {
			c.Length = int(r.Int64(5))
		} else if r[6] != nil {
			c.Length = int(r.Int64(6))
			c.Scale = int(r.Int64(7))
		}
		t.Columns = append(t.Columns, c)
	}
	rows, err = l.query(ctx, `SELECT ic.relname::text, ix.indisunique, ix.indisprimary, COALESCE(a.attname::text, '(expr)')
		FROM pg_index ix
		JOIN pg_class ic ON ic.oid = ix.indexrelid
		JOIN pg_class tc ON tc.oid = ix.indrelid
		JOIN pg_namespace ns ON ns.oid = tc.relnamespace
		CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
		LEFT JOIN pg_attribute a ON a.attrelid = tc.oid AND a.attnum = k.attnum AND k.attnum > 0
		WHERE ns.nspname = $1 AND tc.relname = $2 AND k.n <= ix.indnkeyatts
		ORDER BY ic.relname, k.n`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s.%s: %w", schema, name, err)
	}
	var cur *Index
	for _, r := range rows.All() {
		ixName := r.String(0)
		if cur == nil || cur.Name != ixName {
			cur = &Index{Name: ixName, Pos: -1, Unique: r[1] == true, Primary: r[2] == true}
			t.Indexes = append(t.Indexes, cur)
		}
		cur.Columns = append(cur.Columns, r.String(3))
	}
	return t, nil
}

// explainRows runs EXPLAIN (never ANALYZE: nothing executes) on one
// UPDATE or DELETE and returns the optimizer's row estimate.
func (l *liveCatalog) explainRows(ctx context.Context, stmt string) (int64, error) {
	if l.pg {
		rows, err := l.query(ctx, "EXPLAIN (FORMAT JSON) "+stmt)
		if err != nil {
			return 0, err
		}
		if len(rows.Values) == 0 || len(rows.Values[0]) == 0 {
			return 0, fmt.Errorf("EXPLAIN returned nothing")
		}
		var plan any
		switch v := rows.Values[0][0].(type) {
		case string:
			err = json.Unmarshal([]byte(v), &plan)
		case []byte:
			err = json.Unmarshal(v, &plan)
		default:
			plan = v
		}
		if err != nil {
			return 0, fmt.Errorf("read EXPLAIN output: %w", err)
		}
		return maxPlanRows(plan), nil
	}
	rows, err := l.query(ctx, "EXPLAIN "+stmt)
	if err != nil {
		return 0, err
	}
	col := rows.Col("rows")
	if col < 0 {
		return 0, fmt.Errorf("EXPLAIN output has no rows column")
	}
	var most int64
	for _, r := range rows.All() {
		most = max(most, r.Int64(col))
	}
	return most, nil
}

// maxPlanRows finds the largest "Plan Rows" in a PostgreSQL JSON plan.
func maxPlanRows(v any) int64 {
	var most int64
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			most = max(most, maxPlanRows(e))
		}
	case map[string]any:
		for k, e := range x {
			if k == "Plan Rows" {
				n, _ := engine.Int64(e)
				most = max(most, n)
				continue
			}
			most = max(most, maxPlanRows(e))
		}
	}
	return most
}
