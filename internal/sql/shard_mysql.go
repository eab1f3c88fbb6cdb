package sql

import (
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// mysqlShardTree rewrites a MySQL-family SELECT.
type mysqlShardTree struct {
	p    *Parsed
	sel  *ast.SelectStmt
	cols []ShardColumn
	star bool
	n    int // hidden columns added
}

func newMySQLShardTree(p *Parsed) (*mysqlShardTree, error) {
	sel, ok := p.MySQL.(*ast.SelectStmt)
	if !ok {
		if _, union := p.MySQL.(*ast.SetOprStmt); union {
			return nil, shardRefuse("UNION, INTERSECT and EXCEPT: run each SELECT as its own dataset")
		}
		return nil, shardRefuse("only a SELECT runs on shards")
	}
	switch {
	case sel.Kind != ast.SelectStmtKindSelect:
		return nil, shardRefuse("only a SELECT runs on shards, not VALUES or TABLE")
	case sel.Distinct:
		return nil, shardRefuse("SELECT DISTINCT: use GROUP BY on the columns")
	case sel.Having != nil:
		return nil, shardRefuse("HAVING: its condition would apply to each shard's partial aggregates")
	case len(sel.WindowSpecs) > 0:
		return nil, shardRefuse("window functions")
	case sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone:
		return nil, shardRefuse("a locking read")
	case sel.SelectIntoOpt != nil:
		return nil, shardRefuse("SELECT ... INTO")
	case sel.GroupBy != nil && sel.GroupBy.Rollup:
		return nil, shardRefuse("WITH ROLLUP")
	}
	if err := mysqlNoNestedMerge(sel); err != nil {
		return nil, err
	}
	keepColumnNames(sel)
	t := &mysqlShardTree{p: p, sel: sel}
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			t.star = true
			continue
		}
		c := ShardColumn{Name: mysqlFieldName(f)}
		if agg, ok := f.Expr.(*ast.AggregateFuncExpr); ok {
			name, err := mysqlAgg(agg)
			if err != nil {
				return nil, err
			}
			c.Agg = name
		} else if err := mysqlNoInnerAgg(f.Expr); err != nil {
			return nil, err
		}
		t.cols = append(t.cols, c)
	}
	if w := (&windowFinder{}); mysqlWalk(sel, w) {
		return nil, shardRefuse("window functions")
	}
	return t, nil
}

// mysqlNoNestedMerge refuses a derived table, CTE or subquery of sel
// holding an aggregate, GROUP BY, HAVING, DISTINCT (UNION, INTERSECT,
// EXCEPT included), LIMIT or a window function.
func mysqlNoNestedMerge(sel *ast.SelectStmt) error {
	v := &nestedFinder{}
	sel.Accept(v)
	return v.err
}

// nestedFinder walks a statement; depth counts the SELECTs (and set
// operations) it is inside, the statement itself being 1.
type nestedFinder struct {
	depth int
	err   error
}

func (f *nestedFinder) Enter(n ast.Node) (ast.Node, bool) {
	if f.err != nil {
		return n, true
	}
	switch x := n.(type) {
	case *ast.SelectStmt:
		f.depth++
		if f.depth > 1 {
			f.err = mysqlNestedSelect(x)
		}
	case *ast.SetOprStmt:
		f.depth++
		if f.depth > 1 && x.Limit != nil {
			f.err = nestedRefuse("LIMIT")
		}
	case *ast.SetOprSelectList:
		if f.depth > 1 && x.Limit != nil {
			f.err = nestedRefuse("LIMIT")
		}
		if f.depth > 1 && x.AfterSetOperator != nil && *x.AfterSetOperator != ast.UnionAll {
			f.err = nestedRefuse(x.AfterSetOperator.String())
		}
	case *ast.AggregateFuncExpr:
		if f.depth > 1 {
			f.err = nestedRefuse("an aggregate")
		}
	case *ast.WindowFuncExpr:
		if f.depth > 1 {
			f.err = nestedRefuse("a window function")
		}
	}
	return n, f.err != nil
}

func (f *nestedFinder) Leave(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		f.depth--
	}
	return n, true
}

// mysqlNestedSelect checks a SELECT inside the statement.
func mysqlNestedSelect(s *ast.SelectStmt) error {
	switch {
	case s.Distinct:
		return nestedRefuse("DISTINCT")
	case s.GroupBy != nil:
		return nestedRefuse("GROUP BY")
	case s.Having != nil:
		return nestedRefuse("HAVING")
	case s.Limit != nil:
		return nestedRefuse("LIMIT")
	case len(s.WindowSpecs) > 0:
		return nestedRefuse("a window function")
	case s.AfterSetOperator != nil && *s.AfterSetOperator != ast.UnionAll:
		return nestedRefuse(s.AfterSetOperator.String())
	}
	return nil
}

// mysqlAgg checks an aggregate can be merged and returns its name.
func mysqlAgg(a *ast.AggregateFuncExpr) (string, error) {
	name := strings.ToLower(a.F)
	switch {
	case !mergeable[name]:
		return "", shardRefuse("the aggregate %s cannot be merged across shards (SUM, COUNT, MIN, MAX and AVG can)", strings.ToUpper(name))
	case a.Distinct:
		return "", shardRefuse("%s(DISTINCT ...): the shards' distinct values overlap", strings.ToUpper(name))
	}
	return name, nil
}

// mysqlNoInnerAgg refuses an aggregate inside an expression.
func mysqlNoInnerAgg(e ast.ExprNode) error {
	if e == nil {
		return nil
	}
	f := &aggFinder{}
	e.Accept(f)
	if f.found {
		return shardRefuse("an aggregate inside an expression: select the aggregate as a column of its own")
	}
	return nil
}

type aggFinder struct{ found bool }

func (f *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.AggregateFuncExpr:
		f.found = true
		return n, true
	case *ast.SubqueryExpr:
		return n, true // a subquery's aggregates are its own
	}
	return n, false
}
func (f *aggFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

type windowFinder struct{ found bool }

func (f *windowFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.WindowFuncExpr:
		f.found = true
		return n, true
	case *ast.SubqueryExpr, *ast.TableSource:
		return n, true // inside a subquery, a window is the shard's own
	}
	return n, false
}
func (f *windowFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func mysqlWalk(sel *ast.SelectStmt, w *windowFinder) bool {
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil {
			f.Expr.Accept(w)
		}
	}
	if sel.OrderBy != nil {
		sel.OrderBy.Accept(w)
	}
	return w.found
}

// mysqlFieldName is the column name the server gives a field (Render's
// keepColumnNames gave expressions their text as alias).
func mysqlFieldName(f *ast.SelectField) string {
	if f.AsName.O != "" {
		return f.AsName.O
	}
	switch e := f.Expr.(type) {
	case *ast.ColumnNameExpr:
		return e.Name.Name.O
	case ast.ValueExpr:
		return strings.TrimSpace(f.Text())
	}
	return mysqlText(f.Expr)
}

func mysqlText(n ast.Node) string {
	var b strings.Builder
	if err := n.Restore(format.NewRestoreCtx(restoreFlags, &b)); err != nil {
		return ""
	}
	return b.String()
}

func (t *mysqlShardTree) columns() []ShardColumn {
	if t.star {
		return nil
	}
	return t.cols
}

func (t *mysqlShardTree) groupItems() int {
	if t.sel.GroupBy == nil {
		return 0
	}
	return len(t.sel.GroupBy.Items)
}

func (t *mysqlShardTree) orderItems() ([]ShardKey, error) {
	if t.sel.OrderBy == nil {
		return nil, nil
	}
	keys := make([]ShardKey, len(t.sel.OrderBy.Items))
	for i, it := range t.sel.OrderBy.Items {
		keys[i] = ShardKey{Desc: it.Desc}
	}
	return keys, nil
}

func (t *mysqlShardTree) resolveGroup(i int) (string, error) {
	return t.resolve(t.sel.GroupBy.Items[i], "g")
}

func (t *mysqlShardTree) resolveOrder(i int) (string, error) {
	return t.resolve(t.sel.OrderBy.Items[i], "o")
}

// resolve names the column a GROUP BY / ORDER BY item refers to: a
// position, a selected column or alias, a selected expression; anything
// else is selected as a hidden column.
func (t *mysqlShardTree) resolve(it *ast.ByItem, kind string) (string, error) {
	fields := t.sel.Fields.Fields
	switch e := it.Expr.(type) {
	case *ast.PositionExpr:
		if e.P != nil || e.N < 1 || e.N > len(fields) || fields[e.N-1].WildCard != nil {
			return "", shardRefuse("a position in GROUP BY or ORDER BY that is not a named column of the select list")
		}
		return t.fieldName(e.N - 1), nil
	case *ast.ColumnNameExpr:
		name := e.Name
		for i, f := range fields {
			if f.WildCard != nil {
				continue
			}
			if name.Table.L == "" && f.AsName.L == name.Name.L {
				return t.fieldName(i), nil
			}
			if c, ok := f.Expr.(*ast.ColumnNameExpr); ok && c.Name.Name.L == name.Name.L &&
				(name.Table.L == "" || c.Name.Table.L == "" || c.Name.Table.L == name.Table.L) {
				return t.fieldName(i), nil
			}
		}
		if t.star {
			return name.Name.O, nil // a column of *
		}
	}
	text := mysqlText(it.Expr)
	for i, f := range fields {
		if f.WildCard == nil && text != "" && mysqlText(f.Expr) == text {
			return t.fieldName(i), nil
		}
	}
	if t.star {
		return "", shardRefuse("ORDER BY an expression with SELECT *: select it with an alias and order by that")
	}
	// Not selected: select it as a hidden column.
	c := ShardColumn{Hidden: true}
	if agg, ok := it.Expr.(*ast.AggregateFuncExpr); ok {
		name, err := mysqlAgg(agg)
		if err != nil {
			return "", err
		}
		c.Agg = name
	} else if err := mysqlNoInnerAgg(it.Expr); err != nil {
		return "", err
	}
	t.n++
	c.Name = hiddenName(kind, t.n)
	t.sel.Fields.Fields = append(t.sel.Fields.Fields, &ast.SelectField{Expr: it.Expr, AsName: ast.NewCIStr(c.Name)})
	t.cols = append(t.cols, c)
	return c.Name, nil
}

// fieldName is field i's column name; t.cols follows the fields (no *).
func (t *mysqlShardTree) fieldName(i int) string {
	return mysqlFieldName(t.sel.Fields.Fields[i])
}

func (t *mysqlShardTree) limit() (int64, int64, error) {
	l := t.sel.Limit
	if l == nil {
		return -1, 0, nil
	}
	count, err := mysqlInt(l.Count)
	if err != nil {
		return 0, 0, err
	}
	offset := int64(0)
	if l.Offset != nil {
		if offset, err = mysqlInt(l.Offset); err != nil {
			return 0, 0, err
		}
	}
	return count, offset, nil
}

func mysqlInt(e ast.ExprNode) (int64, error) {
	v, ok := e.(ast.ValueExpr)
	if !ok {
		return 0, shardRefuse("a LIMIT or OFFSET that is not a number (a parameter?)")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(mysqlText(v)), 10, 64)
	if err != nil || n < 0 {
		return 0, shardRefuse("LIMIT or OFFSET %q", mysqlText(v))
	}
	return n, nil
}

func (t *mysqlShardTree) rewriteAvg() error {
	if t.star {
		return nil
	}
	fields := t.sel.Fields.Fields
	for i := range t.cols {
		if t.cols[i].Agg != "avg" {
			continue
		}
		f := fields[i]
		a := f.Expr.(*ast.AggregateFuncExpr)
		f.AsName = ast.NewCIStr(t.cols[i].Name)
		f.Expr = &ast.AggregateFuncExpr{F: ast.AggFuncSum, Args: a.Args}
		t.n++
		count := hiddenName("n", t.n)
		fields = append(fields, &ast.SelectField{Expr: &ast.AggregateFuncExpr{F: ast.AggFuncCount, Args: a.Args}, AsName: ast.NewCIStr(count)})
		t.cols[i].Count = count
		t.cols = append(t.cols, ShardColumn{Name: count, Agg: "count", Hidden: true})
	}
	t.sel.Fields.Fields = fields
	return nil
}

func (t *mysqlShardTree) orderByGroup() {
	items := make([]*ast.ByItem, len(t.sel.GroupBy.Items))
	for i, g := range t.sel.GroupBy.Items {
		items[i] = &ast.ByItem{Expr: g.Expr}
	}
	t.sel.OrderBy = &ast.OrderByClause{Items: items}
}

func (t *mysqlShardTree) setLimit(n int64) {
	if n < 0 {
		t.sel.Limit = nil
		return
	}
	t.sel.Limit = &ast.Limit{Count: ast.NewValueExpr(uint64(n), "", "")}
}

func (t *mysqlShardTree) render() (string, error) { return t.p.Render() }
