package sql

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
)

// pgAggregates are PostgreSQL's built-in aggregates besides the mergeable
// ones: selected, they would be read as plain columns, so they are refused.
var pgAggregates = map[string]bool{
	"array_agg": true, "string_agg": true, "bool_and": true, "bool_or": true, "every": true,
	"bit_and": true, "bit_or": true, "bit_xor": true, "json_agg": true, "jsonb_agg": true,
	"json_object_agg": true, "jsonb_object_agg": true, "xmlagg": true, "stddev": true,
	"stddev_pop": true, "stddev_samp": true, "variance": true, "var_pop": true, "var_samp": true,
	"corr": true, "covar_pop": true, "covar_samp": true, "regr_avgx": true, "regr_avgy": true,
	"regr_count": true, "regr_intercept": true, "regr_r2": true, "regr_slope": true,
	"regr_sxx": true, "regr_sxy": true, "regr_syy": true, "mode": true, "percentile_cont": true,
	"percentile_disc": true, "rank": true, "dense_rank": true, "percent_rank": true,
	"cume_dist": true, "any_value": true, "range_agg": true, "range_intersect_agg": true,
	"json_agg_strict": true, "json_objectagg": true, "json_arrayagg": true,
}

// pgShardTree rewrites a PostgreSQL SELECT.
type pgShardTree struct {
	p    *Parsed
	sel  *pg.SelectStmt
	cols []ShardColumn
	star bool
	n    int
}

func newPGShardTree(p *Parsed) (*pgShardTree, error) {
	sel := p.PG.GetSelectStmt()
	switch {
	case sel == nil:
		return nil, shardRefuse("only a SELECT runs on shards")
	case sel.Op != pg.SetOperation_SETOP_NONE:
		return nil, shardRefuse("UNION, INTERSECT and EXCEPT: run each SELECT as its own dataset")
	case len(sel.ValuesLists) > 0:
		return nil, shardRefuse("only a SELECT runs on shards, not VALUES")
	case len(sel.DistinctClause) > 0:
		return nil, shardRefuse("SELECT DISTINCT: use GROUP BY on the columns")
	case sel.HavingClause != nil:
		return nil, shardRefuse("HAVING: its condition would apply to each shard's partial aggregates")
	case len(sel.WindowClause) > 0:
		return nil, shardRefuse("window functions")
	case len(sel.LockingClause) > 0:
		return nil, shardRefuse("a locking read")
	case sel.IntoClause != nil:
		return nil, shardRefuse("SELECT ... INTO")
	case sel.GroupDistinct:
		return nil, shardRefuse("GROUP BY DISTINCT")
	case sel.LimitOption == pg.LimitOption_LIMIT_OPTION_WITH_TIES:
		return nil, shardRefuse("FETCH ... WITH TIES")
	}
	for _, g := range sel.GroupClause {
		if g.GetGroupingSet() != nil {
			return nil, shardRefuse("ROLLUP, CUBE and GROUPING SETS")
		}
	}
	if err := pgNoNestedMerge(sel); err != nil {
		return nil, err
	}
	t := &pgShardTree{p: p, sel: sel}
	for _, n := range sel.TargetList {
		rt := n.GetResTarget()
		if cr := rt.GetVal().GetColumnRef(); cr != nil && len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil {
			t.star = true
			continue
		}
		c := ShardColumn{Name: pgColumnName(rt)}
		agg, err := pgAgg(rt.GetVal())
		if err != nil {
			return nil, err
		}
		if agg != "" {
			c.Agg = agg
		} else if err := pgNoInnerAgg(rt.GetVal()); err != nil {
			return nil, err
		}
		t.cols = append(t.cols, c)
	}
	for _, s := range sel.SortClause {
		if err := pgNoWindow(s); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// pgNoNestedMerge refuses a derived table, CTE or subquery of sel
// holding an aggregate, GROUP BY, HAVING, DISTINCT (UNION, INTERSECT,
// EXCEPT included), LIMIT or a window function.
func pgNoNestedMerge(sel *pg.SelectStmt) error {
	var err error
	WalkPGChildren(sel, "", func(m proto.Message) bool {
		if err != nil {
			return false
		}
		switch x := m.(type) {
		case *pg.SubLink:
			err = pgNestedCheck(x)
			return false
		case *pg.RangeSubselect:
			err = pgNestedCheck(x)
			return false
		case *pg.CommonTableExpr:
			err = pgNestedCheck(x)
			return false
		}
		return true
	})
	return err
}

// pgNestedCheck checks everything inside a nested query.
func pgNestedCheck(n proto.Message) error {
	var err error
	WalkPG(n, func(m proto.Message) bool {
		if err != nil {
			return false
		}
		switch x := m.(type) {
		case *pg.SelectStmt:
			switch {
			case len(x.DistinctClause) > 0:
				err = nestedRefuse("DISTINCT")
			case len(x.GroupClause) > 0:
				err = nestedRefuse("GROUP BY")
			case x.HavingClause != nil:
				err = nestedRefuse("HAVING")
			case x.LimitCount != nil || x.LimitOffset != nil:
				err = nestedRefuse("LIMIT")
			case len(x.WindowClause) > 0:
				err = nestedRefuse("a window function")
			case x.Op != pg.SetOperation_SETOP_NONE && (x.Op != pg.SetOperation_SETOP_UNION || !x.All):
				err = nestedRefuse(strings.TrimPrefix(x.Op.String(), "SETOP_"))
			}
		case *pg.FuncCall:
			name := pgFuncName(x)
			switch {
			case x.Over != nil:
				err = nestedRefuse("a window function")
			case mergeable[name] || pgAggregates[name] || x.AggFilter != nil || x.AggStar || x.AggDistinct || x.AggWithinGroup || len(x.AggOrder) > 0:
				err = nestedRefuse("an aggregate")
			}
		}
		return err == nil
	})
	return err
}

// pgFuncName is a function call's name, lower case, without schema.
func pgFuncName(fc *pg.FuncCall) string {
	if len(fc.Funcname) == 0 {
		return ""
	}
	return strings.ToLower(fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval())
}

// pgAgg returns the mergeable aggregate n is ("" for none), refusing the
// forms that cannot be merged.
func pgAgg(n *pg.Node) (string, error) {
	fc := n.GetFuncCall()
	if fc == nil {
		return "", nil
	}
	name := pgFuncName(fc)
	switch {
	case fc.Over != nil:
		return "", shardRefuse("window functions")
	case pgAggregates[name]:
		return "", shardRefuse("the aggregate %s cannot be merged across shards (SUM, COUNT, MIN, MAX and AVG can)", strings.ToUpper(name))
	case !mergeable[name]:
		return "", nil
	case fc.AggDistinct:
		return "", shardRefuse("%s(DISTINCT ...): the shards' distinct values overlap", strings.ToUpper(name))
	case fc.AggFilter != nil || len(fc.AggOrder) > 0 || fc.AggWithinGroup:
		return "", shardRefuse("%s with FILTER, ORDER BY or WITHIN GROUP", strings.ToUpper(name))
	}
	return name, nil
}

// pgNoInnerAgg refuses an aggregate or a window inside an expression
// (not counting subqueries).
func pgNoInnerAgg(n *pg.Node) error {
	var err error
	WalkPG(n, func(m proto.Message) bool {
		if err != nil {
			return false
		}
		switch x := m.(type) {
		case *pg.SubLink:
			return false
		case *pg.FuncCall:
			name := pgFuncName(x)
			switch {
			case x.Over != nil:
				err = shardRefuse("window functions")
			case mergeable[name] || pgAggregates[name]:
				err = shardRefuse("an aggregate inside an expression: select the aggregate as a column of its own")
			}
		}
		return true
	})
	return err
}

func pgNoWindow(n *pg.Node) error {
	var err error
	WalkPG(n, func(m proto.Message) bool {
		if x, ok := m.(*pg.FuncCall); ok && x.Over != nil {
			err = shardRefuse("window functions")
		}
		_, sub := m.(*pg.SubLink)
		return err == nil && !sub
	})
	return err
}

// pgColumnName is the name PostgreSQL gives a result column (its
// FigureColname, for the common cases).
func pgColumnName(rt *pg.ResTarget) string {
	if rt.Name != "" {
		return rt.Name
	}
	return pgFigureName(rt.GetVal())
}

func pgFigureName(n *pg.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		f := n.GetColumnRef().Fields
		if len(f) > 0 {
			if s := f[len(f)-1].GetString_(); s != nil {
				return s.Sval
			}
		}
	case n.GetFuncCall() != nil:
		return pgFuncName(n.GetFuncCall())
	case n.GetTypeCast() != nil:
		if name := pgFigureName(n.GetTypeCast().Arg); name != "?column?" {
			return name
		}
		tn := n.GetTypeCast().GetTypeName().GetNames()
		if len(tn) > 0 {
			return tn[len(tn)-1].GetString_().GetSval()
		}
	case n.GetCaseExpr() != nil:
		return "case"
	case n.GetCoalesceExpr() != nil:
		return "coalesce"
	}
	return "?column?"
}

// text is an expression's deparsed text (for comparing expressions).
func (t *pgShardTree) text(n *pg.Node) string {
	tree := &pg.ParseResult{Version: t.p.pgTree.GetVersion(), Stmts: []*pg.RawStmt{{Stmt: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: &pg.SelectStmt{
		TargetList: []*pg.Node{pg.MakeResTargetNodeWithVal(n, -1)},
	}}}}}}
	out, err := pg.Deparse(tree)
	if err != nil {
		return ""
	}
	return out
}

func (t *pgShardTree) columns() []ShardColumn {
	if t.star {
		return nil
	}
	return t.cols
}

func (t *pgShardTree) groupItems() int { return len(t.sel.GroupClause) }

func (t *pgShardTree) orderItems() ([]ShardKey, error) {
	keys := make([]ShardKey, len(t.sel.SortClause))
	for i, n := range t.sel.SortClause {
		s := n.GetSortBy()
		switch s.SortbyDir {
		case pg.SortByDir_SORTBY_DESC:
			keys[i].Desc = true
		case pg.SortByDir_SORTBY_USING:
			return nil, shardRefuse("ORDER BY ... USING")
		}
		switch s.SortbyNulls {
		case pg.SortByNulls_SORTBY_NULLS_FIRST:
			keys[i].Nulls = "first"
		case pg.SortByNulls_SORTBY_NULLS_LAST:
			keys[i].Nulls = "last"
		}
	}
	return keys, nil
}

func (t *pgShardTree) resolveGroup(i int) (string, error) {
	return t.resolve(t.sel.GroupClause[i], "g")
}

func (t *pgShardTree) resolveOrder(i int) (string, error) {
	return t.resolve(t.sel.SortClause[i].GetSortBy().Node, "o")
}

func (t *pgShardTree) targets() []*pg.ResTarget {
	out := make([]*pg.ResTarget, len(t.sel.TargetList))
	for i, n := range t.sel.TargetList {
		out[i] = n.GetResTarget()
	}
	return out
}

func (t *pgShardTree) isStar(rt *pg.ResTarget) bool {
	cr := rt.GetVal().GetColumnRef()
	return cr != nil && len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil
}

func (t *pgShardTree) resolve(n *pg.Node, kind string) (string, error) {
	rts := t.targets()
	if k := n.GetAConst(); k != nil {
		if iv := k.GetIval(); iv != nil {
			pos := int(iv.GetIval())
			if pos < 1 || pos > len(rts) || t.isStar(rts[pos-1]) {
				return "", shardRefuse("a position in GROUP BY or ORDER BY that is not a named column of the select list")
			}
			return pgColumnName(rts[pos-1]), nil
		}
	}
	if cr := n.GetColumnRef(); cr != nil {
		if len(cr.Fields) == 1 {
			name := cr.Fields[0].GetString_().GetSval()
			for _, rt := range rts {
				if !t.isStar(rt) && rt.Name == name {
					return name, nil
				}
			}
		}

		if t.star && len(cr.Fields) > 0 {
			if s := cr.Fields[len(cr.Fields)-1].GetString_(); s != nil {
				return s.Sval, nil
			}
		}
	}
	text := t.text(n)
	for _, rt := range rts {
		if !t.isStar(rt) && text != "" && t.text(rt.Val) == text {
			return pgColumnName(rt), nil
		}
	}
	if t.star {
		return "", shardRefuse("ORDER BY an expression with SELECT *: select it with an alias and order by that")
	}
	c := ShardColumn{Hidden: true}
	agg, err := pgAgg(n)
	if err != nil {
		return "", err
	}
	if agg != "" {
		c.Agg = agg
	} else if err := pgNoInnerAgg(n); err != nil {
		return "", err
	}
	t.n++
	c.Name = hiddenName(kind, t.n)
	t.sel.TargetList = append(t.sel.TargetList, pg.MakeResTargetNodeWithNameAndVal(c.Name, proto.Clone(n).(*pg.Node), -1))
	t.cols = append(t.cols, c)
	return c.Name, nil
}

func (t *pgShardTree) limit() (int64, int64, error) {
	count := int64(-1)
	if c := t.sel.LimitCount; c != nil {
		k := c.GetAConst()
		switch {
		case k == nil:
			return 0, 0, shardRefuse("a LIMIT that is not a number (a parameter?)")
		case k.Isnull:
		case k.GetIval() != nil:
			count = int64(k.GetIval().GetIval())
		default:
			return 0, 0, shardRefuse("a LIMIT that is not a whole number")
		}
	}
	offset := int64(0)
	if o := t.sel.LimitOffset; o != nil {
		k := o.GetAConst()
		if k == nil || k.GetIval() == nil {
			return 0, 0, shardRefuse("an OFFSET that is not a number (a parameter?)")
		}
		offset = int64(k.GetIval().GetIval())
	}
	if count < -1 || offset < 0 {
		return 0, 0, shardRefuse("a negative LIMIT or OFFSET")
	}
	return count, offset, nil
}

func (t *pgShardTree) rewriteAvg() error {
	if t.star {
		return nil
	}
	for i := range t.cols {
		if t.cols[i].Agg != "avg" {
			continue
		}
		rt := t.sel.TargetList[i].GetResTarget()
		fc := rt.Val.GetFuncCall()
		rt.Name = t.cols[i].Name
		sum := proto.Clone(fc).(*pg.FuncCall)
		sum.Funcname = []*pg.Node{pg.MakeStrNode("sum")}
		rt.Val = &pg.Node{Node: &pg.Node_FuncCall{FuncCall: sum}}
		count := proto.Clone(fc).(*pg.FuncCall)
		count.Funcname = []*pg.Node{pg.MakeStrNode("count")}
		t.n++
		name := hiddenName("n", t.n)
		t.sel.TargetList = append(t.sel.TargetList, pg.MakeResTargetNodeWithNameAndVal(name, &pg.Node{Node: &pg.Node_FuncCall{FuncCall: count}}, -1))
		t.cols[i].Count = name
		t.cols = append(t.cols, ShardColumn{Name: name, Agg: "count", Hidden: true})
	}
	return nil
}

func (t *pgShardTree) orderByGroup() {
	t.sel.SortClause = nil
	for _, g := range t.sel.GroupClause {
		t.sel.SortClause = append(t.sel.SortClause, pg.MakeSortByNode(proto.Clone(g).(*pg.Node), pg.SortByDir_SORTBY_DEFAULT, pg.SortByNulls_SORTBY_NULLS_DEFAULT, -1))
	}
}

func (t *pgShardTree) setLimit(n int64) {
	t.sel.LimitOffset = nil
	if n < 0 {
		t.sel.LimitCount = nil
		t.sel.LimitOption = pg.LimitOption_LIMIT_OPTION_DEFAULT
		return
	}
	t.sel.LimitCount = pg.MakeAConstIntNode(n, -1)
	t.sel.LimitOption = pg.LimitOption_LIMIT_OPTION_COUNT
}

func (t *pgShardTree) render() (string, error) { return t.p.Render() }
