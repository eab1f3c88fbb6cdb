package sqlreview

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

type pgBuilder struct {
	s *Stmt
}

func pgRange(rv *pg.RangeVar) TableRef {
	if rv == nil {
		return TableRef{Pos: -1}
	}
	return TableRef{Schema: rv.Schemaname, Name: rv.Relname, Pos: int(rv.Location)}
}

// pgNames turns a List of String nodes into its strings.
func pgNames(nodes []*pg.Node) []string {
	var out []string
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

// pgObjectRef turns a dotted name list into a table reference.
func pgObjectRef(names []string) TableRef {
	switch len(names) {
	case 0:
		return TableRef{Pos: -1}
	case 1:
		return TableRef{Name: names[0], Pos: -1}
	}
	return TableRef{Schema: names[len(names)-2], Name: names[len(names)-1], Pos: -1}
}

func (b *pgBuilder) build(n *pg.Node) {
	s := b.s
	switch x := n.Node.(type) {
	case *pg.Node_CreateStmt:
		s.Op = OpCreateTable
		s.Table = pgRange(x.CreateStmt.Relation)
		s.IfNotExists = x.CreateStmt.IfNotExists
		s.Create = b.createTable(x.CreateStmt)
	case *pg.Node_CreateTableAsStmt:
		if x.CreateTableAsStmt.Objtype == pg.ObjectType_OBJECT_MATVIEW {
			s.Op = OpCreateView
		} else {
			s.Op = OpCreateTable
			s.Create = &CreateTable{AsSelect: true}
		}
		if x.CreateTableAsStmt.Into != nil {
			s.Table = pgRange(x.CreateTableAsStmt.Into.Rel)
		}
		s.IfNotExists = x.CreateTableAsStmt.IfNotExists
		b.facts(x.CreateTableAsStmt.Query)
	case *pg.Node_AlterTableStmt:
		if x.AlterTableStmt.Objtype != pg.ObjectType_OBJECT_TABLE {
			return
		}
		s.Op = OpAlterTable
		s.Table = pgRange(x.AlterTableStmt.Relation)
		s.IfExists = x.AlterTableStmt.MissingOk
		s.Alter = b.alterTable(x.AlterTableStmt)
	case *pg.Node_RenameStmt:
		b.rename(x.RenameStmt)
	case *pg.Node_IndexStmt:
		ix := x.IndexStmt
		s.Op = OpCreateIndex
		s.Table = pgRange(ix.Relation)
		s.IfNotExists = ix.IfNotExists
		s.Concurrently = ix.Concurrent
		s.Index = &Index{Name: ix.Idxname, Pos: s.find(ix.Idxname, 0), Columns: pgIndexColumns(ix.IndexParams), Unique: ix.Unique, Primary: ix.Primary}
		if ix.Concurrent {
			s.NonTransactional = "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
		}
	case *pg.Node_DropStmt:
		d := x.DropStmt
		s.IfExists = d.MissingOk
		s.Cascade = d.Behavior == pg.DropBehavior_DROP_CASCADE
		var refs []TableRef
		for _, o := range d.Objects {
			if l := o.GetList(); l != nil {
				refs = append(refs, pgObjectRef(pgNames(l.Items)))
			} else if str := o.GetString_(); str != nil {
				refs = append(refs, TableRef{Name: str.Sval, Pos: -1})
			}
		}
		for i := range refs {
			refs[i].Pos = s.find(refs[i].Name, 0)
		}
		switch d.RemoveType {
		case pg.ObjectType_OBJECT_TABLE:
			s.Op = OpDropTable
			s.Tables = refs
		case pg.ObjectType_OBJECT_INDEX:
			s.Op = OpDropIndex
			s.Concurrently = d.Concurrent
			if len(refs) > 0 {
				s.Index = &Index{Name: refs[0].Name, Pos: refs[0].Pos}
				s.Table = TableRef{Schema: refs[0].Schema, Pos: -1}
			}
			if d.Concurrent {
				s.NonTransactional = "DROP INDEX CONCURRENTLY cannot run inside a transaction block"
			}
		case pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW:
			s.Op = OpDropView
			s.Tables = refs
		case pg.ObjectType_OBJECT_SCHEMA:
			s.Op = OpDropDatabase
			if len(refs) > 0 {
				s.Database = refs[0].Name
			}
		}
		if len(s.Tables) > 0 {
			s.Table = s.Tables[0]
		}
	case *pg.Node_TruncateStmt:
		s.Op = OpTruncate
		s.Cascade = x.TruncateStmt.Behavior == pg.DropBehavior_DROP_CASCADE
		for _, r := range x.TruncateStmt.Relations {
			if rv := r.GetRangeVar(); rv != nil {
				s.Tables = append(s.Tables, pgRange(rv))
			}
		}
		if len(s.Tables) > 0 {
			s.Table = s.Tables[0]
		}
	case *pg.Node_CreateSchemaStmt:
		s.Op = OpCreateDatabase
		s.Database = x.CreateSchemaStmt.Schemaname
		s.IfNotExists = x.CreateSchemaStmt.IfNotExists
	case *pg.Node_CreatedbStmt:
		s.NonTransactional = "CREATE DATABASE cannot run inside a transaction block"
	case *pg.Node_DropdbStmt:
		s.NonTransactional = "DROP DATABASE cannot run inside a transaction block"
	case *pg.Node_VacuumStmt:
		s.NonTransactional = "VACUUM cannot run inside a transaction block"
	case *pg.Node_ReindexStmt:
		for _, p := range x.ReindexStmt.Params {
			if de := p.GetDefElem(); de != nil && de.Defname == "concurrently" {
				s.NonTransactional = "REINDEX CONCURRENTLY cannot run inside a transaction block"
			}
		}
	case *pg.Node_AlterSystemStmt:
		s.NonTransactional = "ALTER SYSTEM cannot run inside a transaction block"
	case *pg.Node_CreateFunctionStmt:
		s.Op = OpCreateRoutine
		s.OrReplace = x.CreateFunctionStmt.Replace
		what := "function"
		if x.CreateFunctionStmt.IsProcedure {
			what = "procedure"
		}
		s.Manual = what + " body: rules cannot review stored code"
	case *pg.Node_DoStmt:
		s.Op = OpCreateRoutine
		s.Manual = "DO block: rules cannot review procedural code"
	case *pg.Node_CreateTrigStmt:
		s.Op = OpCreateTrigger
		s.Table = pgRange(x.CreateTrigStmt.Relation)
	case *pg.Node_CreateEventTrigStmt:
		s.Op = OpCreateTrigger
	case *pg.Node_ViewStmt:
		s.Op = OpCreateView
		s.OrReplace = x.ViewStmt.Replace
		s.Table = pgRange(x.ViewStmt.View)
		b.facts(x.ViewStmt.Query)
	case *pg.Node_CreateSeqStmt:
		s.Op = OpCreateSequence
		s.Table = pgRange(x.CreateSeqStmt.Sequence)
		s.IfNotExists = x.CreateSeqStmt.IfNotExists
	case *pg.Node_CommentStmt:
		b.comment(x.CommentStmt)
	case *pg.Node_InsertStmt:
		ins := x.InsertStmt
		s.Op = OpInsert
		s.Table = pgRange(ins.Relation)
		d := b.facts(n)
		for _, c := range ins.Cols {
			if rt := c.GetResTarget(); rt != nil {
				d.InsertColumns = append(d.InsertColumns, rt.Name)
			}
		}
		if sel := ins.SelectStmt.GetSelectStmt(); sel != nil {
			d.InsertSelect = len(sel.ValuesLists) == 0
			d.InsertNoColumns = len(ins.Cols) == 0
		}
	case *pg.Node_UpdateStmt:
		u := x.UpdateStmt
		s.Op = OpUpdate
		s.Table = pgRange(u.Relation)
		d := b.facts(n)
		for _, t := range u.TargetList {
			if rt := t.GetResTarget(); rt != nil {
				d.SetColumns = append(d.SetColumns, rt.Name)
			}
		}
		d.HasWhere = u.WhereClause != nil
		d.AlwaysTrue = pgConstTrue(u.WhereClause)
	case *pg.Node_DeleteStmt:
		del := x.DeleteStmt
		s.Op = OpDelete
		s.Table = pgRange(del.Relation)
		d := b.facts(n)
		d.HasWhere = del.WhereClause != nil
		d.AlwaysTrue = pgConstTrue(del.WhereClause)
	case *pg.Node_SelectStmt:
		s.Op = OpSelect
		b.facts(n)
	case *pg.Node_MergeStmt:
		b.facts(n)
	case *pg.Node_ExplainStmt:
		b.facts(x.ExplainStmt.Query)
	}
}

// pgTypes maps PostgreSQL's internal type names to the names users write.
var pgTypes = map[string]string{
	"int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real", "float8": "double precision",
	"bool": "boolean", "bpchar": "char", "varchar": "varchar", "timestamptz": "timestamptz", "timetz": "timetz",
}

func pgType(tn *pg.TypeName) (name, full string, length int) {
	length = -1
	if tn == nil {
		return "unknown", "unknown", length
	}
	names := pgNames(tn.Names)
	if len(names) == 0 {
		return "unknown", "unknown", length
	}
	name = strings.ToLower(names[len(names)-1])
	if m, ok := pgTypes[name]; ok {
		name = m
	}
	var mods []string
	for _, m := range tn.Typmods {
		if c := m.GetAConst(); c != nil {
			if iv := c.GetIval(); iv != nil {
				mods = append(mods, fmt.Sprint(iv.Ival))
				if length < 0 {
					length = int(iv.Ival)
				}
			}
		}
	}
	full = name
	if len(mods) > 0 {
		full += "(" + strings.Join(mods, ",") + ")"
	}
	if len(tn.ArrayBounds) > 0 {
		full += "[]"
	}
	return name, full, length
}

var pgNowFuncs = map[string]bool{"now": true, "current_timestamp": true, "clock_timestamp": true, "statement_timestamp": true, "transaction_timestamp": true, "localtimestamp": true}

func pgIsNow(n *pg.Node) bool {
	if n == nil {
		return false
	}
	if f := n.GetFuncCall(); f != nil {
		names := pgNames(f.Funcname)
		return len(names) > 0 && pgNowFuncs[strings.ToLower(names[len(names)-1])]
	}
	if sv := n.GetSqlvalueFunction(); sv != nil {
		switch sv.Op {
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N,
			pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
			return true
		}
	}
	if tc := n.GetTypeCast(); tc != nil {
		return pgIsNow(tc.Arg)
	}
	return false
}

func (b *pgBuilder) column(cd *pg.ColumnDef) *Column {
	c := &Column{Name: cd.Colname, Pos: int(cd.Location)}
	c.Type, c.FullType, c.Length = pgType(cd.TypeName)
	switch c.Type {
	case "serial", "bigserial", "smallserial", "serial4", "serial8", "serial2":
		c.AutoIncr, c.NotNull = true, true
	}
	if cd.CollClause != nil {
		if names := pgNames(cd.CollClause.Collname); len(names) > 0 {
			c.Collate = names[len(names)-1]
		}
	}
	c.NotNull = c.NotNull || cd.IsNotNull
	for _, n := range cd.Constraints {
		con := n.GetConstraint()
		if con == nil {
			continue
		}
		switch con.Contype {
		case pg.ConstrType_CONSTR_NOTNULL:
			c.NotNull = true
		case pg.ConstrType_CONSTR_NULL:
			c.NotNull = false
		case pg.ConstrType_CONSTR_DEFAULT:
			c.Default = true
			if ac := con.RawExpr.GetAConst(); ac != nil && ac.Isnull {
				c.DefaultNull = true
			}
			c.DefaultNow = pgIsNow(con.RawExpr)
			c.VolatileDefault = pgVolatile(con.RawExpr)
		case pg.ConstrType_CONSTR_IDENTITY:
			c.AutoIncr, c.NotNull = true, true
		case pg.ConstrType_CONSTR_GENERATED:
			c.Generated = true
		case pg.ConstrType_CONSTR_PRIMARY:
			c.PrimaryKey, c.NotNull = true, true
		case pg.ConstrType_CONSTR_UNIQUE:
			c.Unique = true
		case pg.ConstrType_CONSTR_FOREIGN:
			r := pgRange(con.Pktable)
			c.References = &r
			c.RefOnDeleteCascade = con.FkDelAction == "c"
		}
	}
	return c
}

func pgIndexColumns(params []*pg.Node) []string {
	var out []string
	for _, p := range params {
		if ie := p.GetIndexElem(); ie != nil {
			if ie.Name != "" {
				out = append(out, ie.Name)
			} else {
				out = append(out, "(expr)")
			}
		}
	}
	return out
}

// tableConstraint maps a table-level constraint.
func (b *pgBuilder) tableConstraint(con *pg.Constraint) (*Index, *ForeignKey, bool) {
	pos := int(con.Location)
	switch con.Contype {
	case pg.ConstrType_CONSTR_PRIMARY:
		name := con.Conname
		if name == "" {
			name = b.pkeyName()
		}
		return &Index{Name: name, Pos: pos, Columns: pgNames(con.Keys), Primary: true, Unique: true}, nil, false
	case pg.ConstrType_CONSTR_UNIQUE:
		return &Index{Name: con.Conname, Pos: pos, Columns: pgNames(con.Keys), Unique: true}, nil, false
	case pg.ConstrType_CONSTR_FOREIGN:
		return nil, &ForeignKey{Name: con.Conname, Pos: pos, Columns: pgNames(con.FkAttrs), Ref: pgRange(con.Pktable), NotValid: con.SkipValidation,
			OnDeleteCascade: con.FkDelAction == "c"}, false
	case pg.ConstrType_CONSTR_CHECK:
		return nil, nil, true
	}
	return nil, nil, false
}

// pkeyName is the name PostgreSQL gives an unnamed primary key of the
// statement's table (DROP CONSTRAINT t_pkey drops it).
func (b *pgBuilder) pkeyName() string { return b.s.Table.Name + "_pkey" }

func (b *pgBuilder) createTable(cs *pg.CreateStmt) *CreateTable {
	ct := &CreateTable{Partitioned: cs.Partspec != nil || cs.Partbound != nil, Temporary: cs.Relation != nil && cs.Relation.Relpersistence == "t"}
	if ct.Partitioned {
		ct.PartPos = b.s.findWord("PARTITION", 0)
	}
	for _, e := range cs.TableElts {
		switch {
		case e.GetColumnDef() != nil:
			c := b.column(e.GetColumnDef())
			ct.Columns = append(ct.Columns, c)
			if c.PrimaryKey {
				ct.Indexes = append(ct.Indexes, &Index{Name: b.pkeyName(), Pos: c.Pos, Columns: []string{c.Name}, Primary: true, Unique: true})
			} else if c.Unique {
				ct.Indexes = append(ct.Indexes, &Index{Name: c.Name, Pos: c.Pos, Columns: []string{c.Name}, Unique: true})
			}
			if c.References != nil {
				ct.ForeignKeys = append(ct.ForeignKeys, &ForeignKey{Pos: c.Pos, Columns: []string{c.Name}, Ref: *c.References, OnDeleteCascade: c.RefOnDeleteCascade})
			}
		case e.GetConstraint() != nil:
			ix, fk, _ := b.tableConstraint(e.GetConstraint())
			if ix != nil {
				ct.Indexes = append(ct.Indexes, ix)
			}
			if fk != nil {
				ct.ForeignKeys = append(ct.ForeignKeys, fk)
			}
		case e.GetTableLikeClause() != nil:
			ct.Like = true
		}
	}
	for _, e := range cs.Constraints {
		if con := e.GetConstraint(); con != nil {
			ix, fk, _ := b.tableConstraint(con)
			if ix != nil {
				ct.Indexes = append(ct.Indexes, ix)
			}
			if fk != nil {
				ct.ForeignKeys = append(ct.ForeignKeys, fk)
			}
		}
	}
	return ct
}

func (b *pgBuilder) alterTable(as *pg.AlterTableStmt) *AlterTable {
	s := b.s
	at := &AlterTable{}
	from := s.Table.Pos + 1
	for _, n := range as.Cmds {
		cmd := n.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		a := &Action{Kind: ActOther, Pos: s.find(cmd.Name, from), Name: cmd.Name, IfExists: cmd.MissingOk}
		if cmd.Behavior == pg.DropBehavior_DROP_CASCADE {
			s.Cascade = true
		}
		switch cmd.Subtype {
		case pg.AlterTableType_AT_AddColumn:
			a.Kind, a.IfExists, a.IfNotExists = ActAddColumn, false, cmd.MissingOk
			if cd := cmd.Def.GetColumnDef(); cd != nil {
				a.Column = b.column(cd)
				a.Name, a.Pos = cd.Colname, a.Column.Pos
			}
		case pg.AlterTableType_AT_DropColumn:
			a.Kind = ActDropColumn
		case pg.AlterTableType_AT_AlterColumnType:
			a.Kind = ActModifyColumn
			if cd := cmd.Def.GetColumnDef(); cd != nil {
				c := b.column(cd)
				c.Name = cmd.Name
				a.Column = c
			}
		case pg.AlterTableType_AT_SetNotNull:
			a.Kind = ActSetNotNull
		case pg.AlterTableType_AT_DropNotNull:
			a.Kind = ActDropNotNull
		case pg.AlterTableType_AT_ColumnDefault:
			a.Kind = ActDropDefault
			if cmd.Def != nil {
				a.Kind = ActSetDefault
			}
		case pg.AlterTableType_AT_AddConstraint:
			con := cmd.Def.GetConstraint()
			if con == nil {
				break
			}
			ix, fk, check := b.tableConstraint(con)
			a.Pos = int(con.Location)
			a.NotValid = con.SkipValidation
			switch {
			case ix != nil:
				a.Kind, a.Index = ActAddIndex, ix
			case fk != nil:
				a.Kind, a.ForeignKey = ActAddForeignKey, fk
			case check:
				a.Kind = ActAddCheck
			}
		case pg.AlterTableType_AT_DropConstraint:
			a.Kind = ActDropConstraint
		case pg.AlterTableType_AT_AttachPartition, pg.AlterTableType_AT_DetachPartition:
			a.Kind = ActPartition
			a.Pos = s.findWord("PARTITION", from)
		}
		if a.Pos < 0 {
			a.Pos = s.Table.Pos
		}
		at.Actions = append(at.Actions, a)
	}
	return at
}

func (b *pgBuilder) rename(r *pg.RenameStmt) {
	s := b.s
	switch r.RenameType {
	case pg.ObjectType_OBJECT_TABLE:
		s.Op = OpRenameTable
		from := pgRange(r.Relation)
		s.Table = from
		s.Renames = []Rename{{From: from, To: TableRef{Schema: from.Schema, Name: r.Newname, Pos: s.find(r.Newname, 0)}}}
	case pg.ObjectType_OBJECT_COLUMN:
		if r.RelationType != pg.ObjectType_OBJECT_TABLE {
			return
		}
		s.Op = OpAlterTable
		s.Table = pgRange(r.Relation)
		s.Alter = &AlterTable{Actions: []*Action{{Kind: ActRenameColumn, Pos: s.find(r.Subname, s.Table.Pos+1), Name: r.Subname, NewName: r.Newname}}}
	}
}

func (b *pgBuilder) comment(c *pg.CommentStmt) {
	s := b.s
	var names []string
	if l := c.Object.GetList(); l != nil {
		names = pgNames(l.Items)
	}
	switch c.Objtype {
	case pg.ObjectType_OBJECT_TABLE:
		s.Op = OpComment
		s.Table = pgObjectRef(names)
		s.Comment = &CommentOn{Text: c.Comment, Null: c.Comment == ""}
	case pg.ObjectType_OBJECT_COLUMN:
		if len(names) < 2 {
			return
		}
		s.Op = OpComment
		s.Table = pgObjectRef(names[:len(names)-1])
		s.Comment = &CommentOn{Column: names[len(names)-1], Text: c.Comment, Null: c.Comment == ""}
	}
	if s.Op == OpComment {
		s.Table.Pos = s.find(s.Table.Name, 0)
	}
}

func pgConstTrue(n *pg.Node) bool {
	if n == nil {
		return false
	}
	if c := n.GetAConst(); c != nil {
		if bv := c.GetBoolval(); bv != nil {
			return bv.Boolval
		}
		if iv := c.GetIval(); iv != nil {
			return iv.Ival != 0
		}
	}
	if e := n.GetAExpr(); e != nil && e.Kind == pg.A_Expr_Kind_AEXPR_OP {
		if names := pgNames(e.Name); len(names) == 1 && names[0] == "=" {
			l, r := e.Lexpr.GetAConst(), e.Rexpr.GetAConst()
			if l != nil && r != nil && !l.Isnull {
				return proto.Equal(withoutLocation(l), withoutLocation(r))
			}
		}
	}
	if be := n.GetBoolExpr(); be != nil && be.Boolop == pg.BoolExprType_OR_EXPR {
		for _, a := range be.Args {
			if pgConstTrue(a) {
				return true
			}
		}
	}
	return false
}

func withoutLocation(c *pg.A_Const) *pg.A_Const {
	cp := proto.Clone(c).(*pg.A_Const)
	cp.Location = 0
	return cp
}

// facts walks a statement for the DML facts rules look at.
func (b *pgBuilder) facts(n *pg.Node) *DML {
	s := b.s
	if s.DML == nil {
		s.DML = &DML{}
	}
	if n == nil {
		return s.DML
	}
	w := &pgWalker{s: s, d: s.DML, ctes: map[string]bool{}, seen: map[string]bool{}}
	w.walk(n.ProtoReflect(), 0)
	w.scan(n.ProtoReflect(), nil, map[string]bool{})
	return s.DML
}

type pgWalker struct {
	s    *Stmt
	d    *DML
	ctes map[string]bool
	seen map[string]bool
}

func (w *pgWalker) walk(m protoreflect.Message, exists int) {
	switch x := m.Interface().(type) {
	case *pg.WithClause:
		for _, c := range x.Ctes {
			if cte := c.GetCommonTableExpr(); cte != nil {
				w.ctes[cte.Ctename] = true
			}
		}
	case *pg.SubLink:
		if x.SubLinkType == pg.SubLinkType_EXISTS_SUBLINK {
			exists++
		}
	case *pg.SelectStmt:
		if exists == 0 {
			for _, t := range x.TargetList {
				if rt := t.GetResTarget(); rt != nil {
					if cr := rt.Val.GetColumnRef(); cr != nil && len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
						w.d.SelectStar = append(w.d.SelectStar, w.starPos(int(cr.Location)))
					}
				}
			}
		}
		for _, sb := range x.SortClause {
			if sortBy := sb.GetSortBy(); sortBy != nil {
				if f := sortBy.Node.GetFuncCall(); f != nil {
					if names := pgNames(f.Funcname); len(names) > 0 && strings.EqualFold(names[len(names)-1], "random") {
						w.d.OrderByRand = append(w.d.OrderByRand, int(f.Location))
					}
				}
			}
		}
	case *pg.A_Expr:
		if x.Kind == pg.A_Expr_Kind_AEXPR_LIKE || x.Kind == pg.A_Expr_Kind_AEXPR_ILIKE {
			names := pgNames(x.Name)
			if len(names) == 1 && !strings.HasPrefix(names[0], "!") {
				if c := x.Rexpr.GetAConst(); c != nil {
					if sv := c.GetSval(); sv != nil && (strings.HasPrefix(sv.Sval, "%") || strings.HasPrefix(sv.Sval, "_")) {
						w.d.LeadingLike = append(w.d.LeadingLike, Like{Pos: int(c.Location), Pattern: sv.Sval})
					}
				}
			}
		}
	case *pg.RangeVar:
		if !(x.Schemaname == "" && w.ctes[x.Relname]) {
			key := x.Schemaname + "." + x.Relname
			if !w.seen[key] {
				w.seen[key] = true
				w.s.Tables = append(w.s.Tables, pgRange(x))
			}
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				w.walk(l.Get(i).Message(), exists)
			}
		case fd.Message() != nil && !fd.IsMap():
			w.walk(v.Message(), exists)
		}
		return true
	})
}

// volatileFuncs are PostgreSQL functions whose value changes per row: a
// column added with one as its DEFAULT rewrites the table.
var volatileFuncs = map[string]bool{"random": true, "gen_random_uuid": true, "uuid_generate_v1": true, "uuid_generate_v1mc": true,
	"uuid_generate_v4": true, "clock_timestamp": true, "timeofday": true, "nextval": true, "txid_current": true,
	"uuidv7": true, "uuidv4": true, "random_normal": true, "setseed": true}

// pgVolatile returns the first volatile function of an expression, "".
func pgVolatile(n *pg.Node) string {
	if n == nil {
		return ""
	}
	found := ""
	pgVisit(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if f, ok := m.Interface().(*pg.FuncCall); ok {
			if names := pgNames(f.Funcname); len(names) > 0 && volatileFuncs[strings.ToLower(names[len(names)-1])] {
				found = names[len(names)-1]
			}
		}
		return found == ""
	})
	return found
}

// pgVisit calls f on m and every message below it while f returns true
// for the parent.
func pgVisit(m protoreflect.Message, f func(protoreflect.Message) bool) {
	if !f(m) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				pgVisit(l.Get(i).Message(), f)
			}
		case fd.Message() != nil && !fd.IsMap():
			pgVisit(v.Message(), f)
		}
		return true
	})
}

var pgArithmetic = map[string]bool{"+": true, "-": true, "*": true, "/": true, "%": true, "^": true, "||": true}

// scan records, for every query block, the columns its conditions (WHERE,
// JOIN ... ON, MERGE ... ON and WHEN, ON CONFLICT ... WHERE) wrap in
// functions or arithmetic, and their comparisons with NULL. scope holds
// the tables of the enclosing blocks (correlated subqueries name them),
// ctes the CTE names visible here.
func (w *pgWalker) scan(m protoreflect.Message, scope []AliasedTable, ctes map[string]bool) {
	block := func(with *pg.WithClause, target *pg.RangeVar, from []*pg.Node, conds ...*pg.Node) {
		ctes = w.scanCTEs(with, scope, ctes)
		var tables []AliasedTable
		if target != nil {
			tables = append(tables, w.rangeTable(target, ctes))
		}
		for _, n := range from {
			w.fromTables(n, ctes, &tables, &conds)
		}
		for i := range tables {
			tables[i].Depth = len(scope)
		}
		scope = append(tables, scope...)
		for _, c := range conds {
			w.conditions(c, scope)
		}
	}
	switch x := m.Interface().(type) {
	case *pg.SelectStmt:
		block(x.WithClause, nil, x.FromClause, x.WhereClause)
	case *pg.UpdateStmt:
		block(x.WithClause, x.Relation, x.FromClause, x.WhereClause)
	case *pg.DeleteStmt:
		block(x.WithClause, x.Relation, x.UsingClause, x.WhereClause)
	case *pg.InsertStmt:
		var conds []*pg.Node
		if oc := x.OnConflictClause; oc != nil {
			conds = append(conds, oc.WhereClause)
			if oc.Infer != nil {
				conds = append(conds, oc.Infer.WhereClause)
			}
		}
		block(x.WithClause, x.Relation, nil, conds...)
	case *pg.MergeStmt:
		conds := []*pg.Node{x.JoinCondition}
		for _, wc := range x.MergeWhenClauses {
			if mw := wc.GetMergeWhenClause(); mw != nil {
				conds = append(conds, mw.Condition)
			}
		}
		var from []*pg.Node
		if x.SourceRelation != nil {
			from = append(from, x.SourceRelation)
		}
		block(x.WithClause, x.Relation, from, conds...)
	case *pg.WithClause:
		return // scanned by its statement
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				w.scan(l.Get(i).Message(), scope, ctes)
			}
		case fd.Message() != nil && !fd.IsMap():
			w.scan(v.Message(), scope, ctes)
		}
		return true
	})
}

// scanCTEs scans the bodies of a WITH clause (a non-recursive CTE does
// not see itself nor later ones) and returns the names visible after it.
func (w *pgWalker) scanCTEs(with *pg.WithClause, scope []AliasedTable, ctes map[string]bool) map[string]bool {
	if with == nil || len(with.Ctes) == 0 {
		return ctes
	}
	out := make(map[string]bool, len(ctes)+len(with.Ctes))
	for k := range ctes {
		out[k] = true
	}
	for _, c := range with.Ctes {
		cte := c.GetCommonTableExpr()
		if cte == nil {
			continue
		}
		if with.Recursive {
			out[cte.Ctename] = true
		}
		if cte.Ctequery != nil {
			w.scan(cte.Ctequery.ProtoReflect(), scope, out)
		}
		out[cte.Ctename] = true
	}
	return out
}

func (w *pgWalker) rangeTable(rv *pg.RangeVar, ctes map[string]bool) AliasedTable {
	at := AliasedTable{Ref: pgRange(rv), Opaque: rv.Schemaname == "" && ctes[rv.Relname]}
	if rv.Alias != nil {
		at.Alias = rv.Alias.Aliasname
	}
	return at
}

// fromTables adds the tables of one FROM item, and its JOIN conditions.
func (w *pgWalker) fromTables(n *pg.Node, ctes map[string]bool, out *[]AliasedTable, conds *[]*pg.Node) {
	switch {
	case n.GetRangeVar() != nil:
		*out = append(*out, w.rangeTable(n.GetRangeVar(), ctes))
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		w.fromTables(j.Larg, ctes, out, conds)
		w.fromTables(j.Rarg, ctes, out, conds)
		*conds = append(*conds, j.Quals)
	case n.GetRangeSubselect() != nil:
		at := AliasedTable{Ref: TableRef{Pos: -1}, Opaque: true}
		if a := n.GetRangeSubselect().Alias; a != nil {
			at.Alias = a.Aliasname
		}
		*out = append(*out, at)
	case n.GetRangeFunction() != nil:
		at := AliasedTable{Ref: TableRef{Pos: -1}, Opaque: true}
		if a := n.GetRangeFunction().Alias; a != nil {
			at.Alias = a.Aliasname
		}
		*out = append(*out, at)
	}
}

// conditions records what one condition does to columns, leaving its
// subqueries to the scan.
func (w *pgWalker) conditions(cond *pg.Node, tables []AliasedTable) {
	if cond == nil {
		return
	}
	pgVisit(cond.ProtoReflect(), func(m protoreflect.Message) bool {
		switch x := m.Interface().(type) {
		case *pg.SubLink:
			return false
		case *pg.A_Expr:
			if x.Kind != pg.A_Expr_Kind_AEXPR_OP {
				return true
			}
			names := pgNames(x.Name)
			if len(names) != 1 {
				return true
			}
			if (names[0] == "=" || names[0] == "<>" || names[0] == "!=") && (pgIsNull(x.Lexpr) || pgIsNull(x.Rexpr)) {
				w.d.EqualNull = append(w.d.EqualNull, int(x.Location))
			}
			if pgArithmetic[names[0]] {
				if cr := pgFirstColumn(m); cr != nil {
					w.d.WhereCalcs = append(w.d.WhereCalcs, pgCalc(cr, "", tables))
					return false
				}
			}
		case *pg.FuncCall:
			if cr := pgFirstColumn(m); cr != nil {
				names := pgNames(x.Funcname)
				calc := pgCalc(cr, strings.ToUpper(names[len(names)-1]), tables)
				calc.Pos = int(x.Location)
				w.d.WhereCalcs = append(w.d.WhereCalcs, calc)
				return false
			}
		case *pg.TypeCast:
			if cr := pgFirstColumn(m); cr != nil {
				calc := pgCalc(cr, "CAST", tables)
				calc.Pos = int(x.Location)
				w.d.WhereCalcs = append(w.d.WhereCalcs, calc)
				return false
			}
		}
		return true
	})
}

func pgIsNull(n *pg.Node) bool {
	c := n.GetAConst()
	return c != nil && c.Isnull
}

// pgFirstColumn returns the first column reference below m outside
// subqueries.
func pgFirstColumn(m protoreflect.Message) *pg.ColumnRef {
	var found *pg.ColumnRef
	pgVisit(m, func(m protoreflect.Message) bool {
		if found != nil {
			return false
		}
		switch x := m.Interface().(type) {
		case *pg.SubLink:
			return false
		case *pg.ColumnRef:
			found = x
			return false
		}
		return true
	})
	return found
}

func pgCalc(cr *pg.ColumnRef, fn string, tables []AliasedTable) WhereCalc {
	names := pgNames(cr.Fields)
	c := WhereCalc{Pos: int(cr.Location), Func: fn, Tables: tables}
	if len(names) > 0 {
		c.Column = names[len(names)-1]
	}
	if len(names) > 1 {
		c.Table = names[len(names)-2]
	}
	return c
}

// starPos returns the offset of the "*" of a column reference at loc.
func (w *pgWalker) starPos(loc int) int {
	for _, t := range w.s.tokens() {
		if t.Off >= loc && w.s.Text[t.Off] == '*' {
			return t.Off
		}
	}
	return loc
}
