package executor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// myDef is a table definition as SHOW CREATE TABLE prints it, line by line.
type myDef struct {
	Cols    []myCol  // in order
	Keys    []myKey  // PRIMARY KEY, KEY, UNIQUE KEY, FULLTEXT, SPATIAL, CONSTRAINT
	Options string   // what follows the closing parenthesis: ENGINE=... COMMENT='...'
	raw     []string // the lines
}

type myCol struct{ Name, Def string } // Def is the whole line: `name` type ...
type myKey struct {
	Name string // "PRIMARY" for the primary key
	Kind string // key, unique, fulltext, spatial, primary, foreign, check
	Def  string // the whole line: KEY `i` (`a`)
}

// readIdent reads a backquoted identifier at the start of s.
func readIdent(s string) (name, rest string, ok bool) {
	t, found := sql.NewScanner(s, sql.MySQL).Next()
	if !found || t.Kind != sql.QuotedIdent || t.Off != 0 || !closed(s[:t.End]) {
		return "", s, false
	}
	return t.Name(s), s[t.End:], true
}

// closed reports whether the quote s starts with ends in s.
func closed(s string) bool {
	_, _, open := sql.Unterminated(s, sql.MySQL)
	return !open
}

// parseMyDef reads SHOW CREATE TABLE's text. MariaDB and MySQL print one
// column or key per line, indented by two spaces.
func parseMyDef(text string) *myDef {
	d := &myDef{raw: strings.Split(text, "\n")}
	for _, line := range d.raw {
		switch {
		case strings.HasPrefix(line, ")"):
			d.Options = strings.TrimSpace(strings.TrimPrefix(line, ")"))
			continue
		case !strings.HasPrefix(line, "  "):
			continue
		}
		def := strings.TrimSuffix(strings.TrimSpace(line), ",")
		if name, _, ok := readIdent(def); ok {
			d.Cols = append(d.Cols, myCol{Name: name, Def: def})
			continue
		}
		upper := strings.ToUpper(def)
		k := myKey{Def: def}
		var rest string
		switch {
		case strings.HasPrefix(upper, "PRIMARY KEY"):
			k.Name, k.Kind = "PRIMARY", "primary"
		case strings.HasPrefix(upper, "UNIQUE KEY "):
			k.Kind, rest = "unique", def[len("UNIQUE KEY "):]
		case strings.HasPrefix(upper, "KEY "):
			k.Kind, rest = "key", def[len("KEY "):]
		case strings.HasPrefix(upper, "FULLTEXT KEY "):
			k.Kind, rest = "fulltext", def[len("FULLTEXT KEY "):]
		case strings.HasPrefix(upper, "SPATIAL KEY "):
			k.Kind, rest = "spatial", def[len("SPATIAL KEY "):]
		case strings.HasPrefix(upper, "CONSTRAINT "):
			rest = def[len("CONSTRAINT "):]
			k.Kind = "check"
			if strings.Contains(upper, " FOREIGN KEY ") {
				k.Kind = "foreign"
			}
		default:
			continue
		}
		if rest != "" {
			name, _, ok := readIdent(rest)
			if !ok {
				continue
			}
			k.Name = name
		}
		d.Keys = append(d.Keys, k)
	}
	return d
}

func (d *myDef) col(name string) (int, *myCol) {
	for i := range d.Cols {
		if strings.EqualFold(d.Cols[i].Name, name) {
			return i, &d.Cols[i]
		}
	}
	return -1, nil
}

func (d *myDef) key(name string) *myKey {
	for i := range d.Keys {
		if strings.EqualFold(d.Keys[i].Name, name) {
			return &d.Keys[i]
		}
	}
	return nil
}

// position is "FIRST" or "AFTER `prev`" for column i.
func (d *myDef) position(i int) string {
	if i == 0 {
		return "FIRST"
	}
	return "AFTER " + sql.QuoteIdent(sql.MySQL, d.Cols[i-1].Name)
}

// showCreateTable reads a table's definition; nil when it does not exist.
func showCreateTable(ctx context.Context, conn engine.Conn, schema, name string) (*myDef, error) {
	ref := sql.QuoteQualified(sql.MySQL, schema, name)
	rows, _, err := conn.Query(ctx, 1, "SHOW CREATE TABLE "+ref)
	if errkind.Is(err, errkind.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(rows.Values) == 0 || len(rows.Values[0]) < 2 {
		return nil, fmt.Errorf("SHOW CREATE TABLE %s: no answer", ref)
	}
	return parseMyDef(rows.String(0, 1)), nil
}

// tableBytes is DATA_LENGTH + INDEX_LENGTH of a table (0 when unknown).
func myTableBytes(ctx context.Context, conn engine.Conn, schema, name string) int64 {
	q := "SELECT COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?"
	var s any = schema
	if schema == "" {
		s = nil
	}
	rows, _, err := conn.Query(ctx, 1, q, s, name)
	if err != nil || len(rows.Values) == 0 {
		return 0
	}
	return rows.Int64(0, 0)
}

// myDDL is a planned MySQL/MariaDB schema change.
type myDDL struct {
	schema, table string // the table it changes ("" when none)
	alter         *ast.AlterTableStmt
	// attempts are tried in order while the server answers that the
	// algorithm is not supported for the operation.
	attempts  []myAttempt
	predicted string // the algorithm a dry run predicts
	lock      string
	osc       bool   // through pt-online-schema-change
	oscAlter  string // the ALTER's specifications, for pt-osc
	bytes     int64
	before    *myDef // the table before (ALTER, DROP INDEX)
	existed   bool   // CREATE ... IF NOT EXISTS / OR REPLACE: the object was there
	rollback  []string
	why       string // why there is no rollback
}

type myAttempt struct{ algorithm, sql string }

func (p *myDDL) noRollback(format string, args ...any) {
	p.rollback = nil
	p.why = fmt.Sprintf(format, args...)
}

// planMySQLDDL plans a DDL statement: algorithm attempts, pt-osc, and the
// rollback as far as it can be known before running (ALTERs adding
// unnamed indexes finish it after, see finishMyRollback).
func planMySQLDDL(ctx context.Context, conn engine.Conn, kind engine.Kind, s *stmt, osc string, oscMin int64, oscOK bool) (*myDDL, error) {
	p := &myDDL{attempts: []myAttempt{{"DEFAULT", s.Text}}}
	d := sql.MySQL
	switch n := s.my.(type) {
	case *ast.AlterTableStmt:
		p.schema, p.table, p.alter = n.Table.Schema.O, n.Table.Name.O, n
		before, err := showCreateTable(ctx, conn, p.schema, p.table)
		if err != nil {
			return nil, err
		}
		if before == nil {
			return nil, errkind.New(errkind.NotFound, "table %s does not exist", sql.QuoteQualified(d, p.schema, p.table))
		}
		p.before = before
		p.bytes = myTableBytes(ctx, conn, p.schema, p.table)
		p.predicted, p.lock = predictAlter(n)
		// pt-online-schema-change gets the specifications as the grammar
		// read them: not when it read a normalised text.
		p.planAttempts(s.Text, n, kind, osc, oscMin, oscOK && !s.tree.Rewritten)
		p.alterRollback(n)
	case *ast.CreateIndexStmt:
		p.schema, p.table = n.Table.Schema.O, n.Table.Name.O
		p.bytes = myTableBytes(ctx, conn, p.schema, p.table)
		p.predicted, p.lock = "INPLACE", "NONE (FULLTEXT and SPATIAL: SHARED)"
		if kind != engine.TiDB && n.LockAlg == nil {
			p.attempts = []myAttempt{{"INPLACE, LOCK=NONE", s.Text + "\nALGORITHM=INPLACE LOCK=NONE"}, {"DEFAULT", s.Text}}
		}
		p.rollback = []string{fmt.Sprintf("DROP INDEX %s ON %s", sql.QuoteIdent(d, n.IndexName), sql.QuoteQualified(d, p.schema, p.table))}
	case *ast.DropIndexStmt:
		p.schema, p.table = n.Table.Schema.O, n.Table.Name.O
		before, err := showCreateTable(ctx, conn, p.schema, p.table)
		if err != nil {
			return nil, err
		}
		// Dropping a secondary index is in place without a lock; MariaDB's
		// DROP INDEX takes no ALGORITHM clause.
		p.predicted, p.lock = "INPLACE", "NONE"
		if before == nil {
			p.noRollback("table %s does not exist", sql.QuoteQualified(d, p.schema, p.table))
		} else if k := before.key(n.IndexName); k == nil {
			p.noRollback("index %s does not exist", n.IndexName)
		} else {
			p.rollback = []string{fmt.Sprintf("ALTER TABLE %s ADD %s", sql.QuoteQualified(d, p.schema, p.table), k.Def)}
		}
	case *ast.CreateTableStmt:
		p.schema, p.table = n.Table.Schema.O, n.Table.Name.O
		p.predicted, p.lock = "-", "none on existing tables"
		before, err := showCreateTable(ctx, conn, p.schema, p.table)
		if err != nil {
			return nil, err
		}
		switch {
		case before != nil && n.IfNotExists:
			p.existed = true
			p.noRollback("the table already existed (IF NOT EXISTS): nothing to undo")
		case before != nil && s.tree.OrReplace:
			p.noRollback("CREATE OR REPLACE drops the table that exists: restore it from the backup taken before")
		default:
			p.rollback = []string{"DROP TABLE " + sql.QuoteQualified(d, p.schema, p.table)}
		}
	case *ast.RenameTableStmt:
		p.predicted, p.lock = "INSTANT", "metadata lock"
		var back []string
		for i := len(n.TableToTables) - 1; i >= 0; i-- {
			tt := n.TableToTables[i]
			back = append(back, sql.QuoteQualified(d, tt.NewTable.Schema.O, tt.NewTable.Name.O)+" TO "+sql.QuoteQualified(d, tt.OldTable.Schema.O, tt.OldTable.Name.O))
		}
		p.rollback = []string{"RENAME TABLE " + strings.Join(back, ", ")}
	case *ast.CreateDatabaseStmt:
		p.predicted, p.lock = "-", "-"
		rows, _, err := conn.Query(ctx, 1, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", n.Name.O)
		if err != nil {
			return nil, err
		}
		if len(rows.Values) > 0 && n.IfNotExists {
			p.noRollback("the database already existed (IF NOT EXISTS): nothing to undo")
		} else {
			p.rollback = []string{"DROP DATABASE " + sql.QuoteIdent(d, n.Name.O)}
		}
	case *ast.CreateViewStmt:
		p.predicted, p.lock = "-", "-"
		ref := sql.QuoteQualified(d, n.ViewName.Schema.O, n.ViewName.Name.O)
		rows, _, err := conn.Query(ctx, 1, "SHOW CREATE VIEW "+ref)
		switch {
		case err == nil && len(rows.Values) > 0 && len(rows.Values[0]) > 1:
			p.rollback = []string{strings.Replace(rows.String(0, 1), "CREATE ", "CREATE OR REPLACE ", 1)}
		case err == nil || errkind.Is(err, errkind.NotFound):
			p.rollback = []string{"DROP VIEW " + ref}
		default:
			return nil, err
		}
	case *ast.DropTableStmt:
		p.predicted, p.lock = "-", "metadata lock"
		if n.IsView {
			var back []string
			for _, t := range n.Tables {
				rows, _, err := conn.Query(ctx, 1, "SHOW CREATE VIEW "+sql.QuoteQualified(d, t.Schema.O, t.Name.O))
				if err != nil || len(rows.Values) == 0 || len(rows.Values[0]) < 2 {
					p.noRollback("view %s: definition not readable", t.Name.O)
					break
				}
				back = append(back, rows.String(0, 1))
			}
			if p.why == "" {
				p.rollback = back
			}
		} else {
			p.noRollback("%s destroys data: restore it from the backup taken before", s.Verb)
		}
	case *ast.TruncateTableStmt, *ast.DropDatabaseStmt:
		p.predicted, p.lock = "-", "metadata lock"
		p.noRollback("%s destroys data: restore it from the backup taken before", s.Verb)
	default:
		p.predicted = "-"
		if s.tree == nil {
			p.noRollback("%s", s.noTree)
		} else {
			p.noRollback("%s has no defined rollback", s.Verb)
		}
	}
	return p, nil
}

// planAttempts sets the algorithms to try for an ALTER TABLE, strongest
// first, and whether it goes through pt-online-schema-change.
func (p *myDDL) planAttempts(text string, n *ast.AlterTableStmt, kind engine.Kind, osc string, oscMin int64, oscOK bool) {
	if kind == engine.TiDB {
		p.predicted, p.lock = "online (TiDB)", "NONE"
		return
	}
	explicit := false
	var specs []string
	for _, sp := range n.Specs {
		switch sp.Tp {
		case ast.AlterTableAlgorithm, ast.AlterTableLock:
			explicit = true
			continue
		case ast.AlterTablePartition, ast.AlterTableAddPartitions, ast.AlterTableDropPartition, ast.AlterTableCoalescePartitions,
			ast.AlterTableReorganizePartition, ast.AlterTableTruncatePartition, ast.AlterTableRemovePartitioning,
			ast.AlterTableExchangePartition:
			explicit = true // partition options cannot take ALGORITHM= after them
		}
		if t, err := restore(sp); err == nil {
			specs = append(specs, t)
		}
	}
	if explicit {
		p.predicted += " (as written)"
		return
	}
	instant := myAttempt{"INSTANT", text + "\n, ALGORITHM=INSTANT"}
	inplace := myAttempt{"INPLACE, LOCK=NONE", text + "\n, ALGORITHM=INPLACE, LOCK=NONE"}
	plain := myAttempt{"DEFAULT", text}
	useOSC := oscOK && len(specs) == len(n.Specs) && (osc == OSCAlways || osc == OSCAuto && p.bytes >= oscMin)
	switch {
	case useOSC && osc == OSCAlways:
		p.osc, p.attempts = true, nil
	case useOSC:
		p.osc, p.attempts = true, []myAttempt{instant}
	default:
		p.attempts = []myAttempt{instant, inplace, plain}
	}
	if p.osc {
		p.oscAlter = strings.Join(specs, ", ")
		if p.predicted != "INSTANT" || osc == OSCAlways {
			p.predicted, p.lock = "pt-online-schema-change", "NONE (copy with triggers, brief metadata lock at the swap)"
		}
	}
}

// predictAlter says which algorithm and lock MariaDB 10.4+/MySQL 8.0
// would use for an ALTER TABLE: the weakest over its specifications.
func predictAlter(n *ast.AlterTableStmt) (algorithm, lock string) {
	rank := map[string]int{"INSTANT": 0, "INPLACE": 1, "INPLACE (rebuild)": 2, "COPY": 3}
	best, why := "INSTANT", ""
	weaker := func(a, reason string) {
		if rank[a] > rank[best] {
			best, why = a, reason
		}
	}
	for _, sp := range n.Specs {
		switch sp.Tp {
		case ast.AlterTableAddColumns, ast.AlterTableDropColumn, ast.AlterTableRenameColumn, ast.AlterTableAlterColumn,
			ast.AlterTableRenameIndex, ast.AlterTableRenameTable, ast.AlterTableAlgorithm, ast.AlterTableLock:
		case ast.AlterTableOption:
			for _, o := range sp.Options {
				switch o.Tp {
				case ast.TableOptionComment, ast.TableOptionAutoIncrement:
				case ast.TableOptionCharset, ast.TableOptionCollate:
					if sp.Options[0].UintValue != 0 { // CONVERT TO CHARACTER SET
						weaker("COPY", "converts the character set")
					}
				default:
					weaker("INPLACE (rebuild)", "rebuilds the table")
				}
			}
		case ast.AlterTableAddConstraint:
			switch sp.Constraint.Tp {
			case ast.ConstraintPrimaryKey:
				weaker("INPLACE (rebuild)", "a new primary key rebuilds the table")
			case ast.ConstraintFulltext:
				weaker("INPLACE", "FULLTEXT index")
			case ast.ConstraintCheck:
				weaker("COPY", "CHECK constraint")
			default:
				weaker("INPLACE", "builds an index")
			}
		case ast.AlterTableDropIndex, ast.AlterTableDropForeignKey:
			weaker("INPLACE", "drops an index")
		case ast.AlterTableDropPrimaryKey:
			weaker("COPY", "drops the primary key")
		case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
			weaker("COPY", "changing a column's type copies the table (extending VARCHAR or ENUM can be INSTANT)")
		case ast.AlterTableForce:
			weaker("INPLACE (rebuild)", "FORCE rebuilds the table")
		default:
			weaker("COPY", "operation without an online algorithm")
		}
	}
	switch best {
	case "INSTANT":
		return "INSTANT", "none (metadata only)"
	case "INPLACE":
		return "INPLACE", "NONE (" + why + ")"
	case "INPLACE (rebuild)":
		return "INPLACE (rebuild)", "NONE (" + why + ")"
	}
	return "COPY", "SHARED: writes blocked (" + why + ")"
}

// alterRollback builds the reverse of an ALTER TABLE from the definition
// before it. Indexes added without a name get their name afterwards.
func (p *myDDL) alterRollback(n *ast.AlterTableStmt) {
	d := sql.MySQL
	before := p.before
	var rev []string // reverse specifications, in reverse order
	table := sql.QuoteQualified(d, p.schema, p.table)
	var renameBack string
	for _, sp := range n.Specs {
		var r string
		switch sp.Tp {
		case ast.AlterTableAlgorithm, ast.AlterTableLock, ast.AlterTableForce:
			continue
		case ast.AlterTableAddColumns:
			var drops []string
			for _, c := range sp.NewColumns {
				drops = append(drops, "DROP COLUMN "+sql.QuoteIdent(d, c.Name.Name.O))
			}
			r = strings.Join(drops, ", ")
		case ast.AlterTableDropColumn:
			i, c := before.col(sp.OldColumnName.Name.O)
			if c == nil {
				p.noRollback("column %s does not exist", sp.OldColumnName.Name.O)
				return
			}
			r = "ADD COLUMN " + c.Def + " " + before.position(i)
		case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn, ast.AlterTableRenameColumn:
			old, cur := "", ""
			switch sp.Tp {
			case ast.AlterTableModifyColumn:
				old, cur = sp.NewColumns[0].Name.Name.O, sp.NewColumns[0].Name.Name.O
			case ast.AlterTableChangeColumn:
				old, cur = sp.OldColumnName.Name.O, sp.NewColumns[0].Name.Name.O
			default:
				old, cur = sp.OldColumnName.Name.O, sp.NewColumnName.Name.O
			}
			i, c := before.col(old)
			if c == nil {
				p.noRollback("column %s does not exist", old)
				return
			}
			if sp.Tp == ast.AlterTableRenameColumn {
				r = "RENAME COLUMN " + sql.QuoteIdent(d, cur) + " TO " + sql.QuoteIdent(d, old)
				break
			}
			r = "CHANGE COLUMN " + sql.QuoteIdent(d, cur) + " " + c.Def
			if sp.Position != nil && sp.Position.Tp != ast.ColumnPositionNone {
				r += " " + before.position(i)
			}
		case ast.AlterTableAlterColumn:
			_, c := before.col(sp.NewColumns[0].Name.Name.O)
			if c == nil {
				p.noRollback("column %s does not exist", sp.NewColumns[0].Name.Name.O)
				return
			}
			r = "MODIFY COLUMN " + c.Def
		case ast.AlterTableAddConstraint:
			c := sp.Constraint
			switch c.Tp {
			case ast.ConstraintPrimaryKey:
				r = "DROP PRIMARY KEY"
			case ast.ConstraintForeignKey:
				if c.Name == "" {
					p.noRollback("a FOREIGN KEY without a name")
					return
				}
				r = "DROP FOREIGN KEY " + sql.QuoteIdent(d, c.Name)
			case ast.ConstraintCheck:
				if c.Name == "" {
					p.noRollback("a CHECK constraint without a name")
					return
				}
				r = "DROP CONSTRAINT " + sql.QuoteIdent(d, c.Name)
			default:
				name := c.Name
				if name == "" {
					name = "\x00unnamed" // filled in by finishMyRollback
				}
				r = "DROP INDEX " + sql.QuoteIdent(d, name)
			}
		case ast.AlterTableDropIndex, ast.AlterTableDropForeignKey, ast.AlterTableDropPrimaryKey:
			name := sp.Name
			if sp.Tp == ast.AlterTableDropPrimaryKey {
				name = "PRIMARY"
			}
			k := before.key(name)
			if k == nil {
				p.noRollback("index %s does not exist", name)
				return
			}
			r = "ADD " + k.Def
		case ast.AlterTableRenameIndex:
			r = "RENAME INDEX " + sql.QuoteIdent(d, sp.ToKey.O) + " TO " + sql.QuoteIdent(d, sp.FromKey.O)
		case ast.AlterTableRenameTable:
			renameBack = "RENAME TO " + table
			table = sql.QuoteQualified(d, sp.NewTable.Schema.O, sp.NewTable.Name.O)
			if sp.NewTable.Schema.O == "" {
				table = sql.QuoteQualified(d, p.schema, sp.NewTable.Name.O)
			}
			continue
		case ast.AlterTableOption:
			var opts []string
			for _, o := range sp.Options {
				switch o.Tp {
				case ast.TableOptionComment:
					opts = append(opts, "COMMENT = "+oldTableOption(before.Options, "COMMENT", "''"))
				case ast.TableOptionEngine:
					opts = append(opts, "ENGINE = "+oldTableOption(before.Options, "ENGINE", "InnoDB"))
				default:
					p.noRollback("table option changes other than COMMENT and ENGINE have no defined rollback")
					return
				}
			}
			r = strings.Join(opts, " ")
		default:
			p.noRollback("this ALTER TABLE operation has no defined rollback")
			return
		}
		rev = append(rev, r)
	}
	slices.Reverse(rev)
	if renameBack != "" {
		rev = append(rev, renameBack)
	}
	if len(rev) > 0 {
		p.rollback = []string{"ALTER TABLE " + table + " " + strings.Join(rev, ", ")}
	}
}

// oldTableOption reads NAME=value from SHOW CREATE TABLE's options line.
func oldTableOption(options, name, dflt string) string {
	i := strings.Index(strings.ToUpper(options), name+"=")
	if i < 0 {
		return dflt
	}
	v := options[i+len(name)+1:]
	if strings.HasPrefix(v, "'") {
		if t, ok := sql.NewScanner(v, sql.MySQL).Next(); ok && t.Kind == sql.String && closed(v[:t.End]) {
			return v[:t.End]
		}
		return dflt
	}
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v
}

// finishMyRollback names the indexes an ALTER added without a name, from
// the definition after it.
func (p *myDDL) finishMyRollback(after *myDef) {
	if len(p.rollback) == 0 || !strings.Contains(p.rollback[0], "\x00unnamed") {
		return
	}
	var added []string
	for _, k := range after.Keys {
		if p.before.key(k.Name) == nil && k.Kind != "primary" {
			added = append(added, k.Name)
		}
	}
	r := p.rollback[0]
	for _, name := range added {
		r = strings.Replace(r, "`\x00unnamed`", sql.QuoteIdent(sql.MySQL, name), 1)
	}
	if strings.Contains(r, "\x00unnamed") {
		p.noRollback("cannot tell the name of the index added")
		return
	}
	p.rollback[0] = r
}

// notSupported reports whether a failed ALTER attempt only means the
// algorithm or lock is not available for the operation (nothing changed).
func notSupported(err error, attempt string) bool {
	switch myError(err) {
	case 1845, 1846: // ER_ALTER_OPERATION_NOT_SUPPORTED(_REASON)
		return true
	case 1064: // servers before ALGORITHM=INSTANT reject the word itself
		return attempt == "INSTANT"
	}
	msg := err.Error()
	return strings.Contains(msg, "is not supported for this operation") || strings.Contains(msg, "is not supported. Reason")
}
