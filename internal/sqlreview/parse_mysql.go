package sqlreview

import (
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/types"

	// The parser needs a value-expression driver.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// buildMySQL fills s from a MySQL-family statement's tree.
func buildMySQL(s *Stmt, p *sql.Parsed) {
	b := &mysqlBuilder{s: s, types: p.Types}
	b.build(p.MySQL)
	if p.Algorithm != "" {
		s.Algorithm = p.Algorithm
	}
}

type mysqlBuilder struct {
	s       *Stmt
	types   map[int]string
	aliases map[string]*ast.TableName // table aliases of the last DML walk
}

func tableRef(s *Stmt, tn *ast.TableName, from int) TableRef {
	if tn == nil {
		return TableRef{Pos: -1}
	}
	return TableRef{Schema: tn.Schema.O, Name: tn.Name.O, Pos: s.find(tn.Name.O, from)}
}

func (b *mysqlBuilder) build(node ast.StmtNode) {
	s := b.s
	switch x := node.(type) {
	case *ast.CreateTableStmt:
		s.Op = OpCreateTable
		s.Table = tableRef(s, x.Table, 0)
		s.IfNotExists = x.IfNotExists
		s.Create = b.createTable(x)
		if x.Select != nil {
			v := &dmlVisitor{s: s, d: &DML{}, ctes: map[string]bool{}, whereOnly: true}
			x.Select.Accept(v)
			if len(v.d.WhereCalcs) > 0 || len(v.d.EqualNull) > 0 {
				s.DML = &DML{WhereCalcs: v.d.WhereCalcs, EqualNull: v.d.EqualNull}
			}
		}
	case *ast.AlterTableStmt:
		s.Op = OpAlterTable
		s.Table = tableRef(s, x.Table, 0)
		s.Alter = b.alterTable(x)
	case *ast.CreateIndexStmt:
		s.Op = OpCreateIndex
		s.Table = tableRef(s, x.Table, 0)
		s.IfNotExists = x.IfNotExists
		ix := &Index{Name: x.IndexName, Pos: s.find(x.IndexName, 0), Columns: indexColumns(x.IndexPartSpecifications)}
		switch x.KeyType {
		case ast.IndexKeyTypeUnique:
			ix.Unique = true
		case ast.IndexKeyTypeFulltext:
			ix.Fulltext = true
		}
		s.Index = ix
		if x.LockAlg != nil {
			b.lockAlg(x.LockAlg)
		}
	case *ast.DropIndexStmt:
		s.Op = OpDropIndex
		s.Table = tableRef(s, x.Table, 0)
		s.IfExists = x.IfExists
		s.Index = &Index{Name: x.IndexName, Pos: s.find(x.IndexName, 0)}
		if x.LockAlg != nil {
			b.lockAlg(x.LockAlg)
		}
	case *ast.DropTableStmt:
		s.Op = OpDropTable
		if x.IsView {
			s.Op = OpDropView
		}
		s.IfExists = x.IfExists
		for _, t := range x.Tables {
			s.Tables = append(s.Tables, tableRef(s, t, 0))
		}
		if len(s.Tables) > 0 {
			s.Table = s.Tables[0]
		}
	case *ast.TruncateTableStmt:
		s.Op = OpTruncate
		s.Table = tableRef(s, x.Table, 0)
		s.Tables = []TableRef{s.Table}
	case *ast.RenameTableStmt:
		s.Op = OpRenameTable
		for _, tt := range x.TableToTables {
			s.Renames = append(s.Renames, Rename{From: tableRef(s, tt.OldTable, 0), To: tableRef(s, tt.NewTable, 0)})
		}
	case *ast.CreateDatabaseStmt:
		s.Op = OpCreateDatabase
		s.Database = x.Name.O
		s.IfNotExists = x.IfNotExists
		b.dbOptions(x.Options)
	case *ast.AlterDatabaseStmt:
		s.Op = OpAlterDatabase
		s.Database = x.Name.O
		b.dbOptions(x.Options)
	case *ast.DropDatabaseStmt:
		s.Op = OpDropDatabase
		s.Database = x.Name.O
		s.IfExists = x.IfExists
	case *ast.UseStmt:
		s.Op = OpUse
		s.Database = x.DBName
	case *ast.CreateViewStmt:
		s.Op = OpCreateView
		s.OrReplace = x.OrReplace
		s.Table = tableRef(s, x.ViewName, 0)
		b.dml(x.Select)
	case *ast.CreateSequenceStmt:
		s.Op = OpCreateSequence
		s.IfNotExists = x.IfNotExists
		s.Table = tableRef(s, x.Name, 0)
	case *ast.InsertStmt:
		s.Op = OpInsert
		d := b.dml(x)
		if x.Table != nil {
			if tn := firstTable(x.Table.TableRefs); tn != nil {
				s.Table = tableRef(s, tn, 0)
			}
		}
		for _, c := range x.Columns {
			d.InsertColumns = append(d.InsertColumns, c.Name.O)
		}
		d.InsertSelect = x.Select != nil
		switch sel := x.Select.(type) {
		case *ast.SelectStmt:
			d.HasLimit = sel.Limit != nil
		case *ast.SetOprStmt:
			d.HasLimit = sel.Limit != nil
		}
		d.InsertNoColumns = len(x.Columns) == 0 && !x.Setlist
	case *ast.UpdateStmt:
		s.Op = OpUpdate
		d := b.dml(x)
		if x.TableRefs != nil {
			if tn := firstTable(x.TableRefs.TableRefs); tn != nil {
				s.Table = tableRef(s, tn, 0)
			}
		}
		for _, a := range x.List {
			d.SetColumns = append(d.SetColumns, a.Column.Name.O)
		}
		d.HasWhere = x.Where != nil
		d.AlwaysTrue = constTrue(x.Where)
		d.HasLimit = x.Limit != nil
		d.HasOrderBy = x.Order != nil
	case *ast.DeleteStmt:
		s.Op = OpDelete
		d := b.dml(x)
		if x.IsMultiTable && x.Tables != nil && len(x.Tables.Tables) > 0 {
			tn := x.Tables.Tables[0]
			if real, ok := b.aliases[tn.Name.L]; ok && tn.Schema.L == "" {
				tn = real
			}
			s.Table = tableRef(s, tn, 0)
		} else if x.TableRefs != nil {
			if tn := firstTable(x.TableRefs.TableRefs); tn != nil {
				s.Table = tableRef(s, tn, 0)
			}
		}
		d.HasWhere = x.Where != nil
		d.AlwaysTrue = constTrue(x.Where)
		d.HasLimit = x.Limit != nil
		d.HasOrderBy = x.Order != nil
	case *ast.SelectStmt, *ast.SetOprStmt:
		s.Op = OpSelect
		b.dml(x)
	case *ast.SetStmt:
		for _, v := range x.Variables {
			if n := strings.ToLower(v.Name); n == "default_storage_engine" || n == "storage_engine" {
				switch e := v.Value.(type) {
				case *ast.ColumnNameExpr:
					s.DefaultEngine = e.Name.Name.O
				case ast.ValueExpr:
					s.DefaultEngine = e.GetString()
				}
			}
		}
	}
}

func (b *mysqlBuilder) lockAlg(la *ast.IndexLockAndAlgorithm) {
	if la.AlgorithmTp != ast.AlgorithmTypeDefault {
		b.s.Algorithm = la.AlgorithmTp.String()
	}
	if la.LockTp != ast.LockTypeDefault && la.LockTp != 0 {
		b.s.Lock = la.LockTp.String()
	}
}

func (b *mysqlBuilder) dbOptions(opts []*ast.DatabaseOption) {
	for _, o := range opts {
		switch o.Tp {
		case ast.DatabaseOptionCharset:
			b.s.Charset = o.Value
		case ast.DatabaseOptionCollate:
			b.s.Collate = o.Value
		}
	}
}

func firstTable(rs ast.ResultSetNode) *ast.TableName {
	switch x := rs.(type) {
	case *ast.Join:
		if t := firstTable(x.Left); t != nil {
			return t
		}
		if x.Right != nil {
			return firstTable(x.Right)
		}
	case *ast.TableSource:
		if tn, ok := x.Source.(*ast.TableName); ok {
			return tn
		}
	case *ast.TableName:
		return x
	}
	return nil
}

func indexColumns(parts []*ast.IndexPartSpecification) []string {
	var out []string
	for _, p := range parts {
		switch {
		case p.Column != nil:
			out = append(out, p.Column.Name.L)
		case p.Expr != nil:
			var sb strings.Builder
			if err := p.Expr.Restore(newRestoreCtx(&sb)); err == nil {
				out = append(out, "("+strings.ToLower(sb.String())+")")
			} else {
				out = append(out, "(expr)")
			}
		}
	}
	return out
}

var nowFuncs = map[string]bool{"current_timestamp": true, "now": true, "localtime": true, "localtimestamp": true, "sysdate": true, "utc_timestamp": true}

func (b *mysqlBuilder) column(cd *ast.ColumnDef, from int) *Column {
	s := b.s
	ft := cd.Tp
	c := &Column{Name: cd.Name.Name.O, Pos: s.find(cd.Name.Name.O, from), Length: -1}
	if ft != nil {
		c.Type = types.TypeToStr(ft.GetType(), ft.GetCharset())
		if c.Type == "" {
			c.Type = "unknown"
		}
		c.Length = ft.GetFlen()
		c.Scale = ft.GetDecimal()
		c.Unsigned = mysql.HasUnsignedFlag(ft.GetFlag())
		if cs := ft.GetCharset(); cs != "binary" {
			c.Charset = cs
		}
		c.Collate = ft.GetCollate()
		c.FullType = strings.ToLower(ft.CompactStr())
		if c.Unsigned && !strings.Contains(c.FullType, "unsigned") {
			c.FullType += " unsigned"
		}
	}
	if orig, ok := b.typeAfter(c.Pos); ok {
		c.Type, c.FullType, c.Length = orig, orig, -1
	}
	for _, o := range cd.Options {
		switch o.Tp {
		case ast.ColumnOptionPrimaryKey:
			c.PrimaryKey, c.NotNull = true, true
		case ast.ColumnOptionNotNull:
			c.NotNull = true
		case ast.ColumnOptionNull:
			c.NotNull = false
		case ast.ColumnOptionAutoIncrement:
			c.AutoIncr = true
		case ast.ColumnOptionDefaultValue:
			c.Default = true
			switch e := o.Expr.(type) {
			case ast.ValueExpr:
				c.DefaultNull = e.GetValue() == nil
			case *ast.FuncCallExpr:
				c.DefaultNow = nowFuncs[e.FnName.L]
			}
		case ast.ColumnOptionOnUpdate:
			if f, ok := o.Expr.(*ast.FuncCallExpr); ok && nowFuncs[f.FnName.L] {
				c.OnUpdateNow = true
			}
		case ast.ColumnOptionUniqKey:
			c.Unique = true
		case ast.ColumnOptionComment:
			c.HasComment = true
			if v, ok := o.Expr.(ast.ValueExpr); ok {
				c.Comment = v.GetString()
			}
		case ast.ColumnOptionGenerated:
			c.Generated = true
		case ast.ColumnOptionReference:
			if o.Refer != nil && o.Refer.Table != nil {
				r := tableRef(s, o.Refer.Table, c.Pos)
				c.References = &r
			}
		case ast.ColumnOptionCollate:
			c.Collate = o.StrValue
		}
	}
	return c
}

// typeAfter returns the MariaDB type a column's type was normalised from.
func (b *mysqlBuilder) typeAfter(namePos int) (string, bool) {
	if len(b.types) == 0 || namePos < 0 {
		return "", false
	}
	for _, t := range b.s.tokens() {
		if t.Off > namePos {
			orig, ok := b.types[t.Off]
			return orig, ok
		}
	}
	return "", false
}

func (b *mysqlBuilder) constraint(c *ast.Constraint, from int) (*Index, *ForeignKey) {
	s := b.s
	pos := s.find(c.Name, from)
	switch c.Tp {
	case ast.ConstraintPrimaryKey:
		if pos < 0 {
			pos = s.findWord("PRIMARY", from)
		}
		return &Index{Name: "PRIMARY", Pos: pos, Columns: indexColumns(c.Keys), Primary: true, Unique: true}, nil
	case ast.ConstraintKey, ast.ConstraintIndex:
		return &Index{Name: c.Name, Pos: pos, Columns: indexColumns(c.Keys)}, nil
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		return &Index{Name: c.Name, Pos: pos, Columns: indexColumns(c.Keys), Unique: true}, nil
	case ast.ConstraintFulltext:
		return &Index{Name: c.Name, Pos: pos, Columns: indexColumns(c.Keys), Fulltext: true}, nil
	case ast.ConstraintForeignKey:
		if pos < 0 {
			pos = s.findWord("FOREIGN", from)
		}
		fk := &ForeignKey{Name: c.Name, Pos: pos, Columns: indexColumns(c.Keys)}
		if c.Refer != nil {
			fk.Ref = tableRef(s, c.Refer.Table, from)
			fk.OnDeleteCascade = c.Refer.OnDelete != nil && c.Refer.OnDelete.ReferOpt == ast.ReferOptionCascade
		}
		return nil, fk
	}
	return nil, nil
}

func (b *mysqlBuilder) createTable(x *ast.CreateTableStmt) *CreateTable {
	s := b.s
	ct := &CreateTable{Like: x.ReferTable != nil, AsSelect: x.Select != nil, Temporary: x.TemporaryKeyword != ast.TemporaryNone}
	from := s.Table.Pos
	for _, cd := range x.Cols {
		c := b.column(cd, from)
		if c.Pos >= 0 {
			from = c.Pos + 1
		}
		ct.Columns = append(ct.Columns, c)
		if c.PrimaryKey {
			ct.Indexes = append(ct.Indexes, &Index{Name: "PRIMARY", Pos: c.Pos, Columns: []string{strings.ToLower(c.Name)}, Primary: true, Unique: true})
		} else if c.Unique {
			ct.Indexes = append(ct.Indexes, &Index{Name: c.Name, Pos: c.Pos, Columns: []string{strings.ToLower(c.Name)}, Unique: true})
		}
		if c.References != nil {
			ct.ForeignKeys = append(ct.ForeignKeys, &ForeignKey{Pos: c.Pos, Columns: []string{strings.ToLower(c.Name)}, Ref: *c.References})
		}
	}
	for _, c := range x.Constraints {
		ix, fk := b.constraint(c, from)
		if ix != nil {
			ct.Indexes = append(ct.Indexes, ix)
		}
		if fk != nil {
			ct.ForeignKeys = append(ct.ForeignKeys, fk)
		}
	}
	for _, o := range x.Options {
		switch o.Tp {
		case ast.TableOptionEngine:
			ct.Engine = o.StrValue
		case ast.TableOptionCharset:
			ct.Charset = o.StrValue
		case ast.TableOptionCollate:
			ct.Collate = o.StrValue
		case ast.TableOptionComment:
			ct.Comment, ct.HasComment = o.StrValue, true
		}
	}
	if x.Partition != nil {
		ct.Partitioned = true
		ct.PartPos = s.findWord("PARTITION", 0)
	}
	return ct
}

func (b *mysqlBuilder) alterTable(x *ast.AlterTableStmt) *AlterTable {
	s := b.s
	at := &AlterTable{}
	from := s.Table.Pos + 1
	add := func(a *Action) {
		if a.Pos < 0 {
			a.Pos = s.Table.Pos
		}
		at.Actions = append(at.Actions, a)
	}
	for _, sp := range x.Specs {
		switch sp.Tp {
		case ast.AlterTableOption:
			a := &Action{Kind: ActOptions, Pos: -1}
			for _, o := range sp.Options {
				switch o.Tp {
				case ast.TableOptionEngine:
					a.Engine = o.StrValue
					a.Pos = s.findWord("ENGINE", from)
				case ast.TableOptionCharset:
					a.Charset = o.StrValue
					if o.UintValue == ast.TableOptionCharsetWithConvertTo {
						a.Kind = ActConvertCharset
					}
				case ast.TableOptionCollate:
					a.Collate = o.StrValue
				case ast.TableOptionComment:
					a.Comment, a.HasComment = o.StrValue, true
				}
			}
			add(a)
		case ast.AlterTableAddColumns:
			for _, cd := range sp.NewColumns {
				c := b.column(cd, from)
				c.Position = position(sp.Position)
				add(&Action{Kind: ActAddColumn, Pos: c.Pos, Column: c, IfNotExists: sp.IfNotExists})
			}
			for _, cons := range sp.NewConstraints {
				if ix, _ := b.constraint(cons, from); ix != nil {
					add(&Action{Kind: ActAddIndex, Pos: ix.Pos, Index: ix})
				}
			}
		case ast.AlterTableAddConstraint:
			c := sp.Constraint
			if c == nil {
				continue
			}
			if c.Tp == ast.ConstraintCheck {
				add(&Action{Kind: ActAddCheck, Pos: s.findWord("CHECK", from)})
				continue
			}
			ix, fk := b.constraint(c, from)
			switch {
			case ix != nil:
				add(&Action{Kind: ActAddIndex, Pos: ix.Pos, Index: ix, IfNotExists: c.IfNotExists})
			case fk != nil:
				add(&Action{Kind: ActAddForeignKey, Pos: fk.Pos, ForeignKey: fk})
			}
		case ast.AlterTableDropColumn:
			name := sp.OldColumnName.Name.O
			add(&Action{Kind: ActDropColumn, Pos: s.find(name, from), Name: name, IfExists: sp.IfExists})
		case ast.AlterTableDropPrimaryKey:
			add(&Action{Kind: ActDropPrimaryKey, Pos: s.findWord("PRIMARY", from)})
		case ast.AlterTableDropIndex:
			add(&Action{Kind: ActDropIndex, Pos: s.find(sp.Name, from), Name: sp.Name, IfExists: sp.IfExists})
		case ast.AlterTableDropForeignKey:
			add(&Action{Kind: ActDropForeignKey, Pos: s.find(sp.Name, from), Name: sp.Name})
		case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
			if len(sp.NewColumns) == 0 {
				continue
			}
			name := sp.NewColumns[0].Name.Name.O
			if sp.OldColumnName != nil {
				name = sp.OldColumnName.Name.O
			}
			pos := s.find(name, from)
			c := b.column(sp.NewColumns[0], max(pos+1, from))
			c.Position = position(sp.Position)
			a := &Action{Kind: ActModifyColumn, Pos: pos, Name: name, Column: c, IfExists: sp.IfExists}
			if !strings.EqualFold(name, c.Name) {
				a.NewName = c.Name
			}
			add(a)
		case ast.AlterTableRenameColumn:
			old := sp.OldColumnName.Name.O
			add(&Action{Kind: ActRenameColumn, Pos: s.find(old, from), Name: old, NewName: sp.NewColumnName.Name.O})
		case ast.AlterTableRenameTable:
			r := tableRef(s, sp.NewTable, from)
			add(&Action{Kind: ActRenameTable, Pos: r.Pos, NewTable: &r})
		case ast.AlterTableAlterColumn:
			if len(sp.NewColumns) == 0 {
				continue
			}
			name := sp.NewColumns[0].Name.Name.O
			kind := ActDropDefault
			for _, o := range sp.NewColumns[0].Options {
				if o.Tp == ast.ColumnOptionDefaultValue {
					kind = ActSetDefault
				}
			}
			add(&Action{Kind: kind, Pos: s.find(name, from), Name: name})
		case ast.AlterTableLock:
			s.Lock = sp.LockType.String()
		case ast.AlterTableAlgorithm:
			s.Algorithm = sp.Algorithm.String()
		case ast.AlterTableRenameIndex:
			add(&Action{Kind: ActRenameIndex, Pos: s.find(sp.FromKey.O, from), Name: sp.FromKey.O, NewName: sp.ToKey.O})
		case ast.AlterTableForce:
			add(&Action{Kind: ActRebuild, Pos: s.findWord("FORCE", from)})
		case ast.AlterTablePartition:
			add(&Action{Kind: ActPartition, Pos: s.findWord("PARTITION", from), Name: "partition by"})
		case ast.AlterTableDropPartition:
			add(&Action{Kind: ActPartition, Pos: s.findWord("DROP", from), Name: partitionDrop})
		case ast.AlterTableTruncatePartition:
			add(&Action{Kind: ActPartition, Pos: s.findWord("TRUNCATE", from), Name: partitionTruncate})
		case ast.AlterTableAddPartitions, ast.AlterTableCoalescePartitions, ast.AlterTableRemovePartitioning,
			ast.AlterTableRebuildPartition, ast.AlterTableReorganizePartition, ast.AlterTableExchangePartition,
			ast.AlterTableOptimizePartition, ast.AlterTableRepairPartition, ast.AlterTableCheckPartitions:
			add(&Action{Kind: ActPartition, Pos: s.findWord("PARTITION", from)})
		case ast.AlterTableDropCheck:
			add(&Action{Kind: ActDropConstraint, Pos: s.find(sp.Constraint.Name, from), Name: sp.Constraint.Name})
		default:
			add(&Action{Kind: ActOther, Pos: -1})
		}
	}
	return at
}

func position(p *ast.ColumnPosition) string {
	if p == nil {
		return ""
	}
	switch p.Tp {
	case ast.ColumnPositionFirst:
		return "FIRST"
	case ast.ColumnPositionAfter:
		if p.RelativeColumn != nil {
			return "AFTER " + p.RelativeColumn.Name.O
		}
	}
	return ""
}

// constTrue reports whether a WHERE condition is a constant truth:
// WHERE 1, WHERE TRUE, WHERE 1 = 1, WHERE 'a' = 'a'.
func constTrue(e ast.ExprNode) bool {
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		return constTrue(x.Expr)
	case ast.ValueExpr:
		switch v := x.GetValue().(type) {
		case int64:
			return v != 0
		case uint64:
			return v != 0
		}
	case *ast.BinaryOperationExpr:
		l, lok := x.L.(ast.ValueExpr)
		r, rok := x.R.(ast.ValueExpr)
		if lok && rok && x.Op == opcode.EQ && l.GetValue() != nil {
			return fmt.Sprint(l.GetValue()) == fmt.Sprint(r.GetValue())
		}
		if x.Op == opcode.LogicOr {
			return constTrue(x.L) || constTrue(x.R)
		}
	}
	return false
}

// dml walks a DML or query statement for what rules look at.
func (b *mysqlBuilder) dml(node ast.Node) *DML {
	s := b.s
	if s.DML == nil {
		s.DML = &DML{}
	}
	v := &dmlVisitor{s: s, d: s.DML, ctes: map[string]bool{}}
	node.Accept(v)
	b.aliases = v.aliases
	return s.DML
}

type dmlVisitor struct {
	s        *Stmt
	d        *DML
	ctes     map[string]bool
	exists   int
	likeFrom int
	randFrom int
	starFrom int
	nullFrom int
	calcFrom int
	// scopes are the tables visible in each enclosing query block.
	scopes [][]AliasedTable
	// whereOnly records only WHERE facts (CREATE TABLE ... AS SELECT).
	whereOnly bool
	seen      map[string]bool
	aliases   map[string]*ast.TableName
}

func (v *dmlVisitor) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.WithClause:
		for _, c := range x.CTEs {
			v.ctes[c.Name.L] = true
		}
	case *ast.ExistsSubqueryExpr:
		v.exists++
	case *ast.SelectStmt:
		var from *ast.Join
		if x.From != nil {
			from = x.From.TableRefs
		}
		v.where(x.Where, from)
	case *ast.UpdateStmt:
		if x.TableRefs != nil {
			v.where(x.Where, x.TableRefs.TableRefs)
		}
	case *ast.DeleteStmt:
		if x.TableRefs != nil {
			v.where(x.Where, x.TableRefs.TableRefs)
		}
	}
	if v.whereOnly {
		return n, false
	}
	switch x := n.(type) {
	case *ast.SelectField:
		if x.WildCard != nil && v.exists == 0 {
			pos := v.starAt()
			v.d.SelectStar = append(v.d.SelectStar, pos)
		}
	case *ast.OrderByClause:
		for _, it := range x.Items {
			if f, ok := it.Expr.(*ast.FuncCallExpr); ok && (f.FnName.L == "rand" || f.FnName.L == "uuid") {
				pos := v.s.findWord(f.FnName.O, v.randFrom)
				if pos >= 0 {
					v.randFrom = pos + 1
				}
				v.d.OrderByRand = append(v.d.OrderByRand, pos)
			}
		}
	case *ast.PatternLikeOrIlikeExpr:
		if ve, ok := x.Pattern.(ast.ValueExpr); ok && !x.Not {
			if p, ok := ve.GetValue().(string); ok && (strings.HasPrefix(p, "%") || strings.HasPrefix(p, "_")) {
				pos := v.likeAt()
				v.d.LeadingLike = append(v.d.LeadingLike, Like{Pos: pos, Pattern: p})
			}
		}
	case *ast.TableSource:
		x2, ok := x.Source.(*ast.TableName)
		if !ok || (x2.Schema.L == "" && v.ctes[x2.Name.L]) {
			break
		}
		if x.AsName.L != "" {
			if v.aliases == nil {
				v.aliases = map[string]*ast.TableName{}
			}
			v.aliases[x.AsName.L] = x2
		}
		key := x2.Schema.L + "." + x2.Name.L
		if v.seen == nil {
			v.seen = map[string]bool{}
		}
		if !v.seen[key] {
			v.seen[key] = true
			v.s.Tables = append(v.s.Tables, tableRef(v.s, x2, 0))
		}
	}
	return n, false
}

func (v *dmlVisitor) Leave(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.ExistsSubqueryExpr:
		v.exists--
	case *ast.SelectStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		v.scopes = v.scopes[:len(v.scopes)-1]
	}
	return n, true
}

// where records the columns a WHERE condition wraps in functions or
// arithmetic, and its comparisons with NULL; subqueries are left to the
// walk that reaches their own query block.
// The query block's tables come first, then those of the enclosing
// blocks (a correlated subquery may name them).
func (v *dmlVisitor) where(cond ast.ExprNode, from *ast.Join) {
	var tables []AliasedTable
	if from != nil {
		v.collectTables(from, &tables)
	}
	for i := range tables {
		tables[i].Depth = len(v.scopes)
	}
	if len(v.scopes) > 0 {
		tables = append(tables, v.scopes[len(v.scopes)-1]...)
	}
	v.scopes = append(v.scopes, tables)
	if cond == nil {
		return
	}
	w := &whereVisitor{v: v, tables: tables}
	cond.Accept(w)
}

func (v *dmlVisitor) collectTables(rs ast.ResultSetNode, out *[]AliasedTable) {
	switch x := rs.(type) {
	case *ast.Join:
		v.collectTables(x.Left, out)
		if x.Right != nil {
			v.collectTables(x.Right, out)
		}
	case *ast.TableSource:
		tn, ok := x.Source.(*ast.TableName)
		switch {
		case ok && !(tn.Schema.L == "" && v.ctes[tn.Name.L]):
			*out = append(*out, AliasedTable{Ref: tableRef(v.s, tn, 0), Alias: x.AsName.O})
		case ok: // a CTE
			*out = append(*out, AliasedTable{Ref: TableRef{Name: tn.Name.O, Pos: -1}, Alias: x.AsName.O, Opaque: true})
		default: // a derived table
			*out = append(*out, AliasedTable{Ref: TableRef{Pos: -1}, Alias: x.AsName.O, Opaque: true})
		}
	}
}

type whereVisitor struct {
	v      *dmlVisitor
	tables []AliasedTable
}

var arithmetic = map[opcode.Op]bool{opcode.Plus: true, opcode.Minus: true, opcode.Mul: true, opcode.Div: true, opcode.IntDiv: true, opcode.Mod: true}

func (w *whereVisitor) Enter(n ast.Node) (ast.Node, bool) {
	d := w.v.d
	switch x := n.(type) {
	case *ast.SubqueryExpr:
		return n, true
	case *ast.BinaryOperationExpr:
		if (x.Op == opcode.EQ || x.Op == opcode.NE) && (isNullValue(x.L) || isNullValue(x.R)) {
			d.EqualNull = append(d.EqualNull, w.v.nextWord("NULL", &w.v.nullFrom))
		}
		if arithmetic[x.Op] {
			if col := firstColumn(x); col != nil {
				d.WhereCalcs = append(d.WhereCalcs, WhereCalc{Pos: w.v.nextWord(col.Name.Name.O, &w.v.calcFrom), Table: col.Name.Table.O, Column: col.Name.Name.O, Tables: w.tables})
				return n, true
			}
		}
	case *ast.FuncCallExpr, *ast.FuncCastExpr:
		name := ""
		if f, ok := x.(*ast.FuncCallExpr); ok {
			name = f.FnName.O
		} else {
			name = "CAST"
		}
		if col := firstColumn(n); col != nil {
			d.WhereCalcs = append(d.WhereCalcs, WhereCalc{Pos: w.v.nextWord(name, &w.v.calcFrom), Table: col.Name.Table.O, Column: col.Name.Name.O, Func: strings.ToUpper(name), Tables: w.tables})
			return n, true
		}
	}
	return n, false
}

func (w *whereVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func isNullValue(e ast.ExprNode) bool {
	v, ok := e.(ast.ValueExpr)
	return ok && v.GetValue() == nil
}

// firstColumn returns the first column an expression reads outside
// subqueries, nil when none.
func firstColumn(n ast.Node) *ast.ColumnNameExpr {
	f := &columnFinder{}
	n.Accept(f)
	return f.col
}

type columnFinder struct{ col *ast.ColumnNameExpr }

func (f *columnFinder) Enter(n ast.Node) (ast.Node, bool) {
	if f.col != nil {
		return n, true
	}
	switch x := n.(type) {
	case *ast.SubqueryExpr:
		return n, true
	case *ast.ColumnNameExpr:
		f.col = x
		return n, true
	}
	return n, false
}

func (f *columnFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// nextWord returns the offset of the next word w at or after *from and
// moves *from past it; -1 when there is none.
func (v *dmlVisitor) nextWord(w string, from *int) int {
	pos := v.s.find(w, *from)
	if pos < 0 {
		pos = v.s.findWord(w, *from)
	}
	if pos >= 0 {
		*from = pos + 1
	}
	return pos
}

// starAt finds the next "*" that follows SELECT, "," or "." in the text.
func (v *dmlVisitor) starAt() int {
	toks := v.s.tokens()
	for i, t := range toks {
		if t.Off < v.starFrom || t.Kind != sql.Punct || v.s.Text[t.Off] != '*' || i == 0 {
			continue
		}
		p := toks[i-1]
		if p.Is(v.s.Text, "SELECT") || p.Is(v.s.Text, "DISTINCT") || p.Is(v.s.Text, "ALL") || (p.Kind == sql.Punct && (v.s.Text[p.Off] == ',' || v.s.Text[p.Off] == '.')) {
			v.starFrom = t.End
			return t.Off
		}
	}
	return -1
}

// likeAt finds the next LIKE followed by a pattern starting with a wildcard.
func (v *dmlVisitor) likeAt() int {
	toks := v.s.tokens()
	for i, t := range toks {
		if t.Off < v.likeFrom || i+1 >= len(toks) || !(t.Is(v.s.Text, "LIKE") || t.Is(v.s.Text, "ILIKE")) {
			continue
		}
		p := toks[i+1]
		if p.Kind == sql.Word && strings.HasPrefix(p.Text(v.s.Text), "_") && i+2 < len(toks) {
			p = toks[i+2] // a charset introducer: _utf8mb4'%x'
		}
		if txt := p.Text(v.s.Text); p.Kind == sql.String && len(txt) > 1 && (txt[1] == '%' || txt[1] == '_') {
			v.likeFrom = p.End
			return p.Off
		}
	}
	return -1
}

func newRestoreCtx(sb *strings.Builder) *format.RestoreCtx {
	return format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordLowercase|format.RestoreNameBackQuotes, sb)
}
