package executor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// pgDDL is a planned PostgreSQL schema change.
type pgDDL struct {
	algorithm string
	lock      string
	rollback  []string
	why       string
	// finish completes the rollback after the change (names PostgreSQL
	// chose for unnamed indexes and constraints).
	finish func(ctx context.Context, conn engine.Conn) error
}

func (p *pgDDL) noRollback(format string, args ...any) {
	p.rollback = nil
	p.why = fmt.Sprintf(format, args...)
}

type pgColumn struct {
	Type    string
	NotNull bool
	Default string // "" for none
}

type pgRelInfo struct {
	exists  bool
	cols    map[string]pgColumn
	cons    map[string]string // name -> definition
	indexes map[string]string // name -> CREATE INDEX statement
}

// pgRel reads what rollbacks need of a relation (ref is quoted).
func pgRel(ctx context.Context, conn engine.Conn, ref string) (*pgRelInfo, error) {
	info := &pgRelInfo{cols: map[string]pgColumn{}, cons: map[string]string{}, indexes: map[string]string{}}
	rows, _, err := conn.Query(ctx, 0, `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, ref)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", ref, err)
	}
	info.exists = len(rows.Values) > 0
	for _, r := range rows.All() {
		info.cols[r.String(0)] = pgColumn{Type: r.String(1), NotNull: r[2] == true, Default: r.String(3)}
	}
	rows, _, err = conn.Query(ctx, 0, `SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1)`, ref)
	if err != nil {
		return nil, fmt.Errorf("constraints of %s: %w", ref, err)
	}
	for _, r := range rows.All() {
		info.cons[r.String(0)] = r.String(1)
	}
	rows, _, err = conn.Query(ctx, 0, `SELECT c.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = to_regclass($1)`, ref)
	if err != nil {
		return nil, fmt.Errorf("indexes of %s: %w", ref, err)
	}
	for _, r := range rows.All() {
		info.indexes[r.String(0)] = r.String(1)
	}
	return info, nil
}

func pgRef(rv *pg.RangeVar) string {
	return sql.QuoteQualified(sql.Postgres, rv.Schemaname, rv.Relname)
}

// pgLockOf names the table lock a DDL statement takes.
func pgLockOf(s *stmt) string {
	switch n := s.pg.Node.(type) {
	case *pg.Node_IndexStmt:
		if n.IndexStmt.Concurrent {
			return "SHARE UPDATE EXCLUSIVE (writes continue)"
		}
		return "SHARE (writes blocked while the index builds)"
	case *pg.Node_CreateStmt, *pg.Node_CreateSeqStmt, *pg.Node_CreateSchemaStmt, *pg.Node_ViewStmt:
		return "none on existing tables"
	case *pg.Node_AlterTableStmt:
		lock := "ACCESS EXCLUSIVE"
		weakest := true
		for _, c := range n.AlterTableStmt.Cmds {
			cmd := c.GetAlterTableCmd()
			if cmd == nil {
				continue
			}
			switch cmd.Subtype {
			case pg.AlterTableType_AT_ValidateConstraint, pg.AlterTableType_AT_SetStatistics, pg.AlterTableType_AT_SetRelOptions,
				pg.AlterTableType_AT_AttachPartition:
			case pg.AlterTableType_AT_AddConstraint:
				if con := cmd.Def.GetConstraint(); con != nil && con.Contype == pg.ConstrType_CONSTR_FOREIGN {
					continue
				}
				weakest = false
			default:
				weakest = false
			}
		}
		if weakest {
			lock = "SHARE UPDATE EXCLUSIVE or SHARE ROW EXCLUSIVE"
		}
		return lock + " (bounded by lock_timeout)"
	case *pg.Node_DropStmt:
		if n.DropStmt.Concurrent {
			return "SHARE UPDATE EXCLUSIVE"
		}
		return "ACCESS EXCLUSIVE (bounded by lock_timeout)"
	}
	return "ACCESS EXCLUSIVE on what it changes (bounded by lock_timeout)"
}

// planPGDDL plans a PostgreSQL DDL statement and its rollback.
func planPGDDL(ctx context.Context, conn engine.Conn, s *stmt) (*pgDDL, error) {
	p := &pgDDL{algorithm: "transactional", lock: pgLockOf(s)}
	if s.class.NonTx {
		p.algorithm = "outside a transaction (cannot run in one)"
	}
	d := sql.Postgres
	switch n := s.pg.Node.(type) {
	case *pg.Node_CreateStmt:
		ref := pgRef(n.CreateStmt.Relation)
		info, err := pgRel(ctx, conn, ref)
		if err != nil {
			return nil, err
		}
		if info.exists && n.CreateStmt.IfNotExists {
			p.noRollback("the table already existed (IF NOT EXISTS): nothing to undo")
		} else {
			p.rollback = []string{"DROP TABLE " + ref}
		}
	case *pg.Node_IndexStmt:
		ix := n.IndexStmt
		ref := pgRef(ix.Relation)
		conc := ""
		if ix.Concurrent {
			conc = "CONCURRENTLY "
		}
		schema := ix.Relation.Schemaname
		if ix.Idxname != "" {
			p.rollback = []string{"DROP INDEX " + conc + sql.QuoteQualified(d, schema, ix.Idxname)}
			break
		}
		before, err := pgRel(ctx, conn, ref)
		if err != nil {
			return nil, err
		}
		p.finish = func(ctx context.Context, conn engine.Conn) error {
			after, err := pgRel(ctx, conn, ref)
			if err != nil {
				return err
			}
			for name := range after.indexes {
				if _, ok := before.indexes[name]; !ok {
					p.rollback = []string{"DROP INDEX " + conc + sql.QuoteQualified(d, schema, name)}
					return nil
				}
			}
			p.noRollback("cannot tell the name of the index created")
			return nil
		}
	case *pg.Node_AlterTableStmt:
		if err := p.alterRollback(ctx, conn, n.AlterTableStmt); err != nil {
			return nil, err
		}
	case *pg.Node_RenameStmt:
		r := n.RenameStmt
		switch r.RenameType {
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_SEQUENCE, pg.ObjectType_OBJECT_INDEX:
			kind := strings.TrimPrefix(r.RenameType.String(), "OBJECT_")
			p.rollback = []string{fmt.Sprintf("ALTER %s %s RENAME TO %s", kind, sql.QuoteQualified(d, r.Relation.Schemaname, r.Newname), sql.QuoteIdent(d, r.Relation.Relname))}
		case pg.ObjectType_OBJECT_COLUMN:
			p.rollback = []string{fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", pgRef(r.Relation), sql.QuoteIdent(d, r.Newname), sql.QuoteIdent(d, r.Subname))}
		case pg.ObjectType_OBJECT_TABCONSTRAINT:
			p.rollback = []string{fmt.Sprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s", pgRef(r.Relation), sql.QuoteIdent(d, r.Newname), sql.QuoteIdent(d, r.Subname))}
		default:
			p.noRollback("this RENAME has no defined rollback")
		}
	case *pg.Node_DropStmt:
		ds := n.DropStmt
		switch ds.RemoveType {
		case pg.ObjectType_OBJECT_INDEX:
			for _, obj := range ds.Objects {
				names := pgNames(obj)
				ref := sql.QuoteQualified(d, names[0], names[1])
				rows, _, err := conn.Query(ctx, 1, "SELECT pg_get_indexdef(to_regclass($1))", ref)
				if err != nil {
					return nil, err
				}
				if len(rows.Values) == 0 || rows.Values[0][0] == nil {
					p.noRollback("index %s does not exist", ref)
					break
				}
				p.rollback = append(p.rollback, rows.String(0, 0))
			}
		case pg.ObjectType_OBJECT_VIEW:
			for _, obj := range ds.Objects {
				names := pgNames(obj)
				ref := sql.QuoteQualified(d, names[0], names[1])
				rows, _, err := conn.Query(ctx, 1, "SELECT pg_get_viewdef(to_regclass($1))", ref)
				if err != nil {
					return nil, err
				}
				if len(rows.Values) == 0 || rows.Values[0][0] == nil {
					p.noRollback("view %s does not exist", ref)
					break
				}
				p.rollback = append(p.rollback, "CREATE VIEW "+ref+" AS "+strings.TrimSuffix(strings.TrimSpace(rows.String(0, 0)), ";"))
			}
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_MATVIEW, pg.ObjectType_OBJECT_FOREIGN_TABLE, pg.ObjectType_OBJECT_SCHEMA:
			p.noRollback("%s destroys data: restore it from the backup taken before", s.Verb)
		default:
			p.noRollback("%s has no defined rollback", s.Verb)
		}
	case *pg.Node_ViewStmt:
		v := n.ViewStmt
		ref := pgRef(v.View)
		rows, _, err := conn.Query(ctx, 1, "SELECT pg_get_viewdef(to_regclass($1))", ref)
		if err != nil {
			return nil, err
		}
		if len(rows.Values) > 0 && rows.Values[0][0] != nil {
			p.rollback = []string{"CREATE OR REPLACE VIEW " + ref + " AS " + strings.TrimSuffix(strings.TrimSpace(rows.String(0, 0)), ";")}
		} else {
			p.rollback = []string{"DROP VIEW " + ref}
		}
	case *pg.Node_CreateSeqStmt:
		p.rollback = []string{"DROP SEQUENCE " + pgRef(n.CreateSeqStmt.Sequence)}
	case *pg.Node_CreateSchemaStmt:
		p.rollback = []string{"DROP SCHEMA " + sql.QuoteIdent(d, n.CreateSchemaStmt.Schemaname)}
	case *pg.Node_CreatedbStmt:
		p.rollback = []string{"DROP DATABASE " + sql.QuoteIdent(d, n.CreatedbStmt.Dbname)}
	case *pg.Node_TruncateStmt, *pg.Node_DropdbStmt:
		p.noRollback("%s destroys data: restore it from the backup taken before", s.Verb)
	default:
		p.noRollback("%s has no defined rollback", s.Verb)
	}
	return p, nil
}

// pgNames splits a DROP object name (a List of String) into schema and name.
func pgNames(obj *pg.Node) [2]string {
	var parts []string
	if l := obj.GetList(); l != nil {
		for _, it := range l.Items {
			parts = append(parts, it.GetString_().GetSval())
		}
	}
	switch len(parts) {
	case 0:
		return [2]string{}
	case 1:
		return [2]string{"", parts[0]}
	}
	return [2]string{parts[len(parts)-2], parts[len(parts)-1]}
}

func (p *pgDDL) alterRollback(ctx context.Context, conn engine.Conn, at *pg.AlterTableStmt) error {
	d := sql.Postgres
	ref := pgRef(at.Relation)
	before, err := pgRel(ctx, conn, ref)
	if err != nil {
		return err
	}
	var rev []string
	unnamed := false
	for _, c := range at.Cmds {
		cmd := c.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		col := sql.QuoteIdent(d, cmd.Name)
		old, hadCol := before.cols[cmd.Name]
		var r string
		switch cmd.Subtype {
		case pg.AlterTableType_AT_AddColumn:
			def := cmd.Def.GetColumnDef()
			if _, exists := before.cols[def.Colname]; exists && cmd.MissingOk {
				continue
			}
			r = "DROP COLUMN " + sql.QuoteIdent(d, def.Colname)
		case pg.AlterTableType_AT_DropColumn:
			if !hadCol {
				if cmd.MissingOk {
					continue
				}
				p.noRollback("column %s does not exist", cmd.Name)
				return nil
			}
			r = "ADD COLUMN " + col + " " + old.Type
			if old.Default != "" {
				r += " DEFAULT " + old.Default
			}
		case pg.AlterTableType_AT_AlterColumnType:
			if !hadCol {
				p.noRollback("column %s does not exist", cmd.Name)
				return nil
			}
			r = "ALTER COLUMN " + col + " TYPE " + old.Type + " USING " + col + "::" + old.Type
		case pg.AlterTableType_AT_ColumnDefault:
			if !hadCol {
				p.noRollback("column %s does not exist", cmd.Name)
				return nil
			}
			if old.Default == "" {
				r = "ALTER COLUMN " + col + " DROP DEFAULT"
			} else {
				r = "ALTER COLUMN " + col + " SET DEFAULT " + old.Default
			}
		case pg.AlterTableType_AT_SetNotNull, pg.AlterTableType_AT_DropNotNull:
			if !hadCol {
				p.noRollback("column %s does not exist", cmd.Name)
				return nil
			}
			if old.NotNull {
				r = "ALTER COLUMN " + col + " SET NOT NULL"
			} else {
				r = "ALTER COLUMN " + col + " DROP NOT NULL"
			}
		case pg.AlterTableType_AT_AddConstraint:
			con := cmd.Def.GetConstraint()
			if con == nil {
				p.noRollback("this ALTER TABLE operation has no defined rollback")
				return nil
			}
			name := con.Conname
			if name == "" {
				name, unnamed = "\x00unnamed", true
			}
			r = "DROP CONSTRAINT " + sql.QuoteIdent(d, name)
		case pg.AlterTableType_AT_DropConstraint:
			def, ok := before.cons[cmd.Name]
			if !ok {
				if cmd.MissingOk {
					continue
				}
				p.noRollback("constraint %s does not exist", cmd.Name)
				return nil
			}
			r = "ADD CONSTRAINT " + col + " " + def
		case pg.AlterTableType_AT_ValidateConstraint, pg.AlterTableType_AT_SetStatistics:
			continue
		default:
			p.noRollback("ALTER TABLE %s has no defined rollback", strings.TrimPrefix(cmd.Subtype.String(), "AT_"))
			return nil
		}
		rev = append(rev, r)
	}
	slices.Reverse(rev)
	if len(rev) > 0 {
		p.rollback = []string{"ALTER TABLE " + ref + " " + strings.Join(rev, ", ")}
	}
	if unnamed {
		p.finish = func(ctx context.Context, conn engine.Conn) error {
			after, err := pgRel(ctx, conn, ref)
			if err != nil {
				return err
			}
			r := p.rollback[0]
			for name := range after.cons {
				if _, ok := before.cons[name]; !ok {
					r = strings.Replace(r, sql.QuoteIdent(d, "\x00unnamed"), sql.QuoteIdent(d, name), 1)
				}
			}
			if strings.Contains(r, "\x00unnamed") {
				p.noRollback("cannot tell the name of the constraint added")
				return nil
			}
			p.rollback[0] = r
			return nil
		}
	}
	return nil
}
